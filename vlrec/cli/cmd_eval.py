"""Evaluation commands: `vlrec eval retrieval | caption | vqa | intent | freeform | chat | rec`,
each printing the component beside its plain baselines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vlrec.cli.common import _catalog_name, _load, _print_result, _save_rows


def cmd_eval_chat(args) -> int:
    from vlrec.agent.session import load_agent
    from vlrec.data.catalog import read_catalog
    from vlrec.eval.chat import eval_chat
    from vlrec.retrieval.catalogue import Catalogue

    cfg = _load(args)
    name = _catalog_name(args.catalog, args.name)
    items = [i for i in read_catalog(args.catalog) if hasattr(i, "id")]
    catalogue = Catalogue.open(cfg, name)
    catalogue.index(iter(items), rebuild=True)
    cfg.agent.catalog = name
    cfg.agent.k = args.k
    cfg.agent.candidates = max(cfg.agent.candidates, args.k)
    agent = load_agent(cfg, with_vlm=args.image, catalogue=catalogue)
    images = {i.id: str(i.image) for i in items if getattr(i, "image", None)}
    result = eval_chat(agent, images, n=args.n, seed=args.seed, with_image=args.image)
    _print_result(result, args.json, digits=3)
    return 0


def cmd_eval_caption(args) -> int:
    import json

    from vlrec.adapters.vlm_load import load_vlm
    from vlrec.eval.captions import eval_captions, format_captions

    cfg = _load(args)
    result, rows = eval_captions(
        cfg,
        load_vlm(cfg),
        args.train_data,
        args.data,
        split=args.split,
        limit=args.limit,
        generate=args.generate,
    )
    _save_rows(args, rows)
    print(json.dumps(result, indent=2) if args.json else format_captions(result))
    return 0


def cmd_eval_vqa(args) -> int:
    import json

    from vlrec.adapters.vlm_load import load_vlm
    from vlrec.eval.attributes import eval_attributes, format_table

    cfg = _load(args)
    if args.fit_gates and args.split != "dev":
        print("error: --fit-gates chooses the gates on a dev split; use --split dev", file=sys.stderr)
        return 2
    vlm = load_vlm(cfg)
    datastore = None
    if args.datastore:
        from vlrec.retrieval.catalogue import Catalogue
        from vlrec.retrieval.datastore import ChromaDatastore

        catalogue = Catalogue.open(cfg, args.datastore)
        datastore = ChromaDatastore(catalogue.store, catalogue.collections()["image"])
    result, rows = eval_attributes(
        cfg, vlm, args.catalog, split=args.split, limit=args.limit, datastore=datastore,
        datastore_items=args.datastore_items, generate=args.generate,
    )  # fmt: skip
    _save_rows(args, rows)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    if args.fit_gates:
        from vlrec.eval.attributes import refit_gates

        out = sys.stderr if args.json else sys.stdout
        path = refit_gates(cfg, rows, log=lambda msg: print(msg, file=out))
        print(f"gates written to {path}", file=out)
    return 0


def _freeform_agent(args, cfg):
    """The default agent (no VLM) over the indexed catalogue of ``args.catalog`` (indexed first)."""
    from vlrec.agent.session import load_agent
    from vlrec.retrieval.catalogue import Catalogue

    name = _catalog_name(args.catalog, args.name)
    catalogue = Catalogue.open(cfg, name)
    catalogue.index_file(args.catalog, rebuild=True)
    cfg.agent.catalog = name
    cfg.agent.k = args.k
    cfg.agent.candidates = max(cfg.agent.candidates, args.k)
    return load_agent(cfg, with_vlm=False, catalogue=catalogue)


def cmd_eval_intent(args) -> int:
    from vlrec.adapters.intent import DEFAULT_INTENT
    from vlrec.data.intent import load_requests
    from vlrec.eval.freeform import eval_intent, format_rows

    cfg = _load(args)
    if args.fit and args.split != "dev":
        print("error: --fit chooses the decoding on a dev split; use --split dev", file=sys.stderr)
        return 2
    reqs = load_requests(args.data, args.split or None)
    agent = _freeform_agent(args, cfg)
    rows, per = eval_intent(agent, reqs, fit=args.fit)
    _save_rows(args, per)
    print(json.dumps(rows, indent=2) if args.json else format_rows(rows, cols="intent"))
    print(
        f"({len(reqs)} requests of {args.data}, split {args.split or 'all'})",
        file=sys.stderr if args.json else sys.stdout,
    )
    if args.fit:
        folder = Path(cfg.intent.model) if cfg.intent.model else DEFAULT_INTENT
        meta = json.loads((folder / "intent.json").read_text())
        meta["decoding"] = agent.intent.decoding.__dict__
        meta["decoding_fitted_on"] = f"{Path(args.data).name}, split {args.split} ({len(reqs)} requests)"
        (folder / "intent.json").write_text(json.dumps(meta, indent=1))
        print(f"decoding written to {folder / 'intent.json'}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_eval_freeform(args) -> int:
    import dataclasses

    from vlrec.agent.session import Agent
    from vlrec.data.intent import load_requests
    from vlrec.eval.freeform import eval_freeform, format_rows

    cfg = _load(args)
    reqs = load_requests(args.data, args.split or None)
    agent = _freeform_agent(args, cfg)
    name = cfg.agent.catalog
    rules = Agent(dataclasses.replace(cfg.agent, intent="rules", words=False), agent.searcher)
    rows, per = eval_freeform(agent, rules, reqs, k=args.k)
    _save_rows(args, per)
    print(json.dumps(rows, indent=2) if args.json else format_rows(rows, args.k))
    print(
        f"({len(reqs)} requests of {args.data}, split {args.split or 'all'}, catalogue {name})",
        file=sys.stderr if args.json else sys.stdout,
    )
    return 0


def cmd_eval_retrieval(args) -> int:
    from vlrec.eval.retrieval import evaluate_captions, evaluate_titles
    from vlrec.retrieval.embedder import load_embedder

    cfg = _load(args)
    embedder = load_embedder(cfg)
    result = {}
    if args.data:
        result.update(evaluate_captions(embedder, args.data))
    if args.catalog:
        result.update(evaluate_titles(embedder, args.catalog))
    if not result:
        print("vlrec eval retrieval: give --data FILE.jsonl and/or --catalog CATALOG", file=sys.stderr)
        return 2
    _print_result(result, args.json, digits=2)
    return 0


def cmd_eval_rec(args) -> int:
    from vlrec.config import load_config
    from vlrec.rec.experiment import run

    cfg = load_config(args.config, [*args.overrides, f"rec.data={args.data}", f"rec.split={args.split}"])
    _print_result(run(cfg, save=False), args.json, digits=4)
    return 0
