"""``vlrec serve``: the shopping agent over HTTP (FastAPI + uvicorn).

Endpoints (all under ``/v1`` need ``Authorization: Bearer KEY`` when a key is set):

- ``POST /v1/chat/completions`` - the OpenAI chat format. A user message is a string
  or a list of parts: ``{"type": "text", "text": ...}`` and at most one
  ``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}``.
  ``stream: true`` answers as server-sent events (``chat.completion.chunk`` objects,
  then ``data: [DONE]``). The recommended items come back as structured data in the
  extra field ``vlrec`` of the response (the last chunk when streaming)::

      "vlrec": {"session_id": "...", "items": [{"id", "title", "reason", "score",
                "image_url", "metadata"}], "constraints": {...}, "query": "...",
                "image_description": "...", "answer": "..."}

  Conversation state lives on the server: pass ``session_id`` (a body field; with the
  ``openai`` client, ``extra_body={"session_id": ...}``) or the ``X-Session-Id`` header,
  and only the last user message is a new turn. Without one, a new session is made
  and the request's user messages (the last ``serve.replay_turns``) are played into
  it in order, so stateless clients that resend the history work too.
- ``POST /v1/recommend`` - ``{"text", "image" (data URL), "k", "session_id"}`` -> items.
- ``GET /v1/items`` (``limit``, ``offset``), ``GET /v1/items/{id}``,
  ``GET /v1/items/{id}/image`` (a JPEG thumbnail), ``POST /v1/items``
  (``{"items": [...]}``, the catalogue line format with images as data URLs; indexed by
  the same incremental path as ``vlrec index``), ``DELETE /v1/items/{id}`` and
  ``DELETE /v1/items`` (``{"ids": [...]}``).
- ``GET /v1/models`` (one model, ``vlrec``: any ``model`` value is accepted);
  ``GET /v1/sessions/{id}``, ``DELETE /v1/sessions/{id}``; ``GET /healthz``; ``GET /``
  (the web chat page).

Safety: the API key is compared in constant time; request bodies and images have size
limits (413) and images are decoded with the pixel limit checked from the header,
before decoding (422); images arrive only as ``data:`` URLs, so no path or URL from a
request is ever opened; errors are JSON ``{"error": {"message", "type", "code"}}`` and
never carry a stack trace; CORS is off unless ``serve.cors_origins`` lists origins.
One lock serialises model and store work (two CPU cores gain nothing from running
two turns at once); requests queue on it.
"""

import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlrec.core.config import check

log = logging.getLogger("vlrec.server")
WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_TEXT = 2000
_DATA_URL = re.compile(r"^data:(image/[A-Za-z0-9.+-]+)?((?:;[^,;]*)*?);base64,", re.I)


@dataclass
class ServeConfig:
    """``vlrec serve``: address, security and limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str = ""
    """Bearer token required on /v1 when set; the environment variable VLREC_API_KEY also sets it."""
    cors_origins: list[str] = field(default_factory=list)
    """Origins allowed to call the API from a browser (empty: CORS off)."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest request body (413 above)."""
    max_image_bytes: int = 8 * 1024 * 1024
    """Largest decoded image in a request (413 above)."""
    max_image_pixels: int = 25_000_000
    """Largest image, width x height, read from its header before decoding (422 above)."""
    max_items_per_request: int = 1000
    sessions: int = 1000
    """Conversations kept; the least recently used goes first."""
    session_ttl_s: float = 3600.0
    """A conversation idle this long is forgotten."""
    replay_turns: int = 8
    """Without a session id, the last this-many user messages are played into a new session."""
    uploads: str = ""
    """Folder for images sent with POST /v1/items (default: <data dir>/uploads/<catalogue>)."""
    thumbnail: int = 256
    """Longest side of thumbnails served at /v1/items/{id}/image."""

    def __post_init__(self) -> None:
        check(0 < self.port < 65536, "serve.port", "must be in [1, 65535]")
        for key in ("max_body_bytes", "max_image_bytes", "max_image_pixels", "sessions", "replay_turns"):
            check(getattr(self, key) >= 1, f"serve.{key}", "must be >= 1")
        check(32 <= self.thumbnail <= 1024, "serve.thumbnail", "must be in [32, 1024]")


