"""Retrieval benchmark: fusion strategies, Chroma HNSW speed/recall, indexing throughput.

    python benchmarks/bench_retrieval.py [--data ../shared/data] [--quick]

1. Fusion × distance space on the full fashion catalogue (exact search): queries are
   attribute phrases "<gender> <colour> <article type>" for every combination with at
   least 5 items (never a title); an item is relevant when all three attributes match.
   P@10 and nDCG@10; text-only and image-only rows for reference.
2. Chroma HNSW (cosine, M=16, ef_construction=200, ef_search=100) at 10k and 100k
   items (``--sizes``; ``--ef-search 100 200`` builds each size once per value):
   p50/p95/p99 query latency (k=10) and recall@10 against exact brute force.
   Vectors are real: the fashion items' fused vectors, and for more items, real
   vectors perturbed with Gaussian noise (sigma 0.05 per dimension) and renormalised.
   Queries are 300 other perturbed real vectors.
3. Indexing throughput of `index_catalog` with images (decode + encode + write), 2 cores.
4. ``--only encoders``: images/s of the vision encoder per backend (PyTorch, ONNX Runtime, OpenVINO)
   and batch beside the JPEG-decode ceiling, end-to-end indexing per backend, and how far the
   ONNX vectors are from PyTorch's (max |delta|, top-10 neighbour overlap).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _norm(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fusion_table(embedder, items) -> list[str]:
    from vlrec.eval.retrieval import image_vectors, text_vectors
    from vlrec.retrieval.fusion import FUSIONS, fuse

    img = image_vectors(embedder, [it.image for it in items])
    txt = text_vectors(embedder, [it.title for it in items])
    groups = defaultdict(list)
    for i, it in enumerate(items):
        m = it.metadata
        groups[(m.get("gender", ""), m.get("baseColour", ""), m.get("articleType", ""))].append(i)
    queries = [(f"{g} {c} {a}", set(ix)) for (g, c, a), ix in sorted(groups.items()) if len(ix) >= 5]
    q = text_vectors(embedder, [t for t, _ in queries])
    rows = []

    def score(item_vecs, query_vecs, space):
        if space == "l2":
            d = (query_vecs**2).sum(1)[:, None] - 2 * query_vecs @ item_vecs.T + (item_vecs**2).sum(1)[None]
            order = np.argsort(d, axis=1)[:, :10]
        else:
            a, b = (query_vecs, item_vecs) if space == "ip" else (_norm(query_vecs), _norm(item_vecs))
            order = np.argsort(-(a @ b.T), axis=1)[:, :10]
        p10, ndcg = [], []
        disc = 1 / np.log2(np.arange(2, 12))
        for (_, rel), top in zip(queries, order):
            hits = np.array([i in rel for i in top], float)
            p10.append(hits.mean())
            ideal = disc[: min(10, len(rel))].sum()
            ndcg.append((hits * disc).sum() / ideal)
        return 100 * np.mean(p10), 100 * np.mean(ndcg)

    variants = [("text only", txt, None), ("image only", img, None)]
    for method in FUSIONS:
        for w in (0.3, 0.5) if method in ("concat", "weighted_sum") else (None,):
            fused = fuse(img, txt, method, 0.5 if w is None else w)
            variants.append((method + (f" (w_img={w})" if w is not None else ""), fused, method))
    for name, vecs, method in variants:
        if method is None:
            qv = q
        else:
            qv = fuse(None, q, method, 0.5)
        cells = []
        for space in ("cosine", "l2", "ip"):
            p, n = score(vecs, qv, space)
            cells.append(f"{p:.1f} / {n:.1f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = [
        f"Fusion on the fashion catalogue ({len(items)} items, {len(queries)} attribute queries; P@10 / nDCG@10, %)",
        "",
        "| item vectors | cosine | l2 | ip |",
        "|---|---|---|---|",
    ]
    return header + rows, np.concatenate([fuse(img, txt, embedder.cfg.fusion, embedder.cfg.image_weight)])


def _rss_mb() -> float:
    """Current resident memory of this process (Chroma's embedded HNSW lives in it), MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hnsw_table(base: np.ndarray, sizes, n_queries=300, efs=(100,), m: int = 16) -> list[str]:
    """One build per size and ``ef_search`` (the value a collection is created with: changing it
    in place through ``collection.modify`` left recall unchanged at 100, 200 and 400 here)."""
    from vlrec.retrieval.store import Store, StoreConfig

    rng = np.random.default_rng(0)
    lines = [
        f"Chroma HNSW (cosine, M={m}, ef_construction=200), k=10",
        "",
        "| items | dim | build s | insert items/s | ef_search | p50 ms | p95 ms | p99 ms | recall@10 vs exact | RSS growth MB | on disk MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        src = base[rng.integers(0, len(base), size=n)]
        vecs = _norm(src + rng.normal(0, 0.05, size=src.shape)).astype(np.float32)
        vecs[: min(n, len(base))] = base[: min(n, len(base))]
        qsrc = base[rng.integers(0, len(base), size=n_queries)]
        queries = _norm(qsrc + rng.normal(0, 0.05, size=qsrc.shape)).astype(np.float32)
        exact = np.stack([np.argpartition(-(q @ vecs.T), 10)[:10] for q in queries])
        for ef in efs:
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(StoreConfig(path=tmp, ef_search=ef, max_neighbors=m))
                col = store.collection(f"bench{n}", {"name": "bench"})
                ids = [str(i) for i in range(n)]
                rss0 = _rss_mb()
                start = time.perf_counter()
                for lo in range(0, n, 100_000):  # progress for the million
                    store.upsert(col, ids[lo : lo + 100_000], vecs[lo : lo + 100_000])
                    print(f"  hnsw {n:,} (ef_search {ef}): {min(lo + 100_000, n):,} inserted, "
                          f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
                build = time.perf_counter() - start
                grown = _rss_mb() - rss0
                disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
                lat, rec = [], []
                for i, qv in enumerate(queries):
                    t = time.perf_counter()
                    hits = store.query(col, qv, k=10)
                    lat.append((time.perf_counter() - t) * 1000)
                    rec.append(len({int(h.id) for h in hits} & set(exact[i].tolist())) / 10)
            lines.append(
                f"| {n:,} | {vecs.shape[1]} | {build:.1f} | {n / build:.0f} | {ef} | {np.percentile(lat, 50):.2f} | "
                f"{np.percentile(lat, 95):.2f} | {np.percentile(lat, 99):.2f} | {np.mean(rec):.3f} | {grown:.0f} | {disk:.0f} |"
            )
    return lines


def indexing_line(embedder, catalog: Path, n: int | None, store_cfg=None, n_queries: int = 300) -> list[str]:
    """Items/s indexing the catalogue into a fresh store (``store_cfg``'s HNSW settings), then each
    collection's recall@10 against exact search, for perturbed copies of its own vectors."""
    import dataclasses

    from vlrec.data.catalog import CatalogItem, read_catalog
    from vlrec.retrieval.indexer import collection_names, index_catalog
    from vlrec.retrieval.store import Store, StoreConfig

    store_cfg = store_cfg or StoreConfig()
    items = [e for e in read_catalog(catalog) if isinstance(e, CatalogItem)][:n]
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: graphs exported and compiled
        index_catalog(items[:64], Store(dataclasses.replace(store_cfg, path=tmp, url=None)), "warm", embedder,
                      progress=False)  # fmt: skip
    recalls = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(dataclasses.replace(store_cfg, path=tmp, url=None))
        s = index_catalog(items, store, "bench", embedder, progress=False)
        rng = np.random.default_rng(0)
        for kind, name in collection_names("bench").items():
            col = store.client.get_collection(name)
            got = store.vectors(col, [it.id for it in items])
            ids = list(got)
            vecs = _norm(np.stack([got[i] for i in ids]))
            pick = rng.integers(0, len(ids), size=min(n_queries, len(ids)))
            queries = _norm(vecs[pick] + rng.normal(0, 0.05, size=vecs[pick].shape)).astype(np.float32)
            rec = []
            for q in queries:
                exact = {ids[j] for j in np.argpartition(-(vecs @ q), 10)[:10]}
                rec.append(len({h.id for h in store.query(col, q, k=10)} & exact) / 10)
            recalls.append(f"{kind} {np.mean(rec):.3f}")
    return [
        f"Indexing with images (decode, Lite0 + head, MiniLM + head, fusion, 3 Chroma writes; HNSW "
        f"ef_construction {store_cfg.ef_construction}, M {store_cfg.max_neighbors}, ef_search {store_cfg.ef_search}): "
        f"{s.added} items in {s.seconds:.1f} s = **{s.added / s.seconds:.1f} items/s**; "
        f"recall@10 against exact search ({n_queries} perturbed own vectors): {', '.join(recalls)}"
    ]


def encoders_table(cfg, catalog: Path, n: int) -> list[str]:
    """Images/s of each vision backend and batch beside the JPEG-decode ceiling; end-to-end
    indexing per backend; and whether the vectors (so the rankings) stay the same."""
    import dataclasses

    import torch

    from vlrec.data.catalog import CatalogItem, read_catalog
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store, StoreConfig

    items = [e for e in read_catalog(catalog) if isinstance(e, CatalogItem) and e.image][:n]
    lines = [f"Vision encoder on {len(items)} catalogue photos, {torch.get_num_threads()} threads", ""]
    lines += ["| step | images/s |", "|---|---:|"]
    variants = {
        "torch": dict(backend="torch"),
        "onnx": dict(backend="onnx"),
        "onnx int8": dict(backend="onnx", int8=True),
        "openvino": dict(backend="openvino"),
        "openvino int8": dict(backend="openvino", int8=True),
    }
    embedders = {b: load_embedder(dataclasses.replace(cfg, vision=dataclasses.replace(cfg.vision, **kw)))
                 for b, kw in variants.items()}  # fmt: skip
    vision = embedders["torch"].vision
    start = time.perf_counter()
    pixels = torch.cat([vision.preprocess([it.image]) for it in items])
    lines.append(
        f"| read + decode + resize (one thread): the ceiling | {len(items) / (time.perf_counter() - start):.0f} |"
    )
    vectors = {}
    for backend, emb in embedders.items():
        for batch in (4, 16):
            emb.encode_pixels(pixels[:batch])  # warm-up (ONNX: export and session on first use)
            start = time.perf_counter()
            out = np.concatenate(
                [emb.encode_pixels(pixels[j : j + batch]) for j in range(0, len(pixels), batch)]
            )
            lines.append(
                f"| Lite0 + head, {backend}, batch {batch} | {len(items) / (time.perf_counter() - start):.0f} |"
            )
            vectors.setdefault(backend, out)
    top = lambda v: np.argsort(-(v @ v.T), axis=1)[:, 1:11]  # noqa: E731
    lines.append("")
    for other in ("onnx", "onnx int8", "openvino", "openvino int8"):
        a, b = vectors["torch"], vectors[other]
        overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(top(a), top(b))])
        lines.append(f"{other} against PyTorch: max |delta| of a vector {np.abs(a - b).max():.1e}, mean cosine "
                     f"{float((a * b).sum(1).mean()):.4f}; image-to-image top-10 overlap {overlap:.3f}")  # fmt: skip
    lines.append("")
    lines += text_rows(cfg, items)
    lines += ["| end-to-end indexing (decode on a second thread, encoders, fusion, 3 Chroma writes) | items/s |",
              "|---|---:|"]  # fmt: skip
    pairs = [
        ("torch", "torch"),
        ("onnx", "torch"),
        ("onnx", "onnx"),
        ("onnx int8", "onnx"),
        ("openvino", "openvino"),
        ("openvino int8", "openvino"),
    ]
    for vb, tb in pairs:
        emb = embedders[vb]
        emb.text = text_embedders(cfg)[tb]
        with tempfile.TemporaryDirectory() as tmp:
            s = index_catalog(items, Store(StoreConfig(path=tmp)), "bench", emb, progress=False)
        name = f"vision.backend={vb.split()[0]}" + (" vision.int8=true" if vb.endswith("int8") else "")
        lines.append(f"| {name}, text.backend={tb} | {s.added / s.seconds:.1f} |")
    return lines


_TEXTS: dict = {}


def text_embedders(cfg) -> dict:
    """MiniLM per backend (loaded once)."""
    import dataclasses

    from vlrec.models.text import load_text_embedder

    if not _TEXTS:
        for b in ("torch", "onnx", "openvino"):
            _TEXTS[b] = load_text_embedder(dataclasses.replace(cfg.text, backend=b))
    return _TEXTS


def text_rows(cfg, items) -> list[str]:
    """Texts/s of MiniLM per backend on the items' indexed texts, and whether the vectors change."""
    texts = [it.text() for it in items]
    lines = ["| MiniLM on the items' texts (batch 64) | texts/s |", "|---|---:|"]
    vectors = {}
    for backend, text in text_embedders(cfg).items():
        text.embed(texts[:64])  # warm-up (ONNX: export and session on first use)
        start = time.perf_counter()
        vectors[backend] = text.embed(texts)
        lines.append(f"| text.backend={backend} | {len(texts) / (time.perf_counter() - start):.0f} |")
    top = lambda v: np.argsort(-(v @ v.T), axis=1)[:, 1:11]  # noqa: E731
    lines.append("")
    for other in ("onnx", "openvino"):
        a, b = vectors["torch"], vectors[other]
        overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(top(a), top(b))])
        lines.append(f"MiniLM in {other} against PyTorch: max |delta| of a vector {np.abs(a - b).max():.1e}; "
                     f"text-to-text top-10 overlap {overlap:.3f}")  # fmt: skip
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--quick", action="store_true", help="10k HNSW only, 200 items indexed")
    parser.add_argument("--only", choices=["fusion", "hnsw", "indexing", "encoders"], help="one part only")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="HNSW table sizes (the growth curve: 10000 100000 1000000)")  # fmt: skip
    parser.add_argument("--ef-search", type=int, nargs="+", default=[100],
                        help="build and query each size at these ef_search values (default 100, the store's)")  # fmt: skip
    parser.add_argument(
        "--max-neighbors", type=int, default=16, help="HNSW M of the built indexes (default 16)"
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides for the embedder, e.g. vision.int8=true")  # fmt: skip
    parser.add_argument("--index-items", type=int, default=1000,
                        help="catalogue items the indexing line indexes (0: all of them)")  # fmt: skip
    args = parser.parse_args()

    from vlrec.config import load_config
    from vlrec.data.catalog import CatalogItem, read_catalog
    from vlrec.retrieval.embedder import load_embedder

    cfg = load_config(overrides=args.set)
    embedder = load_embedder(cfg)
    catalog = Path(args.data) / "fashion" / "catalog.jsonl"
    items = [e for e in read_catalog(catalog) if isinstance(e, CatalogItem)]
    out = [
        f"vlrec retrieval benchmark — `python benchmarks/bench_retrieval.py {' '.join(sys.argv[1:])}`",
        "",
    ]
    if args.only == "encoders":
        print("\n".join(out + encoders_table(cfg, catalog, 200 if args.quick else 1000)))
        return
    if args.only != "indexing":
        table, fused = fusion_table(embedder, items)
        out += (table + [""]) if args.only in (None, "fusion") else []
    if args.only in (None, "hnsw"):
        out += hnsw_table(
            fused, [10_000] if args.quick else args.sizes, efs=args.ef_search, m=args.max_neighbors
        ) + [""]
    if args.only in (None, "indexing"):
        out += indexing_line(embedder, catalog, 200 if args.quick else (args.index_items or None), cfg.store)
    print("\n".join(out))
    print(json.dumps({"fusion": embedder.cfg.fusion}), file=sys.stderr)


if __name__ == "__main__":
    main()
