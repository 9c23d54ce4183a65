"""What a request says, read safely: OpenAI-style chat messages, data-URL images, errors.

:class:`APIError` is the one error the API answers with (an HTTP status and an OpenAI-style
``{"error": {"message", "type", "code"}}`` body). The functions here turn request fields
into plain values and refuse anything else with an :class:`APIError`: :func:`request_user`
checks the ``user`` field, :func:`decode_data_url` turns a ``data:image/...;base64,`` URL
into a PIL image within the byte and pixel limits (nothing but data URLs is ever opened),
:func:`parse_messages` takes the user turns out of a ``messages`` list (text and at most one
image each, text up to :data:`MAX_TEXT` characters), and :func:`decode_turns` decodes their
images. No HTTP framework is imported here.
"""

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 2000
MAX_MESSAGES = 1000
"""Messages in one request (a stateless client resends its history; only the last few are played)."""
_DATA_URL = re.compile(r"^data:(image/[A-Za-z0-9.+-]+)?((?:;[^,;]*)*?);base64,", re.I)


class APIError(Exception):
    """An error answered as ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str = ""):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code or None}}


def request_user(body: dict) -> str | None:
    """The request's ``user`` (OpenAI's end-user id): when it names a user of the history data
    and the server loaded profiles (``agent.profiles``), that user's taste ranks the items."""
    user = body.get("user")
    if user is None:
        return None
    if not isinstance(user, str) or not 0 < len(user) <= 256:
        raise APIError(400, "'user' must be a string of 1 to 256 characters", code="bad_request")
    return user


def decode_data_url(url: Any, label: str, max_bytes: int, max_pixels: int):
    """A ``data:image/...;base64,`` URL -> (PIL image, raw bytes). Nothing else is accepted."""
    from vlrec.core.images import ImageError, load_image

    if not isinstance(url, str) or not url:
        raise APIError(400, f"{label}: an image must be a data: URL string", code="bad_image")
    match = _DATA_URL.match(url[:300])
    if match is None:
        what = "a data: URL without base64" if url[:5].lower() == "data:" else "not a data: URL"
        raise APIError(
            400,
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
        raise APIError(400, f"{label}: the base64 data is not valid", code="bad_image") from None
    if len(data) > max_bytes:
        raise APIError(
            413, f"{label}: image of {len(data)} bytes; the limit is {max_bytes}", code="too_large"
        )
    try:
        image = load_image(data, name=label, max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageError as exc:
        raise APIError(400, str(exc), code="bad_image") from None
    return image, data


def parse_messages(messages: Any, max_bytes: int, max_pixels: int) -> list[tuple[str, Any]]:
    """The user turns of an OpenAI ``messages`` list: [(text, PIL image or None)]."""
    if not isinstance(messages, list) or not messages:
        raise APIError(400, "'messages' must be a non-empty list", code="bad_messages")
    if len(messages) > MAX_MESSAGES:
        raise APIError(
            400,
            f"{len(messages)} messages; at most {MAX_MESSAGES} (only the last few are replayed)",
            code="too_long",
        )
    turns = []
    for n, msg in enumerate(messages):
        where = f"messages[{n}]"
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise APIError(400, f"{where}: each message needs a 'role' and 'content'", code="bad_messages")
        role, content = msg["role"], msg.get("content")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise APIError(400, f"{where}: unknown role '{role[:40]}'", code="bad_messages")
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
                        400, f"{where}.content[{p}]: parts must be text or image_url", code="bad_messages"
                    )
        else:
            raise APIError(400, f"{where}: content must be a string or a list of parts", code="bad_messages")
        if len(images) > 1:
            raise APIError(400, f"{where}: at most one image per message", code="bad_messages")
        text = " ".join(t.strip() for t in texts if t.strip())
        if len(text) > MAX_TEXT:
            raise APIError(
                400, f"{where}: text of {len(text)} characters; the limit is {MAX_TEXT}", code="too_long"
            )
        turns.append((text, images[0] if images else None))
    if messages[-1].get("role") != "user":
        raise APIError(400, "the last message must be the user's", code="bad_messages")
    if not turns[-1][0] and turns[-1][1] is None:
        raise APIError(400, "the last user message is empty", code="bad_messages")
    return turns


def decode_turns(turns, max_bytes: int, max_pixels: int) -> list[tuple[str, Any]]:
    out = []
    for text, image in turns:
        out.append(
            (text, None if image is None else decode_data_url(image[1], image[0], max_bytes, max_pixels)[0])
        )
    return out


# --- completion parameters -------------------------------------------------------------------

NO_EFFECT = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty", "logit_bias")
"""Accepted, checked, and reported back in ``vlrec.ignored_parameters``: replies are assembled from
catalogue records, not sampled, so these cannot change them."""
UNSUPPORTED = ("tools", "tool_choice", "functions", "function_call", "logprobs", "top_logprobs", "audio")


@dataclass
class CompletionOptions:
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    include_usage: bool = False
    """``stream_options.include_usage``: the last chunk carries ``usage``."""
    ignored: list[str] = field(default_factory=list)


def _number(body: dict, key: str, lo: float, hi: float) -> None:
    v = body.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi):
        raise APIError(400, f"'{key}' must be a number in [{lo:g}, {hi:g}]", code="invalid_value")


def completion_options(body: dict) -> CompletionOptions:
    """The OpenAI sampling and output parameters of a chat request: honoured (``max_tokens``,
    ``stop``, ``n`` = 1, ``stream_options``), reported as having no effect (:data:`NO_EFFECT`), or
    refused with a 400 naming the parameter (out of range, or :data:`UNSUPPORTED`)."""
    for key in UNSUPPORTED:
        if body.get(key) not in (None, False, [], {}):
            raise APIError(400, f"'{key}' is not supported by vlrec", code="unsupported_parameter")
    fmt = body.get("response_format")
    if fmt not in (None, {"type": "text"}):
        raise APIError(
            400, "'response_format' other than text is not supported by vlrec", code="unsupported_parameter"
        )
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise APIError(
            400, "'n' must be 1: vlrec gives one grounded reply per turn", code="unsupported_parameter"
        )
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise APIError(400, "'seed' must be an integer", code="invalid_value")
    if body.get("logit_bias") is not None and not isinstance(body["logit_bias"], dict):
        raise APIError(400, "'logit_bias' must be an object", code="invalid_value")
    opts = CompletionOptions(ignored=[k for k in NO_EFFECT if body.get(k) is not None])
    for key in ("max_tokens", "max_completion_tokens"):
        v = body.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
            raise APIError(400, f"'{key}' must be an integer in [1, 1000000]", code="invalid_value")
        opts.max_tokens = v if opts.max_tokens is None else min(opts.max_tokens, v)
    stop = body.get("stop")
    if stop is not None:
        stop = [stop] if isinstance(stop, str) else stop
        if (
            not isinstance(stop, list)
            or not 1 <= len(stop) <= 4
            or not all(isinstance(s, str) and 1 <= len(s) <= 256 for s in stop)
        ):
            raise APIError(
                400, "'stop' must be a string or a list of 1 to 4 non-empty strings", code="invalid_value"
            )
        opts.stop = stop
    so = body.get("stream_options")
    if so is not None:
        if not isinstance(so, dict) or not isinstance(so.get("include_usage", False), bool):
            raise APIError(
                400, "'stream_options' must be an object like {\"include_usage\": true}", code="invalid_value"
            )
        opts.include_usage = so.get("include_usage", False)
    return opts
