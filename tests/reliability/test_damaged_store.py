"""A store damaged on disk (a truncated HNSW segment file, as a crash or a full disk leaves it):
indexing detects it and names it instead of failing later with Chroma's internal error, and
``--repair`` (``repair=True``) drops the catalogue's collections and indexes it again, whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, sample_catalog, unique

CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from tests.conftest import build_tiny_embedder
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.indexer import index_catalog, open_collections
    from vlrec.retrieval.store import Store, StoreConfig, StoreError

    emb = build_tiny_embedder(Path({head!r}))
    store = Store(StoreConfig(path={db!r}, sync_threshold=4))  # segment files written early
    from vlrec.retrieval.catalogue import Catalogue
    damage = sorted(Catalogue(store, {shop!r}, emb).damage())  # what `vlrec serve` checks at start
    try:
        s = index_catalog(read_catalog({cat!r}), store, {shop!r}, emb, progress=False, repair={repair},
                          report=lambda m: print("report:", m, file=sys.stderr))
    except StoreError as exc:
        print(json.dumps({{"error": str(exc), "damage": damage}}))
        sys.exit(0)
    cols = open_collections(store, {shop!r}, emb)
    first = cols["fused"].get(limit=1, include=["embeddings"])
    hits = cols["fused"].query(query_embeddings=[first["embeddings"][0]], n_results=3)
    print(json.dumps({{"added": s.added, "unchanged": s.unchanged, "counts": {{k: c.count() for k, c in cols.items()}},
                      "top": hits["ids"][0][0], "first": first["ids"][0], "damage": damage}}))
    """
)


def _run(tmp_path, cat, shop, repair=False) -> dict:
    child = CHILD.format(repo=str(REPO), head=str(tmp_path / "head"), db=str(tmp_path / "db"), cat=str(cat),
                         shop=shop, repair=repair)  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"stderr": proc.stderr}


@pytest.mark.skipif(
    bool(os.environ.get("VLREC_TEST_CHROMA_URL")), reason="damages the embedded store's files"
)
def test_a_damaged_segment_is_named_and_repaired_by_reindexing(tmp_path):
    cat, _ = sample_catalog(tmp_path, 24)
    shop = unique("shop")
    first = _run(tmp_path, cat, shop)
    assert first["added"] == 24

    segments = [p for p in (tmp_path / "db").rglob("data_level0.bin")]
    assert segments  # the HNSW files Chroma keeps per collection
    for p in segments:
        with open(p, "r+b") as f:  # cut short, as a crash mid-write or a full disk leaves them
            f.truncate(50)

    refused = _run(tmp_path, cat, shop)
    assert "is damaged" in refused["error"] and "--repair" in refused["error"]
    assert shop in refused["error"]
    assert refused["damage"] == sorted(f"{shop}.{k}" for k in ("image", "text", "fused"))

    repaired = _run(tmp_path, cat, shop, repair=True)
    assert "damaged collections" in repaired["stderr"]
    assert repaired["added"] == 24 and repaired["counts"] == {"image": 24, "text": 24, "fused": 24}
    assert repaired["top"] == repaired["first"]  # search works again: an item finds itself first

    again = _run(tmp_path, cat, shop)  # healthy now: an ordinary incremental run
    assert again["unchanged"] == 24 and "error" not in again and again["damage"] == []
