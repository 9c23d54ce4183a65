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

from agent.config import VlrecConfig


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
    from adapters.runtime import apply_runtime
    from retrieval.catalog import read_catalog
    from retrieval.embedder import load_embedder
    from retrieval.indexer import index_catalog
    from retrieval.search import Searcher
    from retrieval.store import Store

    apply_runtime(cfg.runtime)
    start = time.perf_counter()
    embedder = load_embedder(cfg)
    store = Store(cfg.store)
    where = cfg.store.url or cfg.store.resolved_path()
    print(f"models loaded in {time.perf_counter() - start:.1f} s; store: {where}", file=out)

    summary = index_catalog(read_catalog(cfg.demo.catalog), store, cfg.demo.name, embedder)
    print(f"indexed {cfg.demo.name}: {summary}", file=out)

    searcher = Searcher(store, embedder, cfg.demo.name)
    headers = ["#", "id", "score", "type", "colour", "title"]
    results: dict[str, list] = {}
    for query in cfg.demo.queries:
        hits = searcher.search(text=query.text, image=query.image, k=cfg.demo.k)
        label = _label(query)
        results[label] = hits
        print(f"\nnearest items to {label}:", file=out)
        print(_table(_hit_rows(hits), headers), file=out)
    return results
