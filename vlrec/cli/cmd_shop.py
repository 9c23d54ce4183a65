"""The shopper-facing commands: demo, index, search, chat, recommend, serve."""

from __future__ import annotations

import json
import sys

from vlrec.cli.common import _catalog_name, _load, _print_reply


def cmd_demo(args) -> int:
    from vlrec.cli.demo import run_demo

    run_demo(_load(args))
    return 0


def cmd_index(args) -> int:
    from vlrec.retrieval.catalogue import Catalogue

    cfg = _load(args)
    name = _catalog_name(args.catalog, args.name)
    summary = Catalogue.open(cfg, name).index_file(
        args.catalog,
        images_anywhere=args.images_anywhere,
        repair=args.repair,
        prune=args.prune,
        lock_wait_s=args.wait,
        rebuild=args.rebuild,
    )
    print(f"{name}: {summary}", file=sys.stderr if args.json else sys.stdout)  # --json: stdout is JSON only
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
    from vlrec.retrieval.catalogue import Catalogue
    from vlrec.retrieval.search import parse_where

    cfg = _load(args)
    where = parse_where(args.where or [])
    hits = Catalogue.open(cfg, args.name).search(
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
    from vlrec.rec.profiles import recommend

    cfg = _load(args)
    items = recommend(cfg, args.user, k=args.k or 10)
    if args.json:
        print(json.dumps([{k: v for k, v in it.items() if k != "fields"} for it in items]))
    else:
        for rank, it in enumerate(items, start=1):
            print(f"{rank:>2}  {it['id']:>6}  {it['score']:.3f}  {it['title']}")
    return 0


def cmd_serve(args) -> int:
    from vlrec.serve.run import serve

    overrides = list(args.overrides)
    if args.host:
        overrides.append(f"serve.host={args.host}")
    if args.port is not None:
        overrides.append(f"serve.port={args.port}")
    from vlrec.config import load_config

    serve(load_config(args.config, overrides), args.catalog, args.name)
    return 0
