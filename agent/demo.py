"""``vlrec demo``: the furthest real step that exists, end to end on packaged models.

Indexes the bundled fashion sample into Chroma by image features (EfficientNet-Lite)
and title embeddings (MiniLM), then prints the nearest catalogue items to a few
photos that are not in the catalogue, and to a few shopper phrases.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agent.config import VlrecConfig


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
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
            hit.metadata.get("title", ""),
        ]
        for rank, hit in enumerate(hits, start=1)
    ]


def run_demo(cfg: VlrecConfig, out=sys.stdout) -> dict:
    """Run the demo; returns the hits per query (used by tests)."""
    from adapters.runtime import apply_runtime
    from adapters.text import load_text_embedder
    from adapters.vision import load_vision_encoder
    from retrieval.catalog import read_catalog
    from retrieval.indexer import collection_names, index_catalog
    from retrieval.store import Store

    apply_runtime(cfg.runtime)
    start = time.perf_counter()
    vision = load_vision_encoder(cfg.vision, cfg.runtime.device)
    text = load_text_embedder(cfg.text, cfg.runtime.device)
    store = Store(cfg.store)
    where = cfg.store.url or cfg.store.resolved_path()
    print(f"models loaded in {time.perf_counter() - start:.1f} s; store: {where}", file=out)

    entries = list(read_catalog(cfg.demo.catalog))
    start = time.perf_counter()
    summaries = index_catalog(entries, store, cfg.demo.name, vision=vision, text=text)
    for kind, summary in summaries.items():
        print(f"indexed {cfg.demo.name}.{kind}: {summary}", file=out)
    print(f"indexing took {time.perf_counter() - start:.1f} s", file=out)

    names = collection_names(cfg.demo.name)
    image_col = store.collection(names["image"], {"name": vision.config.name, "features": "pooled"})
    text_col = store.collection(names["text"], text.get_config())
    headers = ["#", "id", "score", "type", "colour", "title"]
    results: dict[str, list] = {}
    if cfg.demo.query_images:
        pooled = vision.encode(cfg.demo.query_images).pooled.numpy()  # [Q, C]
        for path, vector in zip(cfg.demo.query_images, pooled):
            hits = store.query(image_col, vector, k=cfg.demo.k)
            results[path] = hits
            print(f"\nnearest items to photo {Path(path).name}:", file=out)
            print(_table(_hit_rows(hits), headers), file=out)
    if cfg.demo.query_texts:
        vectors = text.embed(list(cfg.demo.query_texts))
        for query, vector in zip(cfg.demo.query_texts, vectors):
            hits = store.query(text_col, vector, k=cfg.demo.k)
            results[query] = hits
            print(f'\nnearest items to "{query}":', file=out)
            print(_table(_hit_rows(hits), headers), file=out)
    return results
