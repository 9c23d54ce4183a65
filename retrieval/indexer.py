"""Catalogue → vectors → Chroma: image, text and fused collections keyed by item id.

Incremental and resumable:

- every record carries a content hash of the item's text and image bytes; an item
  whose hash is unchanged is skipped, a changed one is re-embedded;
- per batch (128 items: fewer, larger Chroma writes), the image and text collections are
  written first and the fused collection last, so an item is *done* only when its fused record
  carries the current hash: a run killed at any moment (kill -9) is completed by a rerun, and
  upserts keep every item exactly once;
- batches are written in order on a writer thread while the next one embeds; only the text
  collection stores the item's text as a document (nothing reads it from the other two);
- items gone from the catalogue are deleted only with ``prune=True``;
- one writer at a time per catalogue: a lock file keeps a host's processes apart, and with a
  Chroma server a lease record in the server (:mod:`vlrec.retrieval.lease`) keeps hosts
  apart; a second writer waits, then fails with the holder's name.

A bad item (malformed line, duplicate id, missing / corrupt / huge image) is
reported with its id and reason and counted as failed; an item whose image fails
still gets its text vector and a text-only fused vector.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vlrec.core.images import MAX_BYTES, ImageError, load_image
from vlrec.data.catalog import CatalogItem, CatalogProblem
from vlrec.retrieval.store import Store, StoreError

HASH_KEY = "vlrec_hash"
IMAGE_KEY = "vlrec_image"
"""Where the item's image file lies (absolute), so a server can show it; not part of the hash."""
MODALITIES = ("image", "text", "fused")


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    stale: int = 0
    """Items in the store that are no longer in the catalogue (kept without prune)."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        rate = (self.added + self.updated) / self.seconds if self.seconds else 0.0
        text = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"failed {len(self.failed)}, removed {self.removed}"
        )
        if self.stale:
            text += f" ({self.stale} items no longer in the catalogue; --prune deletes them)"
        text += f" in {self.seconds:.1f} s"
        return text + (f" ({rate:.1f} items/s)" if self.added + self.updated else "")


def collection_names(catalog: str) -> dict[str, str]:
    return {m: f"{catalog}.{m}" for m in MODALITIES}


def open_collections(store: Store, catalog: str, embedder, rebuild: bool = False) -> dict:
    """The catalogue's three collections, stamped with the embedder's config.

    ``rebuild``: collections holding vectors from another embedder (a new alignment head,
    another encoder) are deleted and recreated empty, for the indexer to fill again;
    otherwise that is a :class:`StoreError`.
    """
    stamp = embedder.get_config()
    names = collection_names(catalog)
    if rebuild:
        stale = []
        for kind, name in names.items():
            try:
                store.collection(name, {**stamp, "kind": kind, **_fused_extra(embedder, kind)})
            except StoreError:
                stale.append(name)
        for name in stale:
            store.client.delete_collection(name)
    return {
        "image": store.collection(names["image"], {**stamp, "kind": "image"}),
        "text": store.collection(names["text"], {**stamp, "kind": "text"}),
        "fused": store.collection(
            names["fused"], {**stamp, "kind": "fused", **_fused_extra(embedder, "fused")}
        ),
    }


def _fused_extra(embedder, kind: str) -> dict:
    if kind != "fused":
        return {}
    return {"fusion": embedder.cfg.fusion, "image_weight": embedder.cfg.image_weight}


def content_hash(item: CatalogItem, image_bytes: bytes | None) -> str:
    h = hashlib.sha256()
    h.update(item.title.encode())
    h.update(b"\0" + item.description.encode())
    h.update(b"\0" + repr(sorted(item.metadata.items())).encode())
    h.update(b"\0" + (image_bytes or b""))
    return h.hexdigest()[:20]


@contextmanager
def writer_lock(store: Store, catalog: str, wait_s: float = 30.0):
    """Hold the single-writer lock of ``catalog`` in this store, waiting up to ``wait_s``."""
    from vlrec.core.runtime import data_dir

    if store.cfg.url:
        key = hashlib.sha256(store.cfg.url.encode()).hexdigest()[:12]
        folder = data_dir() / "locks" / key
    else:
        folder = store.cfg.resolved_path()
    folder.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock, Timeout

    path = folder / f".vlrec-index-{catalog}.lock"
    holder_file = path.with_suffix(".holder")
    lock = FileLock(path)
    deadline = time.monotonic() + wait_s
    try:
        lock.acquire(timeout=wait_s, poll_interval=0.2)
    except Timeout:
        try:
            holder = holder_file.read_text().strip() or "another process"
        except OSError:
            holder = "another process"
        raise StoreError(
            f"catalogue '{catalog}' is being indexed by {holder} (lock {path}); "
            "wait for it to finish, or rerun later: the store is intact"
        ) from None
    holder_file.write_text(f"pid {os.getpid()}")
    lease = None
    try:
        if store.cfg.url:  # other hosts write this server too: hold its lease as well
            from vlrec.retrieval.lease import Lease

            lease = Lease(store, f"index-{catalog}")
            lease.acquire(max(0.0, deadline - time.monotonic()))
        yield
    finally:
        if lease is not None:
            lease.release()
        lock.release()


def _stored_hashes(store: Store, collection) -> dict[str, tuple[str, str]]:
    """Item id -> (content hash, image path) of every stored item."""
    out: dict[str, tuple[str, str]] = {}
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=store.max_batch, offset=offset)
        for item_id, meta in zip(got["ids"], got["metadatas"]):
            out[item_id] = ((meta or {}).get(HASH_KEY, ""), (meta or {}).get(IMAGE_KEY, ""))
        if len(got["ids"]) < store.max_batch:
            return out
        offset += store.max_batch


def _read_image(path: Path) -> tuple[bytes | None, str | None]:
    """The image file's bytes, or why they cannot be used (without reading a huge file)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, "file not found"
    except OSError as exc:
        return None, f"cannot read file: {exc}"
    if size > MAX_BYTES:
        return None, f"file is {size} bytes; the limit is {MAX_BYTES}"
    return path.read_bytes(), None