class APIError(Exception):
    """An error answered as ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str = ""):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code or None}}


def _user(body: dict) -> str | None:
    """The request's ``user`` (OpenAI's end-user id): when it names a user of the history data
    and the server loaded profiles (``agent.profiles``), that user's taste ranks the items."""
    user = body.get("user")
    if user is None:
        return None
    if not isinstance(user, str) or not 0 < len(user) <= 256:
        raise APIError(422, "'user' must be a string of 1 to 256 characters", code="bad_request")
    return user


def decode_data_url(url: Any, label: str, max_bytes: int, max_pixels: int):
    """A ``data:image/...;base64,`` URL -> (PIL image, raw bytes). Nothing else is accepted."""
    from vlrec.core.images import ImageError, load_image

    if not isinstance(url, str) or not url:
        raise APIError(422, f"{label}: an image must be a data: URL string", code="bad_image")
    match = _DATA_URL.match(url[:300])
    if match is None:
        what = "a data: URL without base64" if url[:5].lower() == "data:" else "not a data: URL"
        raise APIError(
            422,
            f"{label}: {what}; send images inline as data:image/...;base64,... "
            "(file paths and remote URLs are never opened)",
            code="bad_image",
        )
    payload = url[match.end() :]
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise APIError(
            413,
            f"{label}: image of about {len(payload) * 3 // 4} bytes; the limit is {max_bytes}",
            code="too_large",
        )
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise APIError(422, f"{label}: the base64 data is not valid", code="bad_image") from None
    if len(data) > max_bytes:
        raise APIError(
            413, f"{label}: image of {len(data)} bytes; the limit is {max_bytes}", code="too_large"
        )
    try:
        image = load_image(data, name=label, max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageError as exc:
        raise APIError(422, str(exc), code="bad_image") from None
    return image, data


def _parse_messages(messages: Any, max_bytes: int, max_pixels: int) -> list[tuple[str, Any]]:
    """The user turns of an OpenAI ``messages`` list: [(text, PIL image or None)]."""
    if not isinstance(messages, list) or not messages:
        raise APIError(422, "'messages' must be a non-empty list", code="bad_messages")
    turns = []
    for n, msg in enumerate(messages):
        where = f"messages[{n}]"
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise APIError(422, f"{where}: each message needs a 'role' and 'content'", code="bad_messages")
        role, content = msg["role"], msg.get("content")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise APIError(422, f"{where}: unknown role '{role[:40]}'", code="bad_messages")
        if role != "user":
            continue
        texts, images = [], []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for p, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif kind == "image_url":
                    ref = part.get("image_url")
                    url = ref.get("url") if isinstance(ref, dict) else ref
                    images.append((f"{where}.content[{p}]", url))
                else:
                    raise APIError(
                        422, f"{where}.content[{p}]: parts must be text or image_url", code="bad_messages"
                    )
        else:
            raise APIError(422, f"{where}: content must be a string or a list of parts", code="bad_messages")
        if len(images) > 1:
            raise APIError(422, f"{where}: at most one image per message", code="bad_messages")
        text = " ".join(t.strip() for t in texts if t.strip())
        if len(text) > MAX_TEXT:
            raise APIError(
                422, f"{where}: text of {len(text)} characters; the limit is {MAX_TEXT}", code="too_long"
            )
        turns.append((text, images[0] if images else None))
    if messages[-1].get("role") != "user":
        raise APIError(422, "the last message must be the user's", code="bad_messages")
    if not turns[-1][0] and turns[-1][1] is None:
        raise APIError(422, "the last user message is empty", code="bad_messages")
    return turns


def _decode_turns(turns, max_bytes: int, max_pixels: int) -> list[tuple[str, Any]]:
    out = []
    for text, image in turns:
        out.append(
            (text, None if image is None else decode_data_url(image[1], image[0], max_bytes, max_pixels)[0])
        )
    return out


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
        self.slock = threading.Lock()
        """The session table (held for microseconds; safe to take on the event loop)."""
        self.sessions: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.thumbs: OrderedDict[str, bytes] = OrderedDict()
        self.image_key = IMAGE_KEY
        self.uploads = uploads or (
            Path(cfg.uploads) if cfg.uploads else _data_dir() / "uploads" / agent.searcher.catalog
        )
        self.started = time.time()
        self.turns_served = 0
        self.describer = Describer(agent.see) if agent.vlm is not None else None

    # --- auth and bodies --------------------------------------------------------------

    def authorize(self, header: str | None) -> None:
        if not self.key:
            return
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.key.encode()):
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
                422, f"request body is not valid JSON ({exc.__class__.__name__})", code="bad_json"
            ) from None

    # --- sessions ---------------------------------------------------------------------

    def _expire(self) -> None:
        now = time.monotonic()
        while self.sessions:
            sid, (_, used) = next(iter(self.sessions.items()))
            if now - used > self.cfg.session_ttl_s or len(self.sessions) > self.cfg.sessions:
                self.sessions.pop(sid)
            else:
                break

    def session(self, sid: str | None):
        """(session id, session): an existing one, or a new one when ``sid`` is None."""
        with self.slock:
            return self._session(sid)

    def forget(self, sid: str) -> None:
        with self.slock:
            self._session(sid)
            self.sessions.pop(sid, None)

    def _session(self, sid: str | None):
        self._expire()
        if sid is None:
            sid = secrets.token_urlsafe(16)
            session = self.agent.session()
        else:
            if not isinstance(sid, str) or sid not in self.sessions:
                raise APIError(
                    404, "unknown or expired session id; start a new conversation", code="unknown_session"
                )
            session = self.sessions[sid][0]
        self.sessions[sid] = (session, time.monotonic())
        self.sessions.move_to_end(sid)
        self._expire()
        return sid, session

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
                    raise APIError(422, str(exc), code="bad_input") from None
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
        from vlrec.retrieval.indexer import index_catalog

        if not isinstance(rows, list) or not rows:
            raise APIError(422, "'items' must be a non-empty list of catalogue records", code="bad_items")
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
            summary = index_catalog(
                entries,
                self.agent.searcher.store,
                self.agent.searcher.catalog,
                self.agent.searcher.embedder,
                report=problems.append,
                progress=False,
            )
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

    def delete_items(self, ids: Any) -> dict:
        from vlrec.retrieval.indexer import delete_items

        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise APIError(422, "'ids' must be a non-empty list of item ids", code="bad_items")
        with self.lock:
            s = self.agent.searcher
            deleted, unknown = delete_items(s.store, s.catalog, s.embedder, ids)
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


