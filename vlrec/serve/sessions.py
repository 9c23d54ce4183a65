"""Where the server keeps conversations: in SQLite (default) or in the process's memory.

A conversation in SQLite survives a restart (even ``kill -9``: every turn is committed before
its reply leaves) and is shared by every worker process that opens the same file, so two
workers can answer alternate turns of one conversation. Each row carries a version; a turn
that started from an older version than the stored one is refused (409) instead of
overwriting the other worker's turn. Idle conversations expire after ``serve.session_ttl_s``
and the least recently used go first beyond ``serve.sessions``, as before.

``memory`` keeps the old behaviour (objects in one process, lost on restart), for tests and
throwaway servers. A store shared by hosts would take a Redis URL behind the same three calls
(:meth:`get`, :meth:`put`, :meth:`delete`); that is not built yet.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from vlrec.serve.messages import APIError


class UnknownSession(KeyError):
    """No such conversation, or it expired."""


class SessionStore(Protocol):
    def new_id(self) -> str: ...
    def get(self, sid: str) -> Any: ...
    def put(self, sid: str, session: Any) -> None: ...
    def delete(self, sid: str) -> bool: ...
    def __len__(self) -> int: ...


def _check_id(sid: Any) -> str:
    if not isinstance(sid, str) or not 1 <= len(sid) <= 128:
        raise UnknownSession(str(sid)[:64])
    return sid


class MemorySessions:
    """Sessions as objects in this process (lost on restart; not shared by workers)."""

    def __init__(self, ttl_s: float, cap: int):
        self.ttl_s, self.cap = ttl_s, cap
        self.table: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.lock = threading.Lock()

    def new_id(self) -> str:
        return secrets.token_urlsafe(16)

    def _expire(self) -> None:
        now = time.monotonic()
        while self.table:
            sid, (_, used) = next(iter(self.table.items()))
            if now - used > self.ttl_s or len(self.table) > self.cap:
                self.table.pop(sid)
            else:
                break

    def get(self, sid: str) -> Any:
        with self.lock:
            self._expire()
            if _check_id(sid) not in self.table:
                raise UnknownSession(sid)
            session = self.table[sid][0]
            self.table[sid] = (session, time.monotonic())
            self.table.move_to_end(sid)
            return session

    def put(self, sid: str, session: Any) -> None:
        with self.lock:
            self.table[sid] = (session, time.monotonic())
            self.table.move_to_end(sid)
            self._expire()

    def delete(self, sid: str) -> bool:
        with self.lock:
            return self.table.pop(sid, None) is not None

    def __len__(self) -> int:
        with self.lock:
            self._expire()
            return len(self.table)


class SqliteSessions:
    """Sessions as JSON rows in one SQLite file (WAL), shared by the processes that open it."""

    def __init__(self, path: str | Path, agent, ttl_s: float, cap: int):
        self.path, self.agent, self.ttl_s, self.cap = Path(path), agent, ttl_s, cap
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed turn survives kill -9
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT NOT NULL,"
            " used REAL NOT NULL, version INTEGER NOT NULL, image TEXT)"
        )
        if "image" not in {r[1] for r in self.db.execute("PRAGMA table_info(sessions)")}:
            self.db.execute("ALTER TABLE sessions ADD COLUMN image TEXT")  # files of the first schema
        # photos once per content, not in every turn's row
        self.db.execute("CREATE TABLE IF NOT EXISTS images (sha TEXT PRIMARY KEY, png TEXT NOT NULL)")
        self.db.execute("CREATE INDEX IF NOT EXISTS sessions_used ON sessions(used)")

    def new_id(self) -> str:
        return secrets.token_urlsafe(16)

    def _expire(self) -> None:
        self.db.execute("DELETE FROM sessions WHERE used < ?", (time.time() - self.ttl_s,))
        self.db.execute(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY used DESC LIMIT -1 OFFSET ?)",
            (self.cap,),
        )
        self.db.execute(
            "DELETE FROM images WHERE sha NOT IN (SELECT image FROM sessions WHERE image IS NOT NULL)"
        )

    def get(self, sid: str) -> Any:
        from vlrec.agent.state import Session

        with self.lock:
            row = self.db.execute(
                "SELECT s.state, s.version, i.png FROM sessions s LEFT JOIN images i ON i.sha = s.image"
                " WHERE s.id = ? AND s.used >= ?",
                (_check_id(sid), time.time() - self.ttl_s),
            ).fetchone()
        if row is None:
            raise UnknownSession(sid)
        state = json.loads(row[0])
        if row[2] is not None:
            state["image"] = {"png": row[2]}
        session = Session.from_state(self.agent, state)
        session.store_version = row[1]
        return session

    def put(self, sid: str, session: Any) -> None:
        data = session.state()
        image = data.get("image") or {}
        sha = hashlib.sha256(image["png"].encode()).hexdigest() if "png" in image else None
        if sha is not None:
            data["image"] = {"png_sha": sha}
        state = json.dumps(data, separators=(",", ":"))
        version = getattr(session, "store_version", None)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if sha is not None:
                    self.db.execute(
                        "INSERT OR IGNORE INTO images (sha, png) VALUES (?, ?)", (sha, image["png"])
                    )
                if version is None:
                    self.db.execute(
                        "INSERT INTO sessions (id, state, used, version, image) VALUES (?, ?, ?, 1, ?)",
                        (sid, state, time.time(), sha),
                    )
                    new_version = 1
                else:
                    cur = self.db.execute(
                        "UPDATE sessions SET state = ?, used = ?, version = version + 1, image = ?"
                        " WHERE id = ? AND version = ?",
                        (state, time.time(), sha, sid, version),
                    )
                    if cur.rowcount != 1:
                        raise APIError(
                            409,
                            "this conversation was changed by another request meanwhile; send the turn again",
                            code="session_conflict",
                        )
                    new_version = version + 1
                self._expire()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        session.store_version = new_version

    def delete(self, sid: str) -> bool:
        with self.lock:
            gone = self.db.execute("DELETE FROM sessions WHERE id = ?", (str(sid),)).rowcount > 0
            self.db.execute(
                "DELETE FROM images WHERE sha NOT IN (SELECT image FROM sessions WHERE image IS NOT NULL)"
            )
            return gone

    def __len__(self) -> int:
        with self.lock:
            return self.db.execute(
                "SELECT COUNT(*) FROM sessions WHERE used >= ?", (time.time() - self.ttl_s,)
            ).fetchone()[0]


def open_sessions(cfg, agent, catalog: str) -> SessionStore:
    """The session store ``serve.session_store`` names (``sqlite``: ``serve.session_db`` or
    ``<data dir>/sessions/<catalogue>.sqlite3``)."""
    if cfg.session_store == "memory":
        return MemorySessions(cfg.session_ttl_s, cfg.sessions)
    path = cfg.session_db
    if not path:
        from vlrec.core.runtime import data_dir

        path = data_dir() / "sessions" / f"{catalog}.sqlite3"
    return SqliteSessions(path, agent, cfg.session_ttl_s, cfg.sessions)
