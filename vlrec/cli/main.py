"""The ``vlrec`` command line.

Only argparse is imported at module level: torch, transformers and chromadb load
inside the command that needs them, so ``vlrec --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from vlrec.core.paths import REPO_ROOT

_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="YAML config file (default: built-in defaults)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. lm.quantization=none vision.name=efficientnet-lite2",
    )


FREEFORM = REPO_ROOT / "benchmarks" / "data" / "freeform_requests.jsonl"


def _load(args):
    from vlrec.config import load_config

    return load_config(args.config, args.overrides)


def cmd_demo(args) -> int:
    from vlrec.cli.demo import run_demo

    run_demo(_load(args))
    return 0


def cmd_config(args) -> int:
    import yaml

    from vlrec.core.config import to_dict

    print(yaml.safe_dump(to_dict(_load(args)), sort_keys=False), end="")
    return 0


def cmd_prepare(args) -> int:
    from vlrec.models.lm import PACKAGED_LM, packaged_lm_dir

    cfg = _load(args)
    if cfg.lm.path == PACKAGED_LM:
        print(packaged_lm_dir())
    else:
        print(f"lm.path is '{cfg.lm.path}'; nothing to prepare")
    return 0


def cmd_generate(args) -> int:
    from vlrec.models.lm import generate_text, load_lm

    cfg = _load(args)
    lm = load_lm(cfg.lm, cfg.runtime.device, cfg.runtime.dtype)
    prompt = args.prompt
    if args.chat:
        prompt = lm.prompt.render([{"role": "user", "content": args.prompt}])
    stop = None if args.chat else []
    text = generate_text(lm, [prompt], max_new_tokens=args.max_new_tokens, stop=stop)[0]
    if args.json:
        print(json.dumps({"prompt": prompt, "completion": text}))
    else:
        print(text)
    return 0


def cmd_train_align(args) -> int:
    from vlrec.adapters.train.align import train_align

    folder = train_align(_load(args))
    print(f"alignment head written to {folder}")
    print((folder / "metrics.json").read_text())
    return 0


def cmd_train_vlm(args) -> int:
    from vlrec.adapters.train.heads import train_calibrate, train_heads
    from vlrec.adapters.train.vlm import train_vlm

    cfg = _load(args)
    run = {"heads": train_heads, "calibrate": train_calibrate}.get(cfg.train.stage, train_vlm)
    folder = run(cfg)
    print(f"vision-language model written to {folder}")
    return 0


def cmd_train_intent(args) -> int:
    from vlrec.adapters.train.intent import train_intent

    folder = train_intent(_load(args))
    print(f"intent model written to {folder}")
    return 0


def _vlm(args):
    from vlrec.adapters.vlm import load_vlm

    return load_vlm(_load(args))


def cmd_caption(args) -> int:
    from vlrec.core.images import ImageError

    # `vlrec caption a.jpg b.jpg key=value`: the photo list swallows overrides; split them.
    args.overrides = [*args.overrides, *[a for a in args.images if _OVERRIDE.match(a)]]
    args.images = [a for a in args.images if not _OVERRIDE.match(a)]

    vlm = _vlm(args)
    if args.captions:  # retrieval-augmented: copy from the neighbours' captions, the VLM chooses
        from vlrec.adapters.captioner import caption_images, captioner_from_file

        cap = captioner_from_file(_load(args), vlm, args.captions)

        def caption(path):
            return caption_images(cap, [path])[0]
    else:

        def caption(path):
            return vlm.caption([path])[0]

    rows = []
    for path in args.images:
        try:
            rows.append({"image": path, "caption": caption(path)})
        except ImageError as exc:
            print(f"vlrec caption: {exc}", file=sys.stderr)
            return 1
    for row in rows:
        print(
            json.dumps(row) if args.json else (f"{row['image']}: " if len(rows) > 1 else "") + row["caption"]
        )
    return 0


def cmd_ask(args) -> int:
    cfg = _load(args)
    if args.catalog:
        from vlrec.agent.session import load_agent

        cfg.agent.catalog = args.catalog
        reply = load_agent(cfg).answer(None, args.question, args.image)
        _print_reply(reply, args.json)
        return 0
    from vlrec.adapters.vlm import load_vlm

    answer = load_vlm(cfg).ask([args.image], [args.question])[0]
    out = {"image": args.image, "question": args.question, "answer": answer}
    print(json.dumps(out) if args.json else answer)
    return 0


def cmd_eval_chat(args) -> int:
    from vlrec.agent.session import load_agent
    from vlrec.data.catalog import read_catalog
    from vlrec.eval.chat import eval_chat
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store

    cfg = _load(args)
    name = _catalog_name(args.catalog, args.name)
    items = [i for i in read_catalog(args.catalog) if hasattr(i, "id")]
    index_catalog(iter(items), Store(cfg.store), name, load_embedder(cfg), rebuild=True)
    cfg.agent.catalog = name
    cfg.agent.k = args.k
    cfg.agent.candidates = max(cfg.agent.candidates, args.k)
    agent = load_agent(cfg, with_vlm=args.image)
    images = {i.id: str(i.image) for i in items if getattr(i, "image", None)}
    result = eval_chat(agent, images, n=args.n, seed=args.seed, with_image=args.image)
    _print_result(result, args.json, digits=3)
    return 0


def cmd_export_merged(args) -> int:
    from vlrec.adapters.vlm import export_merged, load_vlm

    cfg = _load(args)
    cfg.lm.quantization = "none"  # merge into dequantized weights
    folder = export_merged(load_vlm(cfg), args.dir)
    print(f"merged model written to {folder}")
    return 0


def cmd_eval_caption(args) -> int:
    import json

    from vlrec.adapters.vlm import load_vlm
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

    from vlrec.adapters.vlm import load_vlm
    from vlrec.eval.attributes import eval_attributes, format_table

    cfg = _load(args)
    vlm = load_vlm(cfg)
    datastore = None
    if args.datastore:
        from vlrec.retrieval.datastore import ChromaDatastore
        from vlrec.retrieval.embedder import load_embedder
        from vlrec.retrieval.indexer import open_collections
        from vlrec.retrieval.store import Store

        store = Store(cfg.store)
        datastore = ChromaDatastore(
            store, open_collections(store, args.datastore, load_embedder(cfg))["image"]
        )
    result, rows = eval_attributes(
        cfg, vlm, args.catalog, split=args.split, limit=args.limit, datastore=datastore,
        datastore_items=args.datastore_items, generate=args.generate,
    )  # fmt: skip
    _save_rows(args, rows)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def _freeform_agent(args, cfg):
    """The default agent (no VLM) over the indexed catalogue of ``args.catalog`` (indexed first)."""
    from vlrec.agent.session import load_agent
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store

    name = _catalog_name(args.catalog, args.name)
    index_catalog(read_catalog(args.catalog), Store(cfg.store), name, load_embedder(cfg), rebuild=True)
    cfg.agent.catalog = name
    cfg.agent.k = args.k
    cfg.agent.candidates = max(cfg.agent.candidates, args.k)
    return load_agent(cfg, with_vlm=False)


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
    print(f"({len(reqs)} requests of {args.data}, split {args.split or 'all'})")
    if args.fit:
        folder = Path(cfg.intent.model) if cfg.intent.model else DEFAULT_INTENT
        meta = json.loads((folder / "intent.json").read_text())
        meta["decoding"] = agent.intent.decoding.__dict__
        meta["decoding_fitted_on"] = f"{Path(args.data).name}, split {args.split} ({len(reqs)} requests)"
        (folder / "intent.json").write_text(json.dumps(meta, indent=1))
        print(f"decoding written to {folder / 'intent.json'}")
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
    print(f"({len(reqs)} requests of {args.data}, split {args.split or 'all'}, catalogue {name})")
    return 0


def _save_rows(args, rows) -> None:
    if getattr(args, "save", None):
        with open(args.save, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


def _catalog_name(path: str, name: str | None) -> str:
    from vlrec.data.catalog import catalog_name

    return name or catalog_name(path)


def cmd_index(args) -> int:
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store

    cfg = _load(args)
    name = _catalog_name(args.catalog, args.name)
    embedder = load_embedder(cfg)
    store = Store(cfg.store)
    summary = index_catalog(
        read_catalog(args.catalog),
        store,
        name,
        embedder,
        prune=args.prune,
        lock_wait_s=args.wait,
        rebuild=args.rebuild,
    )
    print(f"{name}: {summary}")
    if args.json:
        print(
            json.dumps(
                {
                    "catalog": name,
                    **{k: v for k, v in vars(summary).items() if k != "failed"},
                    "failed": [{"id": i, "reason": r} for i, r in summary.failed],
                }
            )
        )
    return 0


def cmd_search(args) -> int:
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.search import Searcher, parse_where
    from vlrec.retrieval.store import Store

    cfg = _load(args)
    where = parse_where(args.where or [])
    searcher = Searcher(Store(cfg.store), load_embedder(cfg), args.name)
    hits = searcher.search(
        text=args.text,
        image=args.image,
        item_id=args.item,
        k=args.k or cfg.retrieval.k,
        where=where,
        image_weight=args.image_weight,
        target=args.target,
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": h.id,
                        "score": round(h.score, 4),
                        "title": h.metadata.get("title"),
                        "metadata": {k: v for k, v in h.metadata.items() if not k.startswith("vlrec")},
                    }
                    for h in hits
                ]
            )
        )
        return 0
    width = max([len(h.id) for h in hits] + [2])
    print(f"{'id'.ljust(width)}  score   title")
    for h in hits:
        print(f"{h.id.ljust(width)}  {h.score:.3f}   {h.metadata.get('title', '')}")
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


def _print_result(result: dict, as_json: bool, digits: int) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(
            f"{key:>{width}}  {value:.{digits}f}" if isinstance(value, float) else f"{key:>{width}}  {value}"
        )


def cmd_train_rec(args) -> int:
    from vlrec.rec.recommender import run

    cfg = _load(args)
    result = run(cfg, save=True)
    print(f"recommender written to {cfg.rec.out}")
    print(json.dumps(result, indent=2))
    return 0


def cmd_eval_rec(args) -> int:
    from vlrec.config import load_config
    from vlrec.rec.recommender import run

    cfg = load_config(args.config, [*args.overrides, f"rec.data={args.data}", f"rec.split={args.split}"])
    _print_result(run(cfg, save=False), args.json, digits=4)
    return 0


def _print_reply(reply, as_json: bool) -> None:
    print(json.dumps(reply.to_dict()) if as_json else reply.text)


def cmd_chat(args) -> int:
    from vlrec.agent.session import load_agent

    cfg = _load(args)
    if args.user:
        cfg.agent.profiles = True
    agent = load_agent(cfg)
    try:
        session = agent.session(user=args.user)
    except KeyError as exc:
        print(f"vlrec chat: {exc.args[0]}", file=sys.stderr)
        return 2
    as_json, image = args.json, None
    print(f"vlrec chat over '{cfg.agent.catalog}'. /image PATH attaches a photo, /reset, /json, /quit.")
    prompt = "you> " if sys.stdin.isatty() else ""  # piped input: replies only
    while True:
        try:
            line = input(prompt).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line == "/reset":
            session.reset()
            image = None
            print("(conversation reset)")
            continue
        if line == "/json":
            as_json = not as_json
            print(f"(json {'on' if as_json else 'off'})")
            continue
        if line.startswith("/image"):
            image = line[len("/image") :].strip() or None
            print(
                f"(photo attached: {image}; now say something, or press enter twice)"
                if image
                else "(no photo)"
            )
            continue
        try:
            reply = session.send(line, image=image)
        except ValueError as exc:  # bad image, overlong message
            print(f"vlrec: {exc}")
            continue
        image = None
        _print_reply(reply, as_json)


def cmd_recommend(args) -> int:
    if args.user is None:
        if args.image is None and args.text is None:
            print("vlrec recommend: give --user ID, or --text and/or --image", file=sys.stderr)
            return 2
        from vlrec.agent.session import load_agent

        cfg = _load(args)
        if args.k:
            cfg.agent.k = args.k
            cfg.agent.candidates = max(cfg.agent.candidates, args.k)
        reply = load_agent(cfg).session().send(args.text or "", image=args.image)
        _print_reply(reply, args.json)
        return 0
    from vlrec.rec.recommender import recommend

    cfg = _load(args)
    items = recommend(cfg, args.user, k=args.k or 10)
    if args.json:
        print(json.dumps([{k: v for k, v in it.items() if k != "fields"} for it in items]))
    else:
        for rank, it in enumerate(items, start=1):
            print(f"{rank:>2}  {it['id']:>6}  {it['score']:.3f}  {it['title']}")
    return 0


def cmd_serve(args) -> int:
    from vlrec.serve.app import serve

    overrides = list(args.overrides)
    if args.host:
        overrides.append(f"serve.host={args.host}")
    if args.port is not None:
        overrides.append(f"serve.port={args.port}")
    from vlrec.config import load_config

    serve(load_config(args.config, overrides), args.catalog, args.name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlrec",
        description="vlrec: an LLM-centric multimodal recommender agent.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="index the bundled fashion sample and show nearest items")
    _add_config_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("config", help="print the resolved config (defaults + file + overrides)")
    _add_config_args(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("prepare", help="convert the packaged LM to a cached Hugging Face folder")
    _add_config_args(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("generate", help="continue a prompt with the configured LM")
    p.add_argument("prompt")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--chat", action="store_true", help="wrap the prompt in the LM's prompt format")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_config_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="training runs: `vlrec train align CONFIG [key=value ...]`")
    train = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    t = train.add_parser("align", help="train the image-text alignment head on cached features")
    t.add_argument("config", help="YAML config, e.g. configs/align/flickr8k.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_align)
    t = train.add_parser("vlm", help="train the VLM: projector (stage 1) or projector + QLoRA (stage 2)")
    t.add_argument("config", help="YAML config, e.g. configs/train/stage1_align.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_vlm)
    t = train.add_parser(
        "intent", help="train the shopper-intent LM (QLoRA + value heads) on generated conversations"
    )
    t.add_argument("config", help="YAML config, e.g. configs/train/intent.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_intent)
    t = train.add_parser("rec", help="fit the history-based recommender (co-occurrence, MF, content, blend)")
    t.add_argument("config", help="YAML config, e.g. configs/rec/ml100k.yaml")
    t.add_argument("overrides", nargs="*", metavar="key=value")
    t.set_defaults(func=cmd_train_rec)

    p = sub.add_parser("index", help="index a catalogue (JSONL or CSV) into Chroma, incrementally")
    p.add_argument(
        "catalog", help="catalogue file: id, title, [description], [image], other fields = metadata"
    )
    p.add_argument("--name", help="catalogue name (default: from the file name)")
    p.add_argument("--prune", action="store_true", help="delete stored items that are no longer in the file")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="if the stored vectors come from another embedder (e.g. a new alignment head), start afresh",
    )
    p.add_argument("--wait", type=float, default=30.0, help="seconds to wait for another indexer")
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    _add_config_args(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="text / image / image+text / item -> items")
    p.add_argument("--name", required=True, help="catalogue name given to `vlrec index`")
    p.add_argument("--text")
    p.add_argument("--image", help="query image file")
    p.add_argument("--item", help="find items similar to this item id")
    p.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--image-weight", type=float, default=None, help="image share of an image+text query")
    p.add_argument(
        "--target",
        choices=["auto", "fused", "image", "text"],
        default="auto",
        help="item vectors to search; auto: text query -> text, image -> image, both or --item -> fused",
    )
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="evaluations: `vlrec eval retrieval --data FILE.jsonl`")
    ev = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    e = ev.add_parser(
        "retrieval", help="image<->text Recall@K on a Flickr8k-style file; title->image on a catalogue"
    )
    e.add_argument("--data", help="Flickr8k-style JSONL: {image, captions} a line")
    e.add_argument("--catalog", help="catalogue file: title -> image Recall@K over all its items")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_retrieval)
    e = ev.add_parser(
        "caption", help="BLEU-1..4 and CIDEr-D of VLM captions beside the kNN-consensus baseline"
    )
    e.add_argument("--data", default="../shared/data/flickr8k/test.jsonl",
                   help="Flickr8k-style JSONL: {image, captions} a line (the test images)")  # fmt: skip
    e.add_argument("--train-data", default="../shared/data/flickr8k/train.jsonl",
                   help="captioned training images: the datastore of candidate captions")  # fmt: skip
    e.add_argument("--split", default="test", choices=["dev", "test"],
                   help="dev: the last 500 images of --train-data, their own captions left out")  # fmt: skip
    e.add_argument("--limit", type=int, default=0, help="first N images only (0 = all)")
    e.add_argument("--generate", action="store_true", help="also the LM's free-text captions (slow)")
    e.add_argument("--save", help="write every caption with its references to this JSONL")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_caption)
    e = ev.add_parser(
        "vqa", help="attributes read off held-out fashion photos, beside majority, kNN and probe baselines"
    )
    e.add_argument("--catalog", default="../shared/data/fashion/catalog.jsonl")
    e.add_argument("--split", default="test", choices=["dev", "test"], help="held-out half to score")
    e.add_argument("--limit", type=int, default=0, help="first N items of the split by id (0 = all)")
    e.add_argument("--datastore", help="neighbours from this indexed catalogue's Chroma collections "
                   "(default: an in-memory copy of --catalog's image vectors)")  # fmt: skip
    e.add_argument("--datastore-items", default="all", choices=["all", "heldout"],
                   help="heldout: neighbours only among items no vlrec model was trained on")  # fmt: skip
    e.add_argument("--generate", action="store_true", help="also the LM's free-text answers (slow)")
    e.add_argument("--save", help="write every answer to this JSONL")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_vqa)
    for which in ("intent", "freeform"):
        e = ev.add_parser(
            which,
            help="keyword rules vs the intent LM: constraint exact match and per-field accuracy"
            if which == "intent"
            else "free-form shopper requests: keyword rules, plain MiniLM search, LM intent, full agent",
        )
        e.add_argument("--data", default=str(FREEFORM), help="labelled requests (JSONL: text, want, avoid)")
        e.add_argument("--split", default="dev", help="the rows of this split ('' = all rows)")
        e.add_argument("--catalog", default="../shared/data/fashion/catalog.jsonl")
        e.add_argument("--name", help="catalogue name (default: from the file name)")
        e.add_argument("--k", type=int, default=10, help="items per reply")
        if which == "intent":
            e.add_argument("--fit", action="store_true",
                           help="fit the decoding (vote weight, shares, gates) on this dev split and save it")  # fmt: skip
        e.add_argument("--save", help="write every request's result to this JSONL")
        e.add_argument("--json", action="store_true")
        _add_config_args(e)
        e.set_defaults(func=cmd_eval_intent if which == "intent" else cmd_eval_freeform)
    e = ev.add_parser("chat", help="simulated shoppers look for hidden target items (success@k per turn)")
    e.add_argument("--catalog", required=True, help="catalogue file (indexed first, incrementally)")
    e.add_argument("--name", help="catalogue name (default: from the file name)")
    e.add_argument("--n", type=int, default=100, help="shoppers (targets)")
    e.add_argument("--k", type=int, default=10, help="items per reply")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--image", action="store_true", help="turn 1 also sends a photo of a similar item")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_chat)
    e = ev.add_parser("rec", help="HR/NDCG/Recall/MRR@10, full ranking, on a RecBole-format folder")
    e.add_argument("--data", required=True, help="folder with NAME.inter (+ NAME.item, posters/)")
    e.add_argument("--split", choices=["loo", "random"], default="loo")
    e.add_argument("--json", action="store_true")
    _add_config_args(e)
    e.set_defaults(func=cmd_eval_rec)

    p = sub.add_parser("caption", help="caption photos with the VLM")
    p.add_argument("images", nargs="+", metavar="PHOTO")
    p.add_argument("--captions", metavar="FILE",
                   help="captioned images (Flickr8k-style JSONL) to copy from: the VLM picks among the "
                   "captions of each photo's nearest images (without: the LM writes one)")  # fmt: skip
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", "-c", help="YAML config file (default: built-in defaults)")
    p.set_defaults(func=cmd_caption, overrides=[])

    p = sub.add_parser("ask", help='answer a question about a photo: `vlrec ask PHOTO "what colour is it?"`')
    p.add_argument("image", metavar="PHOTO")
    p.add_argument("question")
    p.add_argument("--catalog", help="also cite similar items of this indexed catalogue (a name)")
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="talk to the shopping agent (text and photos) over an indexed catalogue")
    p.add_argument("--json", action="store_true", help="print replies as JSON")
    p.add_argument(
        "--user",
        help="a known user of the history recommender (rec.*): their history ranks the items; "
        "the catalogue must hold the history data's items (e.g. -c configs/rec/ml100k.yaml)",
    )
    _add_config_args(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("export", help="export models: `vlrec export merged DIR`")
    ex = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    e = ex.add_parser("merged", help="LoRA merged into a dequantized LM + projector (serving without peft)")
    e.add_argument("dir")
    _add_config_args(e)
    e.set_defaults(func=cmd_export_merged)

    p = sub.add_parser(
        "recommend", help="recommend: from a user's history (`--user ID`) or a request (`--text`, `--image`)"
    )
    p.add_argument("--user", help="a known user of the history recommender (see rec.*)")
    p.add_argument("--text", help="what the shopper wants, e.g. 'like this but in black'")
    p.add_argument("--image", help="a photo from the shopper")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--json", action="store_true")
    _add_config_args(p)
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("serve", help="the agent over HTTP: OpenAI-compatible API, items API, web chat page")
    p.add_argument("--host", help="address to bind (default serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default serve.port, 8000)")
    p.add_argument("--catalog", help="index this catalogue file (incrementally) and serve it")
    p.add_argument("--name", help="catalogue name (default: from the file name)")
    _add_config_args(p)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # argparse stops filling a nargs="*" positional at the first option, so overrides
    # written after options (`generate "x" --json lm.path=...`) arrive as extras.
    args, extra = parser.parse_known_args(argv)
    strays = [e for e in extra if not _OVERRIDE.match(e)]
    if strays or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(strays or extra)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from vlrec.core.config import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"vlrec: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"vlrec {args.command}: {exc.args[0]}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"vlrec {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