def _chunks(text: str) -> list[str]:
    """The reply in word-sized pieces for streaming (whitespace kept: they join back exactly)."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


def create_app(service: Service):
    """The FastAPI application around one :class:`Service`."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="vlrec", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    cfg = service.cfg
    if cfg.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Session-Id"],
            expose_headers=["X-Session-Id"],
        )

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse(
            APIError(exc.status_code, str(exc.detail), "invalid_request_error").body(), exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        msgs = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()[:5]
        )
        return JSONResponse(APIError(422, msgs or "invalid request", code="bad_request").body(), 422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("error serving %s %s", request.method, request.url.path)
        body = APIError(500, "internal server error; the server log has the details", "server_error").body()
        return JSONResponse(body, 500)

    def auth(request: Request) -> None:
        service.authorize(request.headers.get("authorization"))

    async def json_object(request: Request) -> dict:
        """The authorized request's body, which must be a JSON object."""
        auth(request)
        body = await service.json_body(request)
        if not isinstance(body, dict):
            raise APIError(422, "the body must be a JSON object", code="bad_request")
        return body

    # --- public -----------------------------------------------------------------------

    @app.get("/healthz")
    def healthz():
        return {
            "status": "ok",
            "catalog": service.agent.searcher.catalog,
            "items": len(service.agent.items),
            "vlm": service.agent.vlm is not None,
            "sessions": len(service.sessions),
            "uptime_s": round(time.time() - service.started, 1),
        }

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    # --- chat -------------------------------------------------------------------------

    @app.get("/v1/models")
    def models(request: Request):
        auth(request)
        return {
            "object": "list",
            "data": [
                {"id": "vlrec", "object": "model", "created": int(service.started), "owned_by": "vlrec"}
            ],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await json_object(request)
        sid = body.get("session_id") or request.headers.get("x-session-id") or None
        if sid is not None:
            service.session(sid)  # 404 now, before a stream starts
        turns = _parse_messages(body.get("messages"), cfg.max_image_bytes, cfg.max_image_pixels)
        turns = turns[-1:] if sid else turns[-cfg.replay_turns :]
        turns = await run_in_threadpool(_decode_turns, turns, cfg.max_image_bytes, cfg.max_image_pixels)
        user = _user(body)
        model = str(body.get("model") or "vlrec")[:100]
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())

        if not body.get("stream"):
            sid, reply = await run_in_threadpool(service.turn, sid, turns, None, user)
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    "vlrec": service.extra(sid, reply),
                },
                headers={"X-Session-Id": sid},
            )

        def chunk(delta: dict, finish: str | None = None, **extra) -> str:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(obj)}\n\n"

        async def events():
            yield chunk({"role": "assistant", "content": ""})  # first bytes at once
            try:
                new_sid, reply = await run_in_threadpool(service.turn, sid, turns, None, user)
            except APIError as exc:
                yield f"data: {json.dumps(exc.body())}\n\n"
                yield "data: [DONE]\n\n"
                return
            except Exception:
                log.exception("error in a streamed turn")
                yield f"data: {json.dumps(APIError(500, 'internal server error', 'server_error').body())}\n\n"
                yield "data: [DONE]\n\n"
                return
            for piece in _chunks(reply.text):
                yield chunk({"content": piece})
            yield chunk({}, "stop", vlrec=service.extra(new_sid, reply))
            yield "data: [DONE]\n\n"

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if sid:
            headers["X-Session-Id"] = sid
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.post("/v1/recommend")
    async def recommend(request: Request):
        body = await json_object(request)
        text, image, k = body.get("text") or "", body.get("image"), body.get("k")
        if not isinstance(text, str):
            raise APIError(422, "'text' must be a string", code="bad_request")
        if len(text) > MAX_TEXT:
            raise APIError(422, f"text of {len(text)} characters; the limit is {MAX_TEXT}", code="too_long")
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50):
            raise APIError(422, "'k' must be an integer in [1, 50]", code="bad_request")
        if not text.strip() and image in (None, ""):
            raise APIError(422, "give 'text', 'image' (a data: URL), or both", code="bad_request")
        sid = body.get("session_id")
        if sid is not None:
            service.session(sid)
        pil = None
        if image not in (None, ""):
            pil = (
                await run_in_threadpool(
                    decode_data_url, image, "image", cfg.max_image_bytes, cfg.max_image_pixels
                )
            )[0]
        sid, reply = await run_in_threadpool(service.turn, sid, [(text, pil)], k, _user(body))
        return JSONResponse({"text": reply.text, **service.extra(sid, reply)}, headers={"X-Session-Id": sid})

    # --- sessions ---------------------------------------------------------------------

    @app.get("/v1/sessions/{sid}")
    def get_session(sid: str, request: Request):
        auth(request)
        _, s = service.session(sid)
        with service.lock:
            return {
                "session_id": sid,
                "turns": [
                    {"role": t.role, "text": t.text, "image": t.image is not None, "items": t.items}
                    for t in s.turns
                ],
                "shown": s.shown,
                "liked": s.liked,
                "rejected": s.rejected,
                "constraints": s.constraints,
            }

    @app.delete("/v1/sessions/{sid}")
    def delete_session(sid: str, request: Request):
        auth(request)
        service.forget(sid)
        return {"deleted": sid}

    # --- catalogue --------------------------------------------------------------------

    @app.get("/v1/items")
    def list_items(request: Request, limit: int = 50, offset: int = 0):
        auth(request)
        if not 1 <= limit <= 1000 or offset < 0:
            raise APIError(422, "limit must be in [1, 1000] and offset >= 0", code="bad_request")
        ids = list(service.agent.items)
        return {
            "object": "list",
            "total": len(ids),
            "data": [service.item(i) for i in ids[offset : offset + limit]],
        }

    @app.get("/v1/items/{item_id:path}/image")
    async def item_image(item_id: str, request: Request):
        auth(request)
        data = await run_in_threadpool(service.thumbnail, item_id)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/v1/items/{item_id:path}")
    def get_item(item_id: str, request: Request):
        auth(request)
        return service.item(item_id)

    @app.post("/v1/items")
    async def add_items(request: Request):
        auth(request)
        body = await service.json_body(request)
        rows = body.get("items") if isinstance(body, dict) else body
        return await run_in_threadpool(service.add_items, rows)

    @app.delete("/v1/items/{item_id:path}")
    async def delete_item(item_id: str, request: Request):
        auth(request)
        if item_id not in service.agent.items:
            raise APIError(404, f"item '{item_id[:256]}' is not in the catalogue", code="unknown_item")
        return await run_in_threadpool(service.delete_items, [item_id])

    @app.delete("/v1/items")
    async def delete_items(request: Request):
        auth(request)
        body = await service.json_body(request)
        return await run_in_threadpool(
            service.delete_items, body.get("ids") if isinstance(body, dict) else None
        )

    return app


