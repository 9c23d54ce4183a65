import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.conftest import REPO, SAMPLE, sample_catalog, store_config, unique
from vlrec.data.catalog import read_catalog
from vlrec.retrieval.indexer import index_catalog, open_collections, writer_lock
from vlrec.retrieval.store import Store, StoreError


def _all_ids(store, cols):
    return {m: sorted(c.get(include=[])["ids"]) for m, c in cols.items()}


def _catalog(tmp_path, n):
    return sample_catalog(tmp_path, n)


def test_index_is_incremental_updates_changes_and_prunes(tmp_path, tiny_embedder):
    shop = unique("shop")
    path, rows = _catalog(tmp_path, 10)
    store = Store(store_config(tmp_path))
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, progress=False)
    assert (s.added, s.updated, s.unchanged, len(s.failed)) == (10, 0, 0, 0)
    cols = open_collections(store, shop, tiny_embedder)
    ids = sorted(r["id"] for r in rows)
    assert _all_ids(store, cols) == {"image": ids, "text": ids, "fused": ids}
    meta = cols["fused"].get(ids=[rows[0]["id"]])["metadatas"][0]
    assert meta["articleType"] == rows[0]["articleType"] and meta["has_image"] is True

    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, progress=False)
    assert (s.added, s.updated, s.unchanged) == (0, 0, 10)

    # Change one title and one image, drop one item.
    rows[0]["title"] = "Completely New Title"
    shutil.copy(SAMPLE / rows[5]["image"], tmp_path / rows[1]["image"])
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, progress=False)
    assert (s.added, s.updated, s.unchanged, s.removed, s.stale) == (0, 2, 7, 0, 1)
    assert cols["text"].get(ids=[rows[0]["id"]])["documents"][0] == "Completely New Title"
    assert "--prune" in str(s)
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, prune=True, progress=False)
    assert s.removed == 1 and cols["fused"].count() == cols["image"].count() == cols["text"].count() == 9


def test_bad_items_are_reported_and_skipped_without_losing_the_rest(tmp_path, tiny_embedder):
    shop = unique("shop")
    path, rows = _catalog(tmp_path, 6)
    (tmp_path / rows[0]["image"]).write_bytes(b"\xff\xd8 truncated")
    (tmp_path / rows[1]["image"]).unlink()
    lines = path.read_text().splitlines()
    lines.insert(2, "{broken json")
    lines.append(json.dumps({**rows[2], "title": "dup"}))
    path.write_text("\n".join(lines) + "\n")
    messages = []
    store = Store(store_config(tmp_path))
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, report=messages.append, progress=False)
    assert s.added == 6
    failed = dict(s.failed)
    assert set(failed) == {rows[0]["id"], rows[1]["id"], "line 3", rows[2]["id"]}
    assert "file not found" in failed[rows[1]["id"]] and "duplicate" in failed[rows[2]["id"]]
    assert any(rows[0]["id"] in m and "could not be used" in m for m in messages)
    cols = open_collections(store, shop, tiny_embedder)
    assert cols["image"].count() == 4 and cols["text"].count() == 6 and cols["fused"].count() == 6


def test_second_writer_waits_then_fails_clearly(tmp_path, tiny_embedder):
    shop = unique("shop")
    store = Store(store_config(tmp_path))
    path, _ = _catalog(tmp_path, 2)
    with writer_lock(store, shop):
        with pytest.raises(StoreError, match="being indexed by pid"):
            index_catalog(read_catalog(path), store, shop, tiny_embedder, lock_wait_s=0.3, progress=False)
    # once released, a waiting writer gets the lock
    held = threading.Event()
    release = threading.Event()

    def hold():
        with writer_lock(store, shop):
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, lock_wait_s=5, progress=False)
    t.join()
    assert s.added == 2


SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from tests.conftest import build_tiny_embedder
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store, StoreConfig
    from pathlib import Path

    emb = build_tiny_embedder(Path({head!r}))
    texts = emb.texts
    def slow_texts(batch):
        print("batch", flush=True)
        time.sleep(0.3)
        return texts(batch)
    emb.texts = slow_texts
    store = Store(StoreConfig(path={db!r}, url={url!r}))
    index_catalog(read_catalog({cat!r}), store, {shop!r}, emb, batch_size=3, progress=False)
    print("finished", flush=True)
    """
)


def test_killed_indexer_is_completed_by_a_rerun(tmp_path, tiny_embedder):
    shop = unique("shop")
    path, rows = _catalog(tmp_path, 24)
    cfg = store_config(tmp_path)
    script = SCRIPT.format(
        repo=str(REPO), head=str(tmp_path / "head"), db=cfg.path, url=cfg.url, cat=str(path), shop=shop
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    seen = 0
    for line in proc.stdout:
        seen += line.startswith("batch")
        if seen == 5:  # mid-way through the 5th of 8 batches: the 3rd is written, the 4th may be writing
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    from tests.conftest import build_tiny_embedder

    emb = build_tiny_embedder(tmp_path / "head")
    store = Store(store_config(tmp_path))
    s = index_catalog(read_catalog(path), store, shop, emb, progress=False)
    assert s.unchanged >= 9 and s.added == 24 - s.unchanged
    cols = open_collections(store, shop, emb)
    ids = sorted(r["id"] for r in rows)
    assert _all_ids(store, cols) == {"image": ids, "text": ids, "fused": ids}
    s = index_catalog(read_catalog(path), store, shop, emb, progress=False)
    assert s.unchanged == 24


def test_image_paths_follow_a_moved_catalogue_and_items_can_be_deleted(tmp_path, tiny_embedder):
    from vlrec.retrieval.indexer import IMAGE_KEY, delete_items

    shop = unique("shop")
    (tmp_path / "a").mkdir()
    path, rows = _catalog(tmp_path / "a", 4)
    store = Store(store_config(tmp_path))
    index_catalog(read_catalog(path), store, shop, tiny_embedder, progress=False)
    cols = open_collections(store, shop, tiny_embedder)
    meta = cols["fused"].get(ids=[rows[0]["id"]], include=["metadatas"])["metadatas"][0]
    assert meta[IMAGE_KEY] == str((tmp_path / "a" / rows[0]["image"]).resolve())
    shutil.move(tmp_path / "a", tmp_path / "b")  # same bytes, new place: no re-embedding
    s = index_catalog(
        read_catalog(tmp_path / "b" / "catalog.jsonl"), store, shop, tiny_embedder, progress=False
    )
    assert (s.added, s.updated, s.unchanged) == (0, 0, 4)
    for col in cols.values():
        for m in col.get(include=["metadatas"])["metadatas"]:
            assert m[IMAGE_KEY].startswith(str((tmp_path / "b").resolve()))
    deleted, unknown = delete_items(store, shop, tiny_embedder, [rows[1]["id"], "nope", rows[1]["id"]])
    assert (deleted, unknown) == ([rows[1]["id"]], ["nope"])
    left = sorted(r["id"] for r in rows if r["id"] != rows[1]["id"])
    assert _all_ids(store, cols) == {"image": left, "text": left, "fused": left}
    s = index_catalog(
        read_catalog(tmp_path / "b" / "catalog.jsonl"), store, shop, tiny_embedder, progress=False
    )
    assert (s.added, s.unchanged) == (1, 3)  # a rerun of the file brings it back


def test_catalogue_may_not_set_vlrec_keys(tmp_path):
    from vlrec.data.catalog import CatalogProblem

    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "1", "title": "x", "vlrec_image": "/etc/passwd"}) + "\n")
    (entry,) = read_catalog(path)
    assert isinstance(entry, CatalogProblem) and "vlrec_" in entry.reason


def test_another_embedder_is_refused_unless_rebuild(tmp_path, tiny_embedder):
    from tests.conftest import build_tiny_embedder

    shop = unique("shop")
    path, rows = _catalog(tmp_path, 3)
    store = Store(store_config(tmp_path))
    index_catalog(read_catalog(path), store, shop, tiny_embedder, progress=False)
    other = build_tiny_embedder(tmp_path / "other-head", fusion="mean")  # another head and fusion
    with pytest.raises(StoreError, match="--rebuild"):
        index_catalog(read_catalog(path), store, shop, other, progress=False)
    s = index_catalog(read_catalog(path), store, shop, other, progress=False, rebuild=True)
    assert (s.added, s.unchanged) == (3, 0)
    cols = open_collections(store, shop, other)
    ids = sorted(r["id"] for r in rows)
    assert _all_ids(store, cols) == {"image": ids, "text": ids, "fused": ids}


def test_a_lease_in_the_store_keeps_writers_apart_and_expires_with_a_dead_holder(tmp_path):
    import time

    from vlrec.retrieval.lease import COLLECTION, Lease

    store = Store(store_config(tmp_path))
    name = unique("index-shop")
    a = Lease(store, name, ttl_s=3, settle_s=0.05)
    b = Lease(store, name, ttl_s=3, settle_s=0.05)
    a.acquire(1)
    with pytest.raises(StoreError, match=rf"being written by pid {os.getpid()} on .*{COLLECTION}"):
        b.acquire(0.5)
    a.release()
    b.acquire(1)  # released: the next writer gets it at once
    assert not b.lost
    # a holder killed with kill -9 stops renewing: its lease expires and another writer takes over
    b._stop.set()
    b._thread.join()
    c = Lease(store, name, ttl_s=3, settle_s=0.05)
    start = time.monotonic()
    c.acquire(10)
    assert 1.0 < time.monotonic() - start < 6
    c.release()
    assert store.client.get_collection(COLLECTION).get(ids=[name])["ids"] == []


@pytest.mark.skipif(
    not os.environ.get("VLREC_TEST_CHROMA_URL"), reason="needs a Chroma server (make test-chroma-server)"
)
def test_two_hosts_indexing_one_chroma_server_are_kept_apart(tmp_path, tiny_embedder):
    """Two processes with separate lock folders (as two hosts have) against one server: the
    second writer fails clearly while the first holds the lease, and the store stays whole."""
    shop = unique("shop")
    path, rows = _catalog(tmp_path, 4)
    holder = textwrap.dedent(f"""
        import sys, time
        from tests.conftest import store_config
        from pathlib import Path
        from vlrec.retrieval.indexer import writer_lock
        from vlrec.retrieval.store import Store
        with writer_lock(Store(store_config(Path({str(tmp_path)!r}))), {shop!r}):
            print("held", flush=True)
            time.sleep(8)
    """)
    env = {**os.environ, "VLREC_DATA_DIR": str(tmp_path / "host-a")}  # another host's lock folder
    proc = subprocess.Popen(
        [sys.executable, "-c", holder], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        store = Store(store_config(tmp_path))
        with pytest.raises(StoreError, match="being written by pid"):
            index_catalog(read_catalog(path), store, shop, tiny_embedder, lock_wait_s=1, progress=False)
    finally:
        proc.wait(30)
    s = index_catalog(read_catalog(path), store, shop, tiny_embedder, lock_wait_s=5, progress=False)
    assert s.added == 4


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    from vlrec.retrieval.lease import Lease

    store = Store(store_config(tmp_path))
    name = unique("index-shop")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    ghost = Lease(store, name, ttl_s=600)
    ghost.col.upsert(
        ids=[name],
        embeddings=[[0.0, 0.0]],
        metadatas=[
            {"holder": "ghost", "host": ghost.host, "pid": int(dead.stdout), "token": "x", "expires": 1e12}
        ],
    )
    live = Lease(store, name, settle_s=0.05)
    live.acquire(1)  # not 600 s of waiting for a process that is gone
    live.release()
