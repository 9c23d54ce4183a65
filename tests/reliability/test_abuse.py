"""The server as an attacker meets it: every hostile request answers a clear 4xx error object,
nothing outside ``data:`` URLs is fetched, nobody without the key gets in, and it keeps serving.

``pytest tests/reliability/test_abuse.py -s`` prints the table that docs/benchmarks.md shows.
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter

import pytest

from tests.test_server import KEY, data_url, make_service

ROUTES = [
    ("GET", "/"), ("GET", "/v1/models"), ("GET", "/v1/models/vlrec"), ("POST", "/v1/chat/completions"),
    ("POST", "/v1/recommend"), ("GET", "/v1/items"), ("GET", "/v1/items/1"), ("GET", "/v1/items/1/image"),
    ("POST", "/v1/items"), ("DELETE", "/v1/items/1"), ("DELETE", "/v1/items"), ("GET", "/v1/sessions/x"),
    ("DELETE", "/v1/sessions/x"), ("GET", "/metrics"),
]  # fmt: skip
BAD_AUTH = {
    "no key": {},
    "wrong bearer": {"Authorization": "Bearer wrong"},
    "wrong basic": {"Authorization": "Basic " + base64.b64encode(b"user:wrong").decode()},
    "key without scheme": {"Authorization": KEY},
    "key prefix": {"Authorization": f"Bearer {KEY[:-1]}"},
}


def _png(size, colour=(10, 20, 30)) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _bomb() -> str:
    """A 20,000 × 20,000 PNG of a few kB: its header says 400 M pixels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _msg(content):
    return {"messages": [{"role": "user", "content": content}]}


def _img(url):
    return _msg([{"type": "text", "text": "like this"}, {"type": "image_url", "image_url": {"url": url}}])


def cases():
    """(kind, name, method, path, kwargs, expected status)."""
    out = []
    for label, headers in BAD_AUTH.items():
        for method, path in ROUTES:
            out.append(("auth", f"{label}: {method} {path}", method, path, {"headers": headers}, 401))
    chat = "/v1/chat/completions"
    body_cases = [
        ("not JSON", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("a JSON array", {"json": [1, 2]}, 400),
        ("messages is a string", {"json": {"messages": "hi"}}, 400),
        ("a message is a number", {"json": {"messages": [1]}}, 400),
        ("content is a number", {"json": _msg(5)}, 400),
        ("role is a number", {"json": {"messages": [{"role": 7, "content": "x"}]}}, 400),
        ("0 messages", {"json": {"messages": []}}, 400),
        ("10,000 messages", {"json": {"messages": [{"role": "user", "content": "hi"}] * 10_000}}, 400),
        ("50 MB body", {"content": b"{" + b" " * 50_000_000 + b"}", "headers": {"Content-Type": "application/json"}}, 413),
        ("1 MB of text", {"json": _msg("x" * 1_000_000)}, 400),
        ("session id unknown", {"json": {**_msg("hi"), "session_id": "no-such"}}, 404),
        ("session id of 10,000 characters", {"json": {**_msg("hi"), "session_id": "s" * 10_000}}, 404),
        ("session id a number", {"json": {**_msg("hi"), "session_id": 12345}}, 404),
        ("max_tokens -1", {"json": {**_msg("hi"), "max_tokens": -1}}, 400),
        ("n = 5", {"json": {**_msg("hi"), "n": 5}}, 400),
        ("temperature 9", {"json": {**_msg("hi"), "temperature": 9}}, 400),
    ]  # fmt: skip
    out += [("body", n, "POST", chat, kw, st) for n, kw, st in body_cases]
    image_cases = [
        ("file:// URL", _img("file:///etc/passwd"), 400),
        ("cloud metadata URL", _img("http://169.254.169.254/latest/meta-data/"), 400),
        ("localhost URL", _img("http://127.0.0.1:8000/v1/items"), 400),
        ("remote https URL", _img("https://example.com/photo.jpg"), 400),
        ("data: URL of HTML", _img("data:text/html;base64," + base64.b64encode(b"<script>x</script>").decode()), 400),
        ("not an image (text bytes)", _img("data:image/jpeg;base64," + base64.b64encode(b"hello" * 100).decode()), 400),
        ("bad base64", _img("data:image/png;base64,@@@@"), 400),
        ("decompression bomb 20,000 x 20,000", _img(_bomb()), 400),
        ("image over the byte limit", _img(data_url(size=(2000, 2000), fmt="BMP")), 413),
        ("two images in one message", _msg([{"type": "image_url", "image_url": {"url": _png((8, 8))}}] * 2), 400),
    ]  # fmt: skip
    out += [("image", n, "POST", chat, {"json": b}, st) for n, b, st in image_cases]
    for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/items/..%2F..%2Fetc%2Fpasswd/image",
                 "/web/../../../etc/passwd", "/v1/items/%2e%2e%2f%2e%2e%2fetc%2fpasswd"):  # fmt: skip
        out.append(("path", f"GET {path}", "GET", path, {}, 404))
    return out


@pytest.fixture
def hostile(shop, tmp_path):
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    service = make_service(shop, tmp_path, api_key=KEY, max_image_bytes=4_000_000, max_body_bytes=20_000_000)
    with TestClient(create_app(service), raise_server_exceptions=False) as c:
        yield c


def test_every_hostile_request_gets_a_clear_error_and_the_server_keeps_serving(hostile):
    auth = {"Authorization": f"Bearer {KEY}"}
    wrong, tried = [], Counter()
    for kind, name, method, path, kw, status in cases():
        headers = kw.get("headers", auth) if kind == "auth" else {**auth, **kw.get("headers", {})}
        r = hostile.request(method, path, **{**kw, "headers": headers})
        tried[kind] += 1
        body = r.content
        clear = r.status_code == status
        if clear and r.headers.get("content-type", "").startswith("application/json"):
            err = json.loads(body).get("error", {})
            clear = bool(err.get("message")) and err.get("type") and "Traceback" not in err["message"]
        if b"root:" in body or b"Traceback" in body:
            clear = False
        if not clear:
            wrong.append(f"{kind} / {name}: {r.status_code} {body[:200]!r}")
    ok = hostile.post("/v1/chat/completions", json=_msg("black tshirts for women"), headers=auth)
    assert ok.status_code == 200 and ok.json()["vlrec"]["items"]  # still serving
    print("\n| kind | tried | clear 4xx error |\n| --- | ---: | ---: |")
    for kind, n in tried.items():
        bad = sum(w.startswith(kind + " /") for w in wrong)
        print(f"| {kind} | {n} | {n - bad} |")
    assert not wrong, "\n".join(wrong)