def build_service(cfg, catalog_file: str | None = None, name: str | None = None, report=print) -> Service:
    """Load the agent for ``vlrec serve``: index ``catalog_file`` first when given (incremental),
    or the bundled sample when the configured catalogue is the demo's and not indexed yet."""
    from vlrec.agent.session import load_agent
    from vlrec.data.catalog import catalog_name, read_catalog
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.store import Store

    if catalog_file is None and cfg.agent.catalog == cfg.demo.name:
        catalog_file, name = cfg.demo.catalog, cfg.demo.name  # the bundled sample: indexed on first start
    if catalog_file is not None:
        name = name or catalog_name(catalog_file)
        embedder = load_embedder(cfg)
        summary = index_catalog(read_catalog(catalog_file), Store(cfg.store), name, embedder, rebuild=True)
        report(f"indexed {name}: {summary}")
        cfg.agent.catalog = name
    agent = load_agent(cfg)
    return Service(cfg.serve, agent)


def serve(cfg, catalog_file: str | None = None, name: str | None = None) -> None:
    import uvicorn

    from vlrec.core.runtime import apply_runtime

    apply_runtime(cfg.runtime)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = build_service(cfg, catalog_file, name)
    app = create_app(service)
    key = "on" if service.key else "off (set serve.api_key or VLREC_API_KEY)"
    print(
        f"vlrec serving '{service.agent.searcher.catalog}' ({len(service.agent.items)} items) on "
        f"http://{cfg.serve.host}:{cfg.serve.port}/  API key: {key}",
        flush=True,
    )
    uvicorn.run(app, host=cfg.serve.host, port=cfg.serve.port, log_level="info", access_log=True)
