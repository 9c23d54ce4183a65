"""``kill -9`` of an indexer at three points, then a rerun: every item present exactly once in all
three collections, with the vectors and records of an uninterrupted run.

Kill points (each in a real child process that SIGKILLs itself there):
mid-batch (while the vision encoder runs on the third batch), mid-Chroma-write (after half of a
collection write), and between collections (image and text written, fused not yet).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import REPO, build_tiny_embedder, sample_catalog, store_config, unique
from vlrec.data.catalog import read_catalog
from vlrec.retrieval.indexer import index_catalog, open_collections
from vlrec.retrieval.store import Store

# 120 items in `make test`; the 1,000 the issue asks for when VLREC_RELIABILITY_FULL is set (.ci/run)
N = 1000 if os.environ.get("VLREC_RELIABILITY_FULL") else 120
BATCH = 32  # several batches; three store writes (image, text, fused) per batch

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from tests.conftest import build_tiny_embedder
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store, StoreConfig

    mode, at = {mode!r}, {at}
    emb = build_tiny_embedder(Path({head!r}))
    writes = [0]
    real_upsert = Store.upsert

    def upsert(self, col, ids, vecs, metas=None, docs=None):
        writes[0] += 1
        if writes[0] == at and mode == "mid-write":  # half of this write reaches Chroma, then death
            h = len(ids) // 2
            real_upsert(self, col, ids[:h], vecs[:h], metas[:h] if metas else None, docs[:h] if docs else None)
            os.kill(os.getpid(), signal.SIGKILL)
        if writes[0] == at and mode == "between-collections":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_upsert(self, col, ids, vecs, metas, docs)

    Store.upsert = upsert
    real_encode, encodes = emb.encode_pixels, [0]

    def encode(pixels):
        encodes[0] += 1
        if encodes[0] == at and mode == "mid-batch":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_encode(pixels)

    emb.encode_pixels = encode
    store = Store(StoreConfig(path={db!r}, url={url!r}))
    index_catalog(read_catalog({cat!r}), store, {shop!r}, emb, batch_size={batch}, progress=False)
    print("finished", flush=True)
    """
)
KILL_AT = {"mid-batch": 20, "mid-write": 4, "between-collections": 9}


def _snapshot(store, name, emb) -> dict:
    out = {}
    for kind, col in open_collections(store, name, emb).items():
        got = col.get(include=["embeddings", "metadatas"])
        out[kind] = {
            i: (np.asarray(v), m) for i, v, m in zip(got["ids"], got["embeddings"], got["metadatas"])
        }
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kill")
    cat, _ = sample_catalog(tmp, N)
    emb = build_tiny_embedder(tmp / "head")
    store = Store(store_config(tmp))
    name = unique("straight")
    index_catalog(read_catalog(cat), store, name, emb, batch_size=BATCH, progress=False)
    return tmp, cat, emb, store, _snapshot(store, name, emb)


@pytest.mark.parametrize("mode", list(KILL_AT))
def test_a_killed_indexer_rerun_equals_an_uninterrupted_run(setup, mode):
    tmp, cat, emb, store, straight = setup
    name = unique(mode)
    cfg = store_config(tmp)
    child = CHILD.format(repo=str(REPO), mode=mode, at=KILL_AT[mode], head=str(tmp / "head"), db=cfg.path,
                         url=cfg.url, cat=str(cat), shop=name, batch=BATCH)  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    partial = _snapshot(Store(store_config(tmp)), name, emb)
    assert 0 < len(partial["fused"]) < N  # it really died part-way

    summary = index_catalog(
        read_catalog(cat), Store(store_config(tmp)), name, emb, batch_size=BATCH, progress=False
    )
    assert summary.unchanged == len(partial["fused"]) and summary.added == N - summary.unchanged
    after = _snapshot(Store(store_config(tmp)), name, emb)
    for kind in ("image", "text", "fused"):
        assert sorted(after[kind]) == sorted(straight[kind]), kind  # each item exactly once
        for i, (vec, meta) in straight[kind].items():
            np.testing.assert_allclose(after[kind][i][0], vec, atol=1e-5, err_msg=f"{kind} {i}")
            assert after[kind][i][1] == meta, (kind, i)
