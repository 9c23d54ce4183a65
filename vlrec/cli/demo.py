"""``vlrec demo``: the furthest real step that exists, end to end on packaged models.

Indexes the bundled fashion sample into Chroma (image, text and fused vectors in
the shared space of the shipped alignment head), then prints the nearest
catalogue items to photos that are not in the catalogue, to shopper phrases,
and to a photo with a phrase ("like this, but ...").
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from vlrec.config import VlrecConfig


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _hit_rows(hits) -> list[list[str]]:
    return [
        [
            str(rank),
            hit.id,
            f"{hit.score:.3f}",
            str(hit.metadata.get("articleType", "")),
            str(hit.metadata.get("baseColour", "")),
            str(hit.metadata.get("title", "")),
        ]
        for rank, hit in enumerate(hits, start=1)
    ]


def _label(query) -> str:
    parts = []
    if query.image:
        parts.append(f"photo {Path(query.image).name}")
    if query.text:
        parts.append(f'"{query.text}"')
    return " + ".join(parts)


def run_demo(cfg: VlrecConfig, out=sys.stdout) -> dict:
    """Run the demo; returns the hits per query label (used by tests)."""
    from vlrec.core.runtime import apply_runtime
    from vlrec.retrieval.catalogue import Catalogue

    apply_runtime(cfg.runtime)
    start = time.perf_counter()
    catalogue = Catalogue.open(cfg, cfg.demo.name)
    embedder = catalogue.embedder
    where = cfg.store.url or cfg.store.resolved_path()
    print(f"models loaded in {time.perf_counter() - start:.1f} s; store: {where}", file=out)

    summary = catalogue.index_file(cfg.demo.catalog, rebuild=True)
    print(f"indexed {cfg.demo.name}: {summary}", file=out)

    described = {}
    vlm = None
    photos = [q.image for q in cfg.demo.queries if q.image]
    if cfg.demo.vlm:
        from vlrec.adapters.vlm_load import load_vlm

        start = time.perf_counter()
        vlm = load_vlm(cfg, with_vision=False)
        vlm.vision = embedder.vision
        print(f"vision-language model loaded in {time.perf_counter() - start:.1f} s", file=out)
    searcher = catalogue.searcher
    reader = None
    if vlm is not None and photos:
        from vlrec.agent.session import make_reader

        reader = make_reader(vlm, searcher, cfg.agent)
        if reader is not None:  # each field with the VLM's confidence
            described = {p: _seen(g) for p, g in zip(photos, reader.read(photos))}
        else:
            captions = vlm.ask(photos, ["Describe this product."] * len(photos))
            colours = vlm.ask(photos, ["What colour is it?"] * len(photos))
            described = {p: f'"{c}" (colour: {a})' for p, c, a in zip(photos, captions, colours)}

    headers = ["#", "id", "score", "type", "colour", "title"]
    results: dict[str, list] = {}
    for query in cfg.demo.queries:
        hits = searcher.search(text=query.text, image=query.image, k=cfg.demo.k)
        label = _label(query)
        results[label] = hits
        print(f"\nnearest items to {label}:", file=out)
        if query.image in described:
            print(f"  the VLM sees: {described[query.image]}", file=out)
        print(_table(_hit_rows(hits), headers), file=out)

    if cfg.demo.conversation:
        play_conversation(cfg, searcher, vlm, out, results, reader)
    return results


def _seen(guesses: dict) -> str:
    """``type Tshirts 0.98, colour Red 0.91, ...``; a field below its gate is marked so."""
    names = {"articleType": "type", "baseColour": "colour", "gender": "for", "usage": "usage"}
    return ", ".join(
        f"{names.get(f, f)} {g.value} {g.confidence:.2f}" + ("" if g.stated else " (below its gate)")
        for f, g in guesses.items()
    )


def _understood(reply) -> str:
    """What the agent took from the shopper's words: wanted, any-of and excluded values."""
    parts = [f"{f} {v}" for f, v in reply.constraints.items()]
    parts += [f"{f} any of {', '.join(v)}" for f, v in reply.options.items()]
    parts += [f"{f} not {', '.join(sorted(v))}" for f, v in reply.avoid.items()]
    return "; ".join(parts) or "no catalogue field"


def play_conversation(cfg: VlrecConfig, searcher, vlm, out, results: dict, reader=None) -> None:
    """The scripted conversation: the agent's replies, turn by turn."""
    import dataclasses

    from vlrec.agent.session import Agent

    intent = words = None
    if cfg.agent.intent == "lm":
        from vlrec.adapters.intent import load_intent

        start = time.perf_counter()
        intent = load_intent(cfg.intent.model, cfg.lm, cfg.runtime.device, cfg.runtime.dtype)
        print(f"\nshopper-intent LM loaded in {time.perf_counter() - start:.1f} s", file=out)
    if cfg.agent.words:
        from vlrec.retrieval.words import WordsIndex

        words = WordsIndex(searcher.store, cfg.demo.name, searcher.embedder.text, progress=False)
    agent = Agent(
        dataclasses.replace(cfg.agent, catalog=cfg.demo.name, k=cfg.demo.k), searcher, vlm, reader=reader,
        intent=intent, words=words,
    )  # fmt: skip
    if cfg.demo.requests:
        print("\n--- shoppers in their own words (each a new conversation) ---", file=out)
        for n, text in enumerate(cfg.demo.requests, start=1):
            reply = agent.session().send(text)
            print(f"\nshopper: {text}", file=out)
            print(f"  (understood: {_understood(reply)})", file=out)
            print(f"agent ({reply.seconds:.2f} s): " + reply.text.replace("\n", "\n  "), file=out)
            results[f"request {n}"] = reply
    session = agent.session()
    print("\n--- a conversation with the agent ---", file=out)
    for n, turn in enumerate(cfg.demo.conversation, start=1):
        said = (f"[photo {Path(turn.image).name}] " if turn.image else "") + (turn.text or "")
        print(f"\nshopper: {said}", file=out)
        reply = session.send(turn.text or "", image=turn.image)
        if turn.image and reply.image_description:
            print(f'  (the VLM sees: "{reply.image_description}")', file=out)
        print(f"agent ({reply.seconds:.1f} s): " + reply.text.replace("\n", "\n  "), file=out)
        results[f"turn {n}"] = reply
