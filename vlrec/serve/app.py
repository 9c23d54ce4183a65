"""``vlrec serve``'s HTTP API: the FastAPI routes around one :class:`~vlrec.serve.service.Service`.

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
before decoding (400); images arrive only as ``data:`` URLs, so no path or URL from a
request is ever opened; errors are JSON ``{"error": {"message", "type", "code"}}`` and
never carry a stack trace; CORS is off unless ``serve.cors_origins`` lists origins.
One lock serialises model and store work (two CPU cores gain nothing from running
two turns at once); requests queue on it.
"""

import json
import logging
import re
import secrets
import time
from pathlib import Path

from vlrec.serve.messages import (
    MAX_TEXT,
    APIError,
    completion_options,
    decode_data_url,
    decode_turns,
    parse_messages,
    request_user,
)
from vlrec.serve.service import Service

log = logging.getLogger("vlrec.server")
WEB_DIR = Path(__file__).resolve().parent / "web"


def _chunks(text: str) -> list[str]:
    """The reply in word-sized pieces for streaming (whitespace kept: they join back exactly)."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


def _server_error(exc: BaseException, where: str) -> APIError:
    """What a client hears of an unexpected error: 503 when the catalogue store is unreachable
    (retry shortly; the server keeps running and recovers by itself), else a bare 500."""
    from vlrec.retrieval.store import unreachable

    if unreachable(exc):
        log.warning("the catalogue store is unreachable (%s): %s", where, exc)
        return APIError(
            503,
            "the catalogue store is unreachable; try again shortly",
            "server_error",
            code="store_unavailable",
        )
    log.exception("error serving %s", where, exc_info=exc)
    return APIError(500, "internal server error; the server log has the details", "server_error")


def create_app(service: Service):
    """The FastAPI application around one :class:`Service`."""
    from vlrec.core.extras import need

    need("fastapi", "serve", "vlrec serve")
    need("prometheus_client", "serve", "vlrec serve (/metrics)")
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from vlrec.core.version import __version__

    app = FastAPI(title="vlrec", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
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
        headers = None
        if exc.status == 401:  # the page asks the browser for the key (Basic); API clients use Bearer
            headers = {"WWW-Authenticate": 'Basic realm="vlrec"' if request.url.path == "/" else "Bearer"}
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
        return JSONResponse(APIError(400, msgs or "invalid request", code="bad_request").body(), 400)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        err = _server_error(exc, f"{request.method} {request.url.path}")
        return JSONResponse(
            err.body(), err.status, headers={"Retry-After": "5"} if err.status == 503 else None
        )

    def auth(request: Request) -> None:
        service.authorize(request.headers.get("authorization"))

    from vlrec.serve.metrics import instrument

    instrument(app, service, auth)  # GET /metrics, and every request counted and timed

    async def json_object(request: Request) -> dict:
        """The authorized request's body, which must be a JSON object."""
        auth(request)
        body = await service.json_body(request)
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object", code="bad_request")
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
    def index(request: Request):
        auth(request)  # with a key set, the browser asks for it (any user name, the key as password)
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

    @app.get("/v1/models/{model_id}")
    def model(model_id: str, request: Request):
        auth(request)
        if model_id != "vlrec":
            raise APIError(
                404,
                f"model '{model_id[:100]}' does not exist; this server has 'vlrec'",
                code="model_not_found",
            )
        return {"id": "vlrec", "object": "model", "created": int(service.started), "owned_by": "vlrec"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await json_object(request)
        opts = completion_options(body)  # 400 now for a parameter out of range or not supported
        sid = body.get("session_id") or request.headers.get("x-session-id") or None
        if sid is not None:
            service.require(sid)  # 404 now, before a stream starts
        turns = parse_messages(body.get("messages"), cfg.max_image_bytes, cfg.max_image_pixels)
        turns = turns[-1:] if sid else turns[-cfg.replay_turns :]
        turns = await run_in_threadpool(decode_turns, turns, cfg.max_image_bytes, cfg.max_image_pixels)
        user = request_user(body)
        model = str(body.get("model") or "vlrec")[:100]
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())

        def extra(sid_, reply) -> dict:
            out = service.extra(sid_, reply)
            if opts.ignored:  # said, not silently dropped
                out["ignored_parameters"] = opts.ignored
            return out

        prompts = [text for text, _ in turns]
        if not body.get("stream"):
            sid, reply = await run_in_threadpool(service.turn, sid, turns, None, user)
            text, finish = service.tokens.shape(reply.text, opts)
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": service.tokens.usage(prompts, text),
                    "vlrec": extra(sid, reply),
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
            except Exception as exc:
                yield f"data: {json.dumps(_server_error(exc, 'a streamed turn').body())}\n\n"
                yield "data: [DONE]\n\n"
                return
            text, finish = service.tokens.shape(reply.text, opts)
            for piece in _chunks(text):
                yield chunk({"content": piece})
            yield chunk({}, finish, vlrec=extra(new_sid, reply))
            if opts.include_usage:  # as OpenAI: one more chunk, no choices, the usage
                yield chunk({}, choices=[], usage=service.tokens.usage(prompts, text))
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
            raise APIError(400, "'text' must be a string", code="bad_request")
        if len(text) > MAX_TEXT:
            raise APIError(400, f"text of {len(text)} characters; the limit is {MAX_TEXT}", code="too_long")
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50):
            raise APIError(400, "'k' must be an integer in [1, 50]", code="bad_request")
        if not text.strip() and image in (None, ""):
            raise APIError(400, "give 'text', 'image' (a data: URL), or both", code="bad_request")
        sid = body.get("session_id")
        if sid is not None:
            service.require(sid)
        pil = None
        if image not in (None, ""):
            pil = (
                await run_in_threadpool(
                    decode_data_url, image, "image", cfg.max_image_bytes, cfg.max_image_pixels
                )
            )[0]
        sid, reply = await run_in_threadpool(service.turn, sid, [(text, pil)], k, request_user(body))
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
                    {"role": t.role, "text": t.said or t.text, "image": t.image is not None, "items": t.items}
                    | ({"read": t.text} if t.said else {})
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
            raise APIError(400, "limit must be in [1, 1000] and offset >= 0", code="bad_request")
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
