"""A writer's lease kept in the store itself, so indexers on different hosts exclude each other.

A file lock only keeps apart the processes of one host. With a Chroma server, several hosts
can write one catalogue; the lease is a record in the collection ``vlrec-leases`` of that
server: ``{holder, token, expires}``. To take it, a writer reads the record; if another
writer's unexpired lease is there it waits (and in the end fails, naming the holder);
otherwise it writes its own token, waits ``settle_s`` and reads again: only the writer whose
token is still there holds the lease (Chroma has no compare-and-set; of two writers that
wrote at once, the later write wins and the other one sees it and backs off). While held, a
thread renews it every ``ttl_s / 3``; a writer killed with ``kill -9`` stops renewing and its
lease expires after ``ttl_s``, so nobody waits for a dead host forever; a lease left by a dead
process of this same host is taken over at once (its pid no longer runs).

It is not a consensus protocol: a writer stalled for longer than ``settle_s`` between its read
and its write can still overlap another; the renewing thread then finds its token gone and
sets :attr:`Lease.lost`. Upserts keep every item exactly once either way.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

from vlrec.retrieval.store import Store, StoreError

COLLECTION = "vlrec-leases"


class Lease:
    """The lease ``name`` in ``store`` (one per catalogue)."""

    def __init__(self, store: Store, name: str, ttl_s: float = 60.0, settle_s: float = 0.5):
        self.store, self.name, self.ttl_s, self.settle_s = store, name, ttl_s, settle_s
        self.token = secrets.token_hex(8)
        self.host = socket.gethostname()
        self.holder = f"pid {os.getpid()} on {self.host}"
        self.col = store.client.get_or_create_collection(COLLECTION, embedding_function=None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False
        """True if the lease was taken over while held (it expired: the renewals did not reach the store)."""

    def _read(self) -> dict | None:
        got = self.col.get(ids=[self.name], include=["metadatas"])
        return dict(got["metadatas"][0] or {}) if got["ids"] else None

    def _write(self) -> None:
        meta = {
            "holder": self.holder, "host": self.host, "pid": os.getpid(),
            "token": self.token, "expires": time.time() + self.ttl_s,
        }  # fmt: skip
        self.col.upsert(ids=[self.name], embeddings=[[0.0, 0.0]], metadatas=[meta])

    def acquire(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            rec = self._read()
            if rec is None or rec.get("token") == self.token or self._dead(rec):
                self._write()
                time.sleep(self.settle_s)
                rec = self._read()
                if rec is not None and rec.get("token") == self.token:
                    break
            if time.monotonic() >= deadline:
                holder = (rec or {}).get("holder", "another writer")
                raise StoreError(
                    f"'{self.name}' is being written by {holder} (lease in the store's '{COLLECTION}' "
                    "collection); wait for it to finish, or rerun later: the store is intact"
                )
            time.sleep(0.2)
        self._thread = threading.Thread(target=self._renew, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def _dead(self, rec: dict) -> bool:
        """The lease expired, or its holder was a process of this host that no longer runs."""
        if float(rec.get("expires", 0)) < time.time():
            return True
        if rec.get("host") != self.host or not isinstance(rec.get("pid"), int):
            return False
        try:
            os.kill(rec["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # it runs, as another user
            return False
        return False

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                rec = self._read()
                if rec is None or rec.get("token") != self.token:
                    self.lost = True
                    return
                self._write()
            except Exception:  # the store is unreachable: try again next period
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            rec = self._read()
            if rec is not None and rec.get("token") == self.token:
                self.col.delete(ids=[self.name])
        except Exception:  # the lease expires by itself
            pass

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
