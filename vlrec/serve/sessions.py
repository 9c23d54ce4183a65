"""Where the server keeps conversations: in SQLite (default) or in the process's memory.

A conversation in SQLite survives a restart (even ``kill -9``: every turn is committed before
its reply leaves) and is shared by every worker process that opens the same file, so two
workers can answer alternate turns of one conversation. Each row carries a version; a turn
that started from an older version than the stored one is refused (409) instead of
overwriting the other worker's turn. Idle conversations expire after ``serve.session_ttl_s``
and the least recently used go first beyond ``serve.sessions``, as before.

``redis`` (``serve.session_url``) serves replicas on several hosts with the same semantics.
``memory`` keeps the old behaviour (objects in one process, lost on restart), for tests and
throwaway servers.
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
    def exists(self, sid: str) -> bool: ...
    def put(self, sid: str, session: Any) -> None: ...
    def delete(self, sid: str) -> bool: ...
    def __len__(self) -> int: ...


def _split_photo(session) -> tuple[str, str | None, str | None]:
    """The session's state as JSON with its photo by reference: (json, photo sha256, photo PNG b64)."""
    data = session.state()
    image = data.get("image") or {}
    if "png" not in image:
        return json.dumps(data, separators=(",", ":")), None, None
    sha = hashlib.sha256(image["png"].encode()).hexdigest()
    data["image"] = {"png_sha": sha}
    return json.dumps(data, separators=(",", ":")), sha, image["png"]


def _session_from(agent, state_json: str, png: str | None, version: int):
    from vlrec.agent.state import Session

    state = json.loads(state_json)
    if png is not None:
        state["image"] = {"png": png}
    session = Session.from_state(agent, state)
    session.store_version = version
    return session


def _conflict() -> APIError:
    return APIError(
        409,
        "this conversation was changed by another request meanwhile; send the turn again",
        code="session_conflict",
    )


def _valid_id(sid: Any) -> bool:
    return isinstance(sid, str) and 1 <= len(sid) <= 128


def _check_id(sid: Any) -> str:
    if not _valid_id(sid):
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

    def exists(self, sid: str) -> bool:
        with self.lock:
            self._expire()
            return _valid_id(sid) and sid in self.table

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
        with self.lock:
            row = self.db.execute(
                "SELECT s.state, s.version, i.png FROM sessions s LEFT JOIN images i ON i.sha = s.image"
                " WHERE s.id = ? AND s.used >= ?",
                (_check_id(sid), time.time() - self.ttl_s),
            ).fetchone()
        if row is None:
            raise UnknownSession(sid)
        return _session_from(self.agent, row[0], row[2], row[1])

    def exists(self, sid: str) -> bool:
        """Whether ``sid`` is a live conversation, without loading it (a row lookup)."""
        if not _valid_id(sid):
            return False
        with self.lock:
            return (
                self.db.execute(
                    "SELECT 1 FROM sessions WHERE id = ? AND used >= ?", (sid, time.time() - self.ttl_s)
                ).fetchone()
                is not None
            )

    def put(self, sid: str, session: Any) -> None:
        state, sha, png = _split_photo(session)
        version = getattr(session, "store_version", None)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if sha is not None:
                    self.db.execute("INSERT OR IGNORE INTO images (sha, png) VALUES (?, ?)", (sha, png))
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
                        raise _conflict()
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


class RedisSessions:
    """Sessions in Redis, for replicas on several hosts: one hash per conversation (state, version,
    photo reference) expiring after ``ttl_s``, photos once per content, a sorted set of last use for
    the cap. A turn from a stale copy is refused (409) through WATCH / MULTI."""

    def __init__(self, url: str, agent, ttl_s: float, cap: int, prefix: str):
        from vlrec.core.extras import need

        redis = need("redis", "serve", "serve.session_store: redis")
        self.r = redis.Redis.from_url(url)
        self.r.ping()  # fail at start, naming the URL's problem, not at the first turn
        self.redis, self.agent, self.ttl, self.cap = redis, agent, max(1, int(ttl_s)), cap
        self.prefix = f"vlrec:{prefix}:"

    def _key(self, sid: str) -> str:
        return f"{self.prefix}s:{_check_id(sid)}"

    def new_id(self) -> str:
        return secrets.token_urlsafe(16)

    def get(self, sid: str) -> Any:
        row = self.r.hgetall(self._key(sid))
        if not row:
            raise UnknownSession(sid)
        sha = row.get(b"image", b"").decode() or None
        png = self.r.get(f"{self.prefix}img:{sha}") if sha else None
        return _session_from(
            self.agent, row[b"state"].decode(), png.decode() if png else None, int(row[b"version"])
        )

    def exists(self, sid: str) -> bool:
        if not _valid_id(sid):
            return False
        return bool(self.r.exists(self._key(sid)))

    def put(self, sid: str, session: Any) -> None:
        state, sha, png = _split_photo(session)
        key, version = self._key(sid), getattr(session, "store_version", None)
        with self.r.pipeline() as pipe:
            try:
                pipe.watch(key)
                stored = pipe.hget(key, "version")
                if (stored is None) != (version is None) or (stored is not None and int(stored) != version):
                    raise _conflict()
                new_version = (version or 0) + 1
                pipe.multi()
                pipe.hset(key, mapping={"state": state, "version": new_version, "image": sha or ""})
                pipe.expire(key, self.ttl)
                if sha is not None:
                    pipe.set(f"{self.prefix}img:{sha}", png, ex=self.ttl)
                pipe.zadd(f"{self.prefix}used", {sid: time.time()})
                pipe.execute()
            except self.redis.WatchError:
                raise _conflict() from None
        session.store_version = new_version
        self._trim()

    def _trim(self) -> None:
        used = f"{self.prefix}used"
        self.r.zremrangebyscore(used, "-inf", time.time() - self.ttl)
        extra = self.r.zcard(used) - self.cap
        if extra > 0:
            for sid, _ in self.r.zpopmin(used, extra):
                self.r.delete(self._key(sid.decode()))

    def delete(self, sid: str) -> bool:
        self.r.zrem(f"{self.prefix}used", sid)
        return bool(self.r.delete(self._key(sid)))

    def __len__(self) -> int:
        self.r.zremrangebyscore(f"{self.prefix}used", "-inf", time.time() - self.ttl)
        return int(self.r.zcard(f"{self.prefix}used"))


def open_sessions(cfg, agent, catalog: str) -> SessionStore:
    """The session store ``serve.session_store`` names (``sqlite``: ``serve.session_db`` or
    ``<data dir>/sessions/<catalogue>.sqlite3``)."""
    if cfg.session_store == "memory":
        return MemorySessions(cfg.session_ttl_s, cfg.sessions)
    if cfg.session_store == "redis":
        return RedisSessions(cfg.session_url, agent, cfg.session_ttl_s, cfg.sessions, catalog)
    path = cfg.session_db
    if not path:
        from vlrec.core.runtime import data_dir

        path = data_dir() / "sessions" / f"{catalog}.sqlite3"
    return SqliteSessions(path, agent, cfg.session_ttl_s, cfg.sessions)
