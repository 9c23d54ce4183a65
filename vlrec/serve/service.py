"""What the API does, without HTTP: the agent shared by all requests, its sessions and catalogue.

:class:`Service` holds the loaded agent and everything requests share: the API key check,
the size-limited JSON body reader, the conversations (in a :mod:`vlrec.serve.sessions`
store: SQLite by default, so they survive restarts and are shared by workers), the lock that lets one request at a time do model and store work,
turns of a conversation, the items and their JPEG thumbnails as the API shows them, and
adding and deleting catalogue items through the incremental indexer. :class:`Describer`
batches the VLM's readings of photos across concurrent requests. Errors are raised as
:class:`~vlrec.serve.messages.APIError`; the routes in :mod:`vlrec.serve.app` turn them
into responses.
"""

import hashlib
import hmac
import io
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from vlrec.serve.config import ServeConfig
from vlrec.serve.messages import APIError, decode_data_url
from vlrec.serve.sessions import UnknownSession, open_sessions

log = logging.getLogger("vlrec.server")


class Tokens:
    """Counts and cuts text in the served LM's tokens (the VLM's or the intent LM's tokenizer); a
    server without an LM counts words and punctuation marks instead."""

    _WORD = re.compile(r"\w+|[^\w\s]")

    def __init__(self, agent):
        lm = getattr(getattr(agent, "intent", None), "lm", None)
        self.tokenizer = getattr(agent.vlm, "tokenizer", None) or getattr(lm, "tokenizer", None)

    def count(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return len(self._WORD.findall(text))

    def cut(self, text: str, n: int) -> str:
        """The longest prefix of ``text`` within ``n`` tokens."""
        if self.tokenizer is not None:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            if len(enc["input_ids"]) <= n:
                return text
            return text[: enc["offset_mapping"][n - 1][1]]
        spans = [m.end() for m in self._WORD.finditer(text)]
        return text if len(spans) <= n else text[: spans[n - 1]]

    def shape(self, text: str, opts) -> tuple[str, str]:
        """Apply ``stop`` and ``max_tokens`` (:class:`~vlrec.serve.messages.CompletionOptions`):
        (text, finish_reason)."""
        cuts = [i for i in (text.find(s) for s in opts.stop) if i >= 0]
        if cuts:
            return text[: min(cuts)], "stop"
        if opts.max_tokens is not None:
            short = self.cut(text, opts.max_tokens)
            if short != text:
                return short, "length"
        return text, "stop"

    def usage(self, prompts: list[str], completion: str) -> dict:
        p = sum(self.count(t) for t in prompts)
        c = self.count(completion)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _public(meta: dict) -> dict:
    """Catalogue metadata without vlrec's own bookkeeping (hashes, server paths)."""
    return {k: v for k, v in meta.items() if not k.startswith("vlrec_") and k not in ("has_image", "title")}


class Describer:
    """Batches the VLM's readings of photos across concurrent requests.

    Requests queue while a batch runs; the next batch takes all of them (up to
    ``max_batch``). On two CPU cores a batch of 8 descriptions takes about a third of
    the time of 8 single ones; one request alone waits for nothing.
    """

    def __init__(self, see, max_batch: int = 8):
        import queue

        self.see, self.max_batch = see, max_batch
        """``see(images) -> [reading]``: the agent's :meth:`Agent.see`."""
        self.queue: queue.Queue = queue.Queue()
        self.batches: list[int] = []
        threading.Thread(target=self._run, name="vlrec-describer", daemon=True).start()

    def describe(self, image):
        from concurrent.futures import Future

        fut: Future = Future()
        self.queue.put((image, fut))
        return fut.result()

    def _run(self) -> None:
        import queue

        while True:
            batch = [self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                out = self.see([b[0] for b in batch])
            except BaseException as exc:  # every waiter hears it; the worker lives on
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            self.batches.append(len(batch))
            for (_, fut), text in zip(batch, out):
                fut.set_result(text)


class Service:
    """The agent, its sessions and catalogue writes, shared by all requests."""

    def __init__(self, cfg: ServeConfig, agent, uploads: Path | None = None):
        from vlrec.retrieval.indexer import IMAGE_KEY

        self.cfg, self.agent = cfg, agent
        self.key = cfg.api_key or os.environ.get("VLREC_API_KEY", "")
        self.lock = threading.Lock()
        """Model and store work, one request at a time."""
        self.sessions = open_sessions(cfg, agent, agent.searcher.catalog)
        self.thumbs: OrderedDict[str, bytes] = OrderedDict()
        self.image_key = IMAGE_KEY
        self.uploads = uploads or (
            Path(cfg.uploads) if cfg.uploads else _data_dir() / "uploads" / agent.searcher.catalog
        )
        self.started = time.time()
        self.turns_served = 0
        self.describer = Describer(agent.see) if agent.vlm is not None else None
        self.tokens = Tokens(agent)

    # --- auth and bodies --------------------------------------------------------------

    def authorize(self, header: str | None) -> None:
        """Accept ``Bearer KEY`` (API clients) or HTTP Basic with KEY as the password (a browser on
        the web page: it then sends the same credentials for thumbnails and API calls)."""
        if not self.key:
            return
        scheme, _, given = (header or "").partition(" ")
        given = given.strip()
        if scheme.lower() == "basic":
            import base64
            import binascii

            try:
                given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                given = ""
        elif scheme.lower() != "bearer":
            given = ""
        if not hmac.compare_digest(given.encode(), self.key.encode()):  # constant time
            raise APIError(
                401, "missing or wrong API key (Authorization: Bearer KEY)", "authentication_error"
            )

    async def json_body(self, request) -> Any:
        limit = self.cfg.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise APIError(413, f"request body of {declared} bytes; the limit is {limit}", code="too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise APIError(413, f"request body over {limit} bytes", code="too_large")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks) or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise APIError(
                400, f"request body is not valid JSON ({exc.__class__.__name__})", code="bad_json"
            ) from None

    # --- sessions ---------------------------------------------------------------------

    def session(self, sid: str | None):
        """(session id, session): the stored one, or a new (not yet stored) one when ``sid`` is None."""
        if sid is None:
            return self.sessions.new_id(), self.agent.session()
        try:
            return sid, self.sessions.get(sid)
        except UnknownSession:
            raise APIError(
                404, "unknown or expired session id; start a new conversation", code="unknown_session"
            ) from None

    def require(self, sid: str) -> None:
        """404 unless ``sid`` is a live conversation; cheap (the turn loads it once, under the lock)."""
        if not self.sessions.exists(sid):
            raise APIError(
                404, "unknown or expired session id; start a new conversation", code="unknown_session"
            )

    def forget(self, sid: str) -> None:
        self.require(sid)
        self.sessions.delete(sid)

    # --- work (under the lock) --------------------------------------------------------

    def turn(
        self, sid: str | None, turns: list[tuple[str, Any]], k: int | None = None, user: str | None = None
    ):
        replay = sid is None
        todo = turns[-self.cfg.replay_turns :] if replay else turns[-1:]
        # photo descriptions first, outside the lock, batched with other requests' photos
        described = [
            self.describer.describe(image)
            if self.describer and self.agent.will_describe(text, image)
            else None
            for text, image in todo
        ]
        with self.lock:
            sid, session = self.session(sid)
            if user is not None:
                if session.owner not in (None, user):
                    raise APIError(403, "this conversation belongs to another user", code="not_your_session")
                session.owner = user
            if k is not None:
                session.k = k
            profiles = self.agent.profiles
            if user is not None and profiles is not None and profiles.knows(user) and session.user != user:
                session.set_user(user)  # a known user: their history ranks the items
            reply = None
            for (text, image), description in zip(todo, described):
                try:
                    reply = session.send(text, image=image, description=description)
                except ValueError as exc:
                    raise APIError(400, str(exc), code="bad_input") from None
            self.sessions.put(sid, session)  # committed before the reply leaves
            self.turns_served += 1
            return sid, reply

    def items_out(self, recs) -> list[dict]:
        return [
            {
                "id": r.id,
                "title": r.title,
                "reason": r.reason,
                "score": round(float(r.score), 4),
                "image_url": self.image_url(r.id),
                "metadata": _public(r.metadata),
            }
            for r in recs
        ]

    def image_url(self, item_id: str) -> str | None:
        meta = self.agent.items.get(item_id, {})
        return f"/v1/items/{_quote(item_id)}/image" if meta.get(self.image_key) else None

    def extra(self, sid: str, reply) -> dict:
        return {
            "session_id": sid,
            "items": self.items_out(reply.items),
            "constraints": reply.constraints,
            "query": reply.query,
            "image_description": reply.image_description,
            "seen": reply.seen,
            "answer": reply.answer,
            "user": reply.user,
            "seconds": round(reply.seconds, 3),
        }

    def item(self, item_id: str) -> dict:
        meta = self.agent.items.get(item_id)
        if meta is None:
            raise APIError(404, f"item '{item_id[:256]}' is not in the catalogue", code="unknown_item")
        return {
            "id": item_id,
            "title": meta.get("title", ""),
            "image_url": self.image_url(item_id),
            "metadata": _public(meta),
        }

    def thumbnail(self, item_id: str) -> bytes:
        from PIL import Image

        from vlrec.core.images import ImageError, load_image

        with self.lock:
            if item_id in self.thumbs:
                self.thumbs.move_to_end(item_id)
                return self.thumbs[item_id]
            meta = self.agent.items.get(item_id)
            if meta is None:
                raise APIError(404, f"item '{item_id[:256]}' is not in the catalogue", code="unknown_item")
            path = meta.get(self.image_key)  # written by the indexer, never taken from a request
            if not path:
                raise APIError(404, f"item '{item_id[:256]}' has no image", code="no_image")
            try:
                img = load_image(path, name=f"item {item_id}")
            except ImageError as exc:
                log.warning("thumbnail: %s", exc)
                raise APIError(
                    404, f"the image of item '{item_id[:256]}' cannot be read", code="no_image"
                ) from None
            img.thumbnail((self.cfg.thumbnail, self.cfg.thumbnail), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
            self.thumbs[item_id] = buf.getvalue()
            while len(self.thumbs) > 2048:
                self.thumbs.popitem(last=False)
            return self.thumbs[item_id]

    def add_items(self, rows: Any) -> dict:
        from vlrec.data.catalog import CatalogProblem, parse_row

        if not isinstance(rows, list) or not rows:
            raise APIError(400, "'items' must be a non-empty list of catalogue records", code="bad_items")
        if len(rows) > self.cfg.max_items_per_request:
            raise APIError(
                413,
                f"{len(rows)} items; at most {self.cfg.max_items_per_request} per request",
                code="too_large",
            )
        entries, failed, seen = [], [], set()
        for n, row in enumerate(rows):
            if not isinstance(row, dict):
                failed.append({"id": None, "reason": f"items[{n}] is not an object"})
                continue
            row = dict(row)
            if row.get("image") not in (None, ""):
                try:
                    _, data = decode_data_url(
                        row["image"], f"items[{n}].image", self.cfg.max_image_bytes, self.cfg.max_image_pixels
                    )
                except APIError as exc:
                    failed.append({"id": str(row.get("id", ""))[:256] or None, "reason": exc.message})
                    continue
                self.uploads.mkdir(parents=True, exist_ok=True)
                path = self.uploads / f"{hashlib.sha256(data).hexdigest()[:32]}.img"
                if not path.exists():
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(data)
                    tmp.replace(path)  # atomic: a reader never sees half a file
                row["image"] = str(path)
            entry = parse_row(row, n, self.uploads, seen)
            if isinstance(entry, CatalogProblem):
                failed.append({"id": entry.item_id, "reason": entry.reason})
            else:
                entries.append(entry)
        with self.lock:
            problems: list[str] = []
            summary = self.catalogue().index(entries, report=problems.append, progress=False)
            ids = [e.id for e in entries]
            self.agent.refresh(ids)
            for i in ids:
                self.thumbs.pop(i, None)
        failed += [{"id": i, "reason": r} for i, r in summary.failed]
        return {
            "added": summary.added,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "failed": failed,
            "seconds": round(summary.seconds, 3),
        }

    def catalogue(self):
        """The served catalogue, with the agent's store and embedder (for the items API's writes)."""
        from vlrec.retrieval.catalogue import Catalogue

        s = self.agent.searcher
        return Catalogue(s.store, s.catalog, s.embedder)

    def delete_items(self, ids: Any) -> dict:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise APIError(400, "'ids' must be a non-empty list of item ids", code="bad_items")
        with self.lock:
            deleted, unknown = self.catalogue().delete(ids)
            self.agent.refresh(deleted)
            for i in deleted:
                self.thumbs.pop(i, None)
        return {"deleted": deleted, "unknown": unknown}


def _quote(item_id: str) -> str:
    from urllib.parse import quote

    return quote(item_id, safe="")


def _data_dir() -> Path:
    from vlrec.core.runtime import data_dir

    return data_dir()