def _image_path(item: CatalogItem) -> str:
    return str(Path(item.image).resolve()) if item.image is not None else ""


def _metadata(item: CatalogItem, digest: str, has_image: bool) -> dict:
    meta = {"title": item.title, **item.metadata, HASH_KEY: digest, "has_image": has_image}
    if has_image:
        meta[IMAGE_KEY] = _image_path(item)
    return meta


def _prepare(batch: list[CatalogItem], stored: dict, embedder, summary: IndexSummary, report) -> tuple:
    """Read, hash and decode one batch: the items to embed, their pixels, digests, which have
    an image, and the unchanged items whose image moved."""
    todo, pixels, digests, has_img, moved = [], [], [], [], []
    for it in batch:
        path = Path(it.image) if it.image is not None else None
        data, problem = _read_image(path) if path is not None else (None, None)
        digest = content_hash(it, data if problem is None else problem.encode())
        old_digest, old_image = stored.get(it.id, ("", ""))
        if old_digest == digest:
            summary.unchanged += 1
            if problem is None and path is not None and old_image != _image_path(it):
                moved.append(it)  # same bytes, new place (or a store from before IMAGE_KEY)
            continue
        pix = None
        if path is not None:
            try:
                if problem is not None:
                    raise ImageError(str(path), problem)
                pix = embedder.vision.preprocess([load_image(data, name=str(path))])
            except ImageError as exc:
                report(f"item '{it.id}': {exc}; indexed by text only")
                summary.failed.append((it.id, str(exc)))
        todo.append(it)
        digests.append(digest)
        has_img.append(pix is not None)
        if pix is not None:
            pixels.append(pix)
    return todo, pixels, digests, has_img, moved


def _write(
    store: Store, cols: dict, stored: dict, summary: IndexSummary, prepared: tuple, vectors, bar, n: int
) -> None:
    """Write one embedded batch (``vectors``: image, text, fused) in that order, the fused
    collection last as it marks the items done; then the new image paths of ``moved`` items."""
    todo, _, digests, has_img, moved = prepared  # from _prepare
    if todo:
        img, txt, fused = vectors
        ids = [it.id for it in todo]
        metas = [_metadata(it, d, h) for it, d, h in zip(todo, digests, has_img)]
        docs = [it.text() for it in todo]
        with_img = [i for i, h in enumerate(has_img) if h]
        if with_img:
            store.upsert(
                cols["image"],
                [ids[i] for i in with_img],
                img[with_img],
                [metas[i] for i in with_img],
            )
        no_img = [ids[i] for i, h in enumerate(has_img) if not h]
        if no_img:  # a changed item whose image is now bad must not keep its old image vector
            cols["image"].delete(ids=no_img)
        store.upsert(cols["text"], ids, txt, metas, docs)
        store.upsert(cols["fused"], ids, fused, metas)  # last: marks the items done
        for it in todo:
            if it.id in stored:
                summary.updated += 1
            else:
                summary.added += 1
    if moved:
        ids = [it.id for it in moved]
        for col in cols.values():
            have = col.get(ids=ids, include=["metadatas"])
            metas = {i: dict(m or {}) for i, m in zip(have["ids"], have["metadatas"])}
            for it in moved:
                if it.id in metas:
                    metas[it.id][IMAGE_KEY] = _image_path(it)
            if metas:
                col.update(ids=list(metas), metadatas=list(metas.values()))
    bar.update(n)


def index_catalog(
    entries: Iterable[CatalogItem | CatalogProblem],
    store: Store,
    catalog: str,
    embedder,
    prune: bool = False,
    batch_size: int = 128,
    report: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    lock_wait_s: float = 30.0,
    progress: bool = True,
    rebuild: bool = False,
    repair: bool = False,
) -> IndexSummary:
    """Bring collections ``<catalog>.{image,text,fused}`` in line with the catalogue entries.

    ``rebuild``: if the collections hold vectors from another embedder, start them afresh
    (see :func:`open_collections`) instead of failing.
    ``repair``: if a collection is damaged (:meth:`Store.damage`), drop the catalogue's three
    collections and index it again from the entries; without it, damage is a :class:`StoreError`
    that names it (checked before every run: a few reads per collection)."""
    start = time.perf_counter()
    summary = IndexSummary()
    items: list[CatalogItem] = []
    for entry in entries:
        if isinstance(entry, CatalogProblem):
            report(str(entry))
            summary.failed.append((entry.item_id or f"line {entry.line}", entry.reason))
        else:
            items.append(entry)
    with writer_lock(store, catalog, lock_wait_s):
        names = collection_names(catalog)
        damaged = {n: d for n in names.values() if (d := store.damage(n))}
        if damaged and not repair:
            raise StoreError(
                f"catalogue '{catalog}' is damaged in the store ("
                + "; ".join(f"{n}: {d}" for n, d in damaged.items())
                + "); index it again with --repair (drops its collections and re-embeds the catalogue)"
            )
        if damaged:
            report(f"{catalog}: damaged collections {sorted(damaged)}; dropping all three and re-indexing")
            for name in names.values():
                try:
                    store.client.delete_collection(name)
                except Exception:  # already gone, or unreadable even to delete: recreated below
                    pass
        cols = open_collections(store, catalog, embedder, rebuild=rebuild)
        stored = _stored_hashes(store, cols["fused"])
        wanted = {it.id for it in items}
        stale = [i for i in stored if i not in wanted]
        if prune and stale:
            for start_i in range(0, len(stale), store.max_batch):
                chunk = stale[start_i : start_i + store.max_batch]
                for col in cols.values():
                    col.delete(ids=chunk)
            summary.removed = len(stale)
        else:
            summary.stale = len(stale)

        bar = tqdm(
            total=len(items), desc=f"index {catalog}", unit="item", file=sys.stderr, disable=not progress
        )
        batches = [items[b : b + batch_size] for b in range(0, len(items), batch_size)]
        with (
            ThreadPoolExecutor(1, thread_name_prefix="vlrec-decode") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="vlrec-write") as writer,
        ):
            # the next batch is read, hashed and decoded on one thread and the last one written to
            # Chroma on another while this one embeds; writes stay in order, one batch at a time
            ahead = pool.submit(_prepare, batches[0], stored, embedder, summary, report) if batches else None
            written = None
            for k, batch in enumerate(batches):
                prepared = ahead.result()
                todo, pixels, _, has_img, _ = prepared
                if k + 1 < len(batches):
                    ahead = pool.submit(_prepare, batches[k + 1], stored, embedder, summary, report)
                vectors = None
                if todo:
                    txt = embedder.texts([it.text() for it in todo])  # [n, D]
                    img = np.zeros_like(txt)
                    if pixels:
                        step = embedder.vision.config.batch_size  # the encoder's fastest batch
                        img[np.array(has_img)] = np.concatenate(
                            [
                                embedder.encode_pixels(torch.cat(pixels[j : j + step]))
                                for j in range(0, len(pixels), step)
                            ]
                        )
                    vectors = (img, txt, embedder.fused(img, txt, has_image=np.array(has_img)))
                if written is not None:
                    written.result()  # a failed write stops the run here, before anything later is written
                written = writer.submit(
                    _write, store, cols, stored, summary, prepared, vectors, bar, len(batch)
                )
            if written is not None:
                written.result()
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def delete_items(
    store: Store, catalog: str, embedder, ids: Iterable[str], lock_wait_s: float = 30.0
) -> tuple[list[str], list[str]]:
    """Delete items from all three collections of ``catalog``: (deleted ids, unknown ids)."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    with writer_lock(store, catalog, lock_wait_s):
        cols = open_collections(store, catalog, embedder)
        known: set[str] = set()
        for b in range(0, len(ids), store.max_batch):
            known |= store.existing_ids(cols["fused"], ids[b : b + store.max_batch])
        found = [i for i in ids if i in known]
        for b in range(0, len(found), store.max_batch):
            chunk = found[b : b + store.max_batch]
            # fused first: an item without its fused record is not "done", so a rerun re-adds cleanly
            for m in ("fused", "text", "image"):
                cols[m].delete(ids=chunk)
    return found, [i for i in ids if i not in known]
