"""``vlrec serve``: the OpenAI-compatible API, items API, security limits (tiny embedder, fake VLM).

With VLREC_TEST_CHROMA_URL set (CI's second run), the catalogue lives on a Chroma server.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import INJECTION, FakeVLM

KEY = "test-key-1234"


def data_url(path=None, size=(64, 64), fmt="PNG", colour=(200, 30, 30)) -> str:
    from PIL import Image

    if path is not None:
        raw = open(path, "rb").read()
        return "data:image/jpeg;base64," + base64.b64encode(raw).decode()
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def make_service(shop, tmp_path, vlm=None, **serve_kw):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.serve.config import ServeConfig
    from vlrec.serve.service import Service

    searcher, _, _ = shop
    agent = Agent(AgentConfig(k=3, candidates=24), searcher, vlm if vlm is not None else FakeVLM())
    return Service(ServeConfig(**serve_kw), agent, uploads=tmp_path / "uploads")


@pytest.fixture
def client(shop, tmp_path):
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    service = make_service(shop, tmp_path, max_image_pixels=1_000_000, max_body_bytes=2_000_000)
    with TestClient(create_app(service), raise_server_exceptions=False) as c:
        c.service = service
        yield c


def chat(client, content, session_id=None, stream=False, **kw):
    body = {"model": "vlrec", "messages": [{"role": "user", "content": content}], "stream": stream, **kw}
    if session_id:
        body["session_id"] = session_id
    return client.post("/v1/chat/completions", json=body)


def sse(resp) -> list[dict]:
    events = [line[6:] for line in resp.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_healthz_and_page(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["items"] == 48 and h["vlm"] is True
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/v1/chat/completions" in page.text


def test_chat_completion_returns_catalogue_items_and_keeps_the_session(client, shop):
    _, rows, _ = shop
    r = chat(client, "casual shoes for men")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    extra = body["vlrec"]
    items = extra["items"]
    assert len(items) == 3
    for it in items:
        row = rows[it["id"]]
        assert (row["articleType"], row["gender"]) == ("Casual Shoes", "Men")
        assert it["title"] == row["title"] and it["title"] in body["choices"][0]["message"]["content"]
        assert it["image_url"] == f"/v1/items/{it['id']}/image"
        assert "vlrec_hash" not in it["metadata"] and "vlrec_image" not in it["metadata"]
    sid = extra["session_id"]
    assert r.headers["x-session-id"] == sid
    r2 = chat(client, "in white", session_id=sid).json()
    ids2 = [it["id"] for it in r2["vlrec"]["items"]]
    assert ids2 and all(rows[i]["baseColour"] == "White" and rows[i]["gender"] == "Men" for i in ids2)
    assert not set(ids2) & {it["id"] for it in items}  # never shown twice
    state = client.get(f"/v1/sessions/{sid}").json()
    assert state["constraints"]["baseColour"] == "White" and len(state["turns"]) == 4
    # the header works as well as the body field
    r3 = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "for women instead"}]},
        headers={"X-Session-Id": sid},
    ).json()
    assert all(rows[it["id"]]["gender"] == "Women" for it in r3["vlrec"]["items"])
    assert client.delete(f"/v1/sessions/{sid}").status_code == 200
    assert chat(client, "more", session_id=sid).status_code == 404


def test_stateless_history_is_replayed_into_a_new_session(client, shop):
    _, rows, _ = shop
    messages = [
        {"role": "system", "content": "You are a shop assistant."},
        {"role": "user", "content": "tshirts"},
        {"role": "assistant", "content": "Here are some tshirts."},
        {"role": "user", "content": "in black for women"},
    ]
    body = client.post("/v1/chat/completions", json={"model": "x", "messages": messages}).json()
    ids = [it["id"] for it in body["vlrec"]["items"]]
    assert ids and all(
        (rows[i]["articleType"], rows[i]["baseColour"], rows[i]["gender"]) == ("Tshirts", "Black", "Women")
        for i in ids
    )


def test_streaming_sends_the_same_reply_as_chunks_then_the_items(client, shop):
    plain = chat(client, "black handbags").json()
    with client.stream(
        "POST",
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "black handbags"}], "stream": True},
    ) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        resp.read()
    chunks = sse(resp)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert len(chunks) > 5  # word-sized pieces, not one blob
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert [i["id"] for i in last["vlrec"]["items"]] == [i["id"] for i in plain["vlrec"]["items"]]


def test_photo_parts_reach_the_vlm_and_a_question_is_answered(client, shop):
    _, rows, tmp = shop
    photo = data_url(tmp / "images" / "30.jpg")
    r = chat(
        client,
        [{"type": "text", "text": "something like this"}, {"type": "image_url", "image_url": {"url": photo}}],
    )
    assert r.status_code == 200, r.text
    extra = r.json()["vlrec"]
    assert extra["image_description"] == FakeVLM().description
    # FakeVLM says "White Tshirts for Women": the photo's attributes rank first
    assert rows[extra["items"][0]["id"]]["articleType"] == "Tshirts"
    q = chat(
        client,
        [{"type": "text", "text": "what colour is it?"}, {"type": "image_url", "image_url": {"url": photo}}],
    )
    assert q.json()["vlrec"]["answer"] == "White"
    assert q.json()["choices"][0]["message"]["content"].startswith("White")


def test_recommend_endpoint(client, shop):
    _, rows, tmp = shop
    r = client.post("/v1/recommend", json={"text": "black tshirts", "k": 5})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 5 and all(rows[i["id"]]["baseColour"] == "Black" for i in items)
    r = client.post("/v1/recommend", json={"image": data_url(tmp / "images" / "3.jpg")})
    assert r.status_code == 200 and r.json()["items"]
    assert client.post("/v1/recommend", json={}).status_code == 400
    assert client.post("/v1/recommend", json={"text": "x", "k": 500}).status_code == 400


def _error(resp, status):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["message"] and "Traceback" not in resp.text
    return err["message"]


def test_bad_requests_get_clear_errors(client):
    assert "data:" in _error(
        chat(client, [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]), 400
    )
    assert "data:" in _error(chat(client, [{"type": "image_url", "image_url": {"url": "/etc/passwd"}}]), 400)
    assert "data:" in _error(
        chat(client, [{"type": "image_url", "image_url": {"url": "http://example.com/a.jpg"}}]), 400
    )
    msg = _error(
        chat(client, [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!notbase64"}}]), 400
    )
    assert "base64" in msg and "messages[0].content[0]" in msg
    junk = "data:image/png;base64," + base64.b64encode(b"this is not an image at all").decode()
    assert "not a recognised image" in _error(
        chat(client, [{"type": "image_url", "image_url": {"url": junk}}]), 400
    )
    # a decompression bomb: 4000 x 4000 px of one colour compresses to a few KB
    bomb = data_url(size=(4000, 4000))
    assert len(bomb) < 200_000
    assert "pixels" in _error(chat(client, [{"type": "image_url", "image_url": {"url": bomb}}]), 400)
    assert "limit" in _error(chat(client, "x" * 2001), 400)
    two = [{"type": "image_url", "image_url": {"url": data_url()}}] * 2
    assert "one image" in _error(chat(client, two), 400)
    assert _error(
        client.post(
            "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
    )
    assert _error(client.post("/v1/chat/completions", json={"messages": []}), 400)
    assert _error(
        client.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}), 400
    )
    assert "unknown" in _error(chat(client, "hi", session_id="no-such-session"), 404)
    assert _error(client.get("/v1/items/no-such-item"), 404)
    assert _error(client.get("/v1/nothing-here"), 404)


def test_size_limits_answer_413(client):
    big = "data:image/png;base64," + "A" * 2_100_000
    assert "limit" in _error(chat(client, [{"type": "image_url", "image_url": {"url": big}}]), 413)

    # a chunked body (no content-length) is counted as it arrives
    def gen():
        for _ in range(40):
            yield b" " * 100_000

    assert _error(
        client.post("/v1/chat/completions", content=gen(), headers={"content-type": "application/json"}), 413
    )


def test_image_byte_limit(shop, tmp_path):
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    with TestClient(create_app(make_service(shop, tmp_path, max_image_bytes=10_000))) as c:
        noisy = data_url(size=(300, 300), fmt="BMP")  # 270 KB
        assert "limit is 10000" in _error(chat(c, [{"type": "image_url", "image_url": {"url": noisy}}]), 413)


def test_internal_errors_never_leak_details(client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret detail at /srv/internal/path")

    monkeypatch.setattr(client.service.agent, "respond", boom)
    r = chat(client, "tshirts")
    msg = _error(r, 500)
    assert "secret" not in r.text and "/srv" not in r.text and "internal server error" in msg
    with client.stream(
        "POST", "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "stream": True}
    ) as s:
        s.read()
    assert "secret" not in s.text and "server_error" in s.text


def test_api_key_and_cors(shop, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    with TestClient(create_app(make_service(shop, tmp_path, api_key=KEY))) as c:
        assert c.get("/healthz").status_code == 200  # health stays open
        page = c.get("/")  # the page asks the browser for the key
        assert page.status_code == 401 and page.headers["www-authenticate"] == 'Basic realm="vlrec"'
        assert c.get("/", auth=("shopper", KEY)).status_code == 200
        assert c.get("/", auth=("shopper", "wrong")).status_code == 401
        assert c.get("/v1/items", auth=("any", KEY)).status_code == 200  # what the browser then sends
        assert _error(c.get("/v1/items", headers={"Authorization": "Basic !!notbase64"}), 401)
        r = chat(c, "tshirts")
        assert "API key" in _error(r, 401) and r.headers["www-authenticate"] == "Bearer"
        assert _error(c.get("/v1/items", headers={"Authorization": "Bearer wrong"}), 401)
        assert _error(c.get("/v1/items", headers={"Authorization": KEY}), 401)  # scheme required
        ok = c.get("/v1/items", headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200 and ok.json()["total"] == 48
        # CORS is off: no allow-origin header for a browser from elsewhere
        pre = c.options(
            "/v1/items", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in pre.headers
    monkeypatch.setenv("VLREC_API_KEY", "from-env")
    with TestClient(create_app(make_service(shop, tmp_path, cors_origins=["https://shop.example"]))) as c:
        assert c.get("/v1/items").status_code == 401
        assert c.get("/v1/items", headers={"Authorization": "Bearer from-env"}).status_code == 200
        pre = c.options(
            "/v1/items", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
        )
        assert pre.headers["access-control-allow-origin"] == "https://shop.example"
        pre = c.options(
            "/v1/items", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in pre.headers


def test_items_api_adds_finds_updates_and_deletes(client, shop):
    _, rows, tmp = shop
    listing = client.get("/v1/items", params={"limit": 10, "offset": 40}).json()
    assert listing["total"] == 48 and len(listing["data"]) == 8
    assert client.get("/v1/items", params={"limit": 0}).status_code == 400
    one = client.get("/v1/items/105").json()
    assert one["title"] == INJECTION and one["metadata"]["articleType"] == rows["105"]["articleType"]

    photo = data_url(tmp / "images" / "7.jpg")
    new = {"id": "900", "title": "Zebra striped Raincoat", "articleType": "Raincoats", "baseColour": "Yellow",
           "gender": "Women", "usage": "Casual", "price": 55, "image": photo}  # fmt: skip
    bad = [
        {"id": "901", "title": "Path image", "image": "images/1.jpg"},  # a path: never opened
        {"id": "902", "title": "Broken", "image": "data:image/png;base64,AAAA"},
        {"id": "903"},  # no title
        "not an object",
    ]
    r = client.post("/v1/items", json={"items": [new, *bad]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["added"] == 1 and out["updated"] == 0
    reasons = {f["id"]: f["reason"] for f in out["failed"]}
    assert "data:" in reasons["901"] and "902" in reasons and "title" in reasons["903"] and None in reasons
    assert client.get("/v1/items").json()["total"] == 49
    thumb = client.get("/v1/items/900/image")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    from PIL import Image

    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256
    # the new item is found by the agent, with its new type in the vocabulary
    found = chat(client, "a yellow raincoat").json()["vlrec"]["items"]
    assert found[0]["id"] == "900" and found[0]["image_url"] == "/v1/items/900/image", found
    again = client.post("/v1/items", json={"items": [new]}).json()
    assert again["unchanged"] == 1 and again["added"] == 0
    changed = client.post("/v1/items", json={"items": [{**new, "price": 45}]}).json()
    assert changed["updated"] == 1
    assert client.get("/v1/items/900").json()["metadata"]["price"] == 45

    assert client.delete("/v1/items/900").json() == {"deleted": ["900"], "unknown": []}
    assert client.get("/v1/items/900").status_code == 404
    assert client.delete("/v1/items/900").status_code == 404
    assert "900" not in {i["id"] for i in chat(client, "a yellow raincoat").json()["vlrec"]["items"]}
    r = client.request("DELETE", "/v1/items", json={"ids": ["nope"]})
    assert r.json() == {"deleted": [], "unknown": ["nope"]}
    assert client.request("DELETE", "/v1/items", json={"ids": "900"}).status_code == 400


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(shop, tmp_path):
    """The app on a real socket (uvicorn in a thread): for the openai client and the browser."""
    import uvicorn

    from vlrec.serve.app import create_app

    service = make_service(shop, tmp_path, api_key=KEY)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", service
    server.should_exit = True
    thread.join(10)


def test_the_official_openai_client_works(live_server, shop):
    import openai

    _, rows, tmp = shop
    url, _ = live_server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    resp = client.chat.completions.create(
        model="vlrec",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "casual shoes like this, for women"},
            {"type": "image_url", "image_url": {"url": data_url(tmp / "images" / "2.jpg")}},
        ]}],
    )  # fmt: skip
    extra = resp.model_extra["vlrec"]
    assert resp.choices[0].message.content and extra["items"]
    assert all(rows[i["id"]]["gender"] == "Women" for i in extra["items"])
    sid = extra["session_id"]
    stream = client.chat.completions.create(
        model="vlrec",
        messages=[{"role": "user", "content": "in black"}],
        stream=True,
        extra_body={"session_id": sid},
    )
    text, last = "", None
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            text += event.choices[0].delta.content
        last = event
    items = last.model_extra["vlrec"]["items"]
    assert items and all(i["title"] in text for i in items)
    assert all((rows[i["id"]]["gender"], rows[i["id"]]["baseColour"]) == ("Women", "Black") for i in items)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).chat.completions.create(
            model="vlrec", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="vlrec",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}],
                }
            ],
        )


def test_uploaded_files_stay_in_the_uploads_folder(client, shop, tmp_path):
    """Item images sent to the API are stored by content hash, never under a client-chosen name."""
    _, _, tmp = shop
    photo = data_url(tmp / "images" / "9.jpg")
    out = client.post(
        "/v1/items", json={"items": [{"id": "../../evil", "title": "Odd id", "image": photo}]}
    ).json()
    assert out["added"] == 1
    files = list((tmp_path / "uploads").iterdir())
    assert len(files) == 1 and files[0].suffix == ".img" and ".." not in files[0].name
    assert client.get("/v1/items/..%2F..%2Fevil").json()["title"] == "Odd id"
    client.delete("/v1/items/..%2F..%2Fevil")


CHROMIUM = "/usr/bin/chromium"


def test_web_page_in_headless_chromium(live_server, shop, tmp_path):
    """Upload a photo (button) and send; then drop a photo and send; cards appear; screenshot."""
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("VLREC_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (Debian package chromium); .ci/run installs it")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    url, service = live_server
    _, rows, tmp = shop
    shots = Path(os.environ.get("VLREC_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        try:
            # the browser's own login prompt for the page (any user name, the key as password)
            ctx = browser.new_context(
                viewport={"width": 1100, "height": 900},
                http_credentials={"username": "shopper", "password": KEY},
            )
            page = ctx.new_page()
            page.on("dialog", lambda d: d.accept(KEY))  # the page's own prompt, if an API call is refused
            page.goto(url + "/")
            page.set_input_files("#file", str(tmp / "images" / "30.jpg"))
            page.wait_for_selector("#preview img[src^='data:image']")
            page.fill("#text", "something like this, for women")
            page.click("#send")
            page.wait_for_selector(".msg.assistant .card", timeout=30_000)
            cards = page.locator(".msg.assistant").last.locator(".card")
            ids = [cards.nth(i).get_attribute("data-id") for i in range(cards.count())]
            assert len(ids) == 3 and all(rows[i]["gender"] == "Women" for i in ids)
            titles = cards.locator(".title").all_inner_texts()
            assert titles == [rows[i]["title"] for i in ids]
            page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete)")
            widths = page.eval_on_selector_all(".card img", "imgs => imgs.map(i => i.naturalWidth)")
            assert widths and all(w > 0 for w in widths)  # thumbnails load behind the key too
            reply = page.locator(".msg.assistant .bubble").last.inner_text()
            assert all(t in reply for t in titles)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
            )
            assert page.locator(".msg.user img.sent").count() == 1

            # drag and drop a photo onto the page, then refine in words
            data = base64.b64encode((tmp / "images" / "40.jpg").read_bytes()).decode()
            page.evaluate(
                """(b64) => {
                    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                    const dt = new DataTransfer();
                    dt.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
                    document.getElementById("log").dispatchEvent(
                        new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
                }""",
                data,
            )
            page.wait_for_selector("#preview .name:text('dropped.jpg')")
            page.fill("#text", "in black")
            page.click("#send")
            page.wait_for_function("() => document.querySelectorAll('.msg.assistant .cards').length === 2")
            second = page.locator(".msg.assistant").last.locator(".card")
            ids2 = [second.nth(i).get_attribute("data-id") for i in range(second.count())]
            assert ids2 and all(
                (rows[i]["gender"], rows[i]["baseColour"]) == ("Women", "Black") for i in ids2
            )
            assert len(service.sessions) == 1  # both turns in one server-side session
            shot = shots / "web-chat.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()


class ColourVLM(FakeVLM):
    """Describes a photo by its top-left pixel, slowly, recording batch sizes."""

    def __init__(self):
        super().__init__()
        self.batches: list[int] = []

    def ask(self, images, questions, **kw):
        self.batches.append(len(images))
        time.sleep(0.3)
        return [("Black" if img.getpixel((0, 0))[0] < 128 else "White") + " Tshirts" for img in images]


def test_concurrent_photo_descriptions_are_batched_and_each_gets_its_own(shop, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    vlm = ColourVLM()
    with TestClient(create_app(make_service(shop, tmp_path, vlm=vlm))) as c:
        colours = [(0, 0, 0), (255, 255, 255)] * 3

        def turn(colour):
            part = {"type": "image_url", "image_url": {"url": data_url(colour=colour)}}
            return chat(c, [{"type": "text", "text": "like this"}, part]).json()["vlrec"]["image_description"]

        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(turn, colours))
    assert got == ["Black Tshirts" if c[0] == 0 else "White Tshirts" for c in colours]
    assert sum(vlm.batches) == 6 and max(vlm.batches) > 1


# --- conversations outside the process ------------------------------------------------


REDIS = shutil.which("redis-server")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real redis-server (Debian's package; .ci/run installs it) on a free port."""
    import subprocess

    if REDIS is None:
        if os.environ.get("VLREC_REQUIRE_REDIS"):
            pytest.fail("redis-server is missing (Debian package redis-server); .ci/run installs it")
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([REDIS, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def store_kw(request, tmp_path):
    """Serve config of a session store shared by workers: one SQLite file, or one Redis server."""
    if request.param == "redis":
        return {"session_store": "redis", "session_url": request.getfixturevalue("redis_url")}
    return {"session_db": str(tmp_path / "sessions.sqlite3")}


def _two_workers(shop, tmp_path, store=None, **kw):
    """Two services (as two worker processes, or replicas, would be) on one session store."""
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    store = store or {"session_db": str(tmp_path / "sessions.sqlite3")}
    return [
        TestClient(create_app(make_service(shop, tmp_path, **store, **kw)), raise_server_exceptions=False)
        for _ in range(2)
    ]


def test_session_state_round_trips_with_a_photo(shop, tmp_path):
    from PIL import Image

    from vlrec.agent.state import Session

    service = make_service(shop, tmp_path)
    _, session = service.session(None)
    session.send("casual shoes for men")
    session.send("something like this", image=Image.new("RGB", (40, 30), (10, 200, 30)))
    state = json.loads(json.dumps(session.state()))  # plain JSON
    again = Session.from_state(service.agent, state)
    assert again.state() == state
    assert again.image.size == (40, 30) and again.image.getpixel((5, 5)) == (10, 200, 30)
    a, b = session.send("in white"), again.send("in white")
    assert [r.id for r in a.items] == [r.id for r in b.items] and a.text == b.text
    with pytest.raises(ValueError, match="version"):
        Session.from_state(service.agent, {**state, "v": 99})


def test_two_workers_answer_alternate_turns_of_one_conversation(shop, tmp_path, store_kw):
    _, rows, _ = shop
    a, b = _two_workers(shop, tmp_path, store_kw)
    first = chat(a, "casual shoes for men").json()["vlrec"]
    sid = first["session_id"]
    second = chat(b, "in white", session_id=sid).json()["vlrec"]  # the other worker
    ids = [it["id"] for it in second["items"]]
    assert ids and all((rows[i]["baseColour"], rows[i]["gender"]) == ("White", "Men") for i in ids)
    assert not set(ids) & {it["id"] for it in first["items"]}  # it knows what the first worker showed
    third = chat(a, "for women instead", session_id=sid).json()["vlrec"]
    assert all(rows[it["id"]]["gender"] == "Women" for it in third["items"])
    for c in (a, b):
        state = c.get(f"/v1/sessions/{sid}").json()
        assert len(state["turns"]) == 6 and state["constraints"]["baseColour"] == "White"
    assert b.delete(f"/v1/sessions/{sid}").status_code == 200
    assert chat(a, "more", session_id=sid).status_code == 404  # gone for both


def test_a_restarted_server_continues_its_conversations(shop, tmp_path, store_kw):
    _, rows, _ = shop
    a, _ = _two_workers(shop, tmp_path, store_kw)
    sid = chat(a, "casual shoes for men").json()["vlrec"]["session_id"]
    del a  # nothing is flushed on the way out: each turn was committed before its reply
    restarted, _ = _two_workers(shop, tmp_path, store_kw)
    r = chat(restarted, "in white", session_id=sid)
    assert r.status_code == 200, r.text
    ids = [it["id"] for it in r.json()["vlrec"]["items"]]
    assert ids and all((rows[i]["baseColour"], rows[i]["gender"]) == ("White", "Men") for i in ids)


def test_a_turn_from_a_stale_copy_is_refused_not_merged(shop, tmp_path, store_kw):
    from vlrec.serve.messages import APIError

    a, b = _two_workers(shop, tmp_path, store_kw)
    sid = chat(a, "casual shoes for men").json()["vlrec"]["session_id"]
    svc_a, svc_b = a.app.state.service, b.app.state.service
    _, copy_a = svc_a.session(sid)
    _, copy_b = svc_b.session(sid)
    copy_a.send("in white")
    svc_a.sessions.put(sid, copy_a)
    copy_b.send("in black")
    with pytest.raises(APIError) as err:
        svc_b.sessions.put(sid, copy_b)  # started from the version before copy_a's turn
    assert err.value.status == 409
    assert svc_b.session(sid)[1].constraints["baseColour"] == "White"


def test_sessions_expire_and_are_capped(shop, tmp_path, store_kw):
    a, _ = _two_workers(shop, tmp_path, store_kw, sessions=2)
    sids = [chat(a, f"casual shoes {n}").json()["vlrec"]["session_id"] for n in range(3)]
    assert chat(a, "more", session_id=sids[0]).status_code == 404  # the least recently used went
    assert chat(a, "more", session_id=sids[2]).status_code == 200
    assert len(a.app.state.service.sessions) == 2
    short, _ = _two_workers(shop, tmp_path / "short", store_kw, session_ttl_s=1)
    sid = chat(short, "casual shoes").json()["vlrec"]["session_id"]
    time.sleep(2.2)
    assert chat(short, "more", session_id=sid).status_code == 404


def test_a_photo_is_stored_once_and_dropped_with_its_conversations(shop, tmp_path):
    a, b = _two_workers(shop, tmp_path)
    photo = data_url(size=(80, 60), colour=(250, 250, 250))
    sids = [
        chat(a, [{"type": "image_url", "image_url": {"url": photo}}]).json()["vlrec"]["session_id"]
        for _ in "ab"
    ]
    db = a.app.state.service.sessions.db
    assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 1  # same photo, one row
    assert chat(b, "in black", session_id=sids[0]).status_code == 200  # the other worker reads it back
    state = json.loads(db.execute("SELECT state FROM sessions WHERE id = ?", (sids[0],)).fetchone()[0])
    assert set(state["image"]) == {"png_sha"}  # the row holds the reference, not the pixels
    for sid in sids:
        assert a.delete(f"/v1/sessions/{sid}").status_code == 200
    assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


# --- OpenAI parameters ------------------------------------------------------------------


def test_sampling_parameters_are_honoured_reported_or_refused(client):
    plain = chat(client, "casual shoes for men").json()
    assert plain["choices"][0]["finish_reason"] == "stop"
    usage = plain["usage"]
    assert usage["prompt_tokens"] == 4 and usage["completion_tokens"] > 10  # counted, not zeros
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert "ignored_parameters" not in plain["vlrec"]

    short = chat(client, "casual shoes for men", max_tokens=4).json()
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == 4
    assert plain["choices"][0]["message"]["content"].startswith(short["choices"][0]["message"]["content"])
    assert short["vlrec"]["items"]  # the structured items are whole

    full = plain["choices"][0]["message"]["content"]
    word = full.split()[3]
    cut = chat(client, "casual shoes for men", stop=[word, "zzz-never"]).json()["choices"][0]
    assert cut["message"]["content"] == full[: full.index(word)] and cut["finish_reason"] == "stop"

    sampled = chat(client, "casual shoes for men", temperature=0.7, top_p=0.9, seed=3, n=1).json()
    assert sampled["vlrec"]["ignored_parameters"] == ["temperature", "top_p", "seed"]

    for bad, code in [
        ({"n": 2}, "unsupported_parameter"), ({"temperature": 3}, "invalid_value"),
        ({"temperature": "hot"}, "invalid_value"), ({"top_p": -0.1}, "invalid_value"),
        ({"max_tokens": 0}, "invalid_value"), ({"max_tokens": 2.5}, "invalid_value"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "invalid_value"), ({"stop": [""]}, "invalid_value"),
        ({"seed": "x"}, "invalid_value"), ({"tools": [{"type": "function"}]}, "unsupported_parameter"),
        ({"logprobs": True}, "unsupported_parameter"),
        ({"response_format": {"type": "json_object"}}, "unsupported_parameter"),
        ({"stream_options": {"include_usage": "yes"}}, "invalid_value"),
    ]:  # fmt: skip
        r = chat(client, "casual shoes for men", **bad)
        assert r.status_code == 400, (bad, r.text)
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error" and err["code"] == code
        assert next(iter(bad)) in err["message"]


def test_streaming_usage_chunk_and_the_model_route(client):
    with client.stream(
        "POST", "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "black handbags"}], "stream": True,
              "stream_options": {"include_usage": True}},
    ) as r:  # fmt: skip
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0
    assert events[-2]["choices"][0]["finish_reason"] == "stop" and "vlrec" in events[-2]
    assert client.get("/v1/models/vlrec").json()["id"] == "vlrec"
    r = client.get("/v1/models/gpt-4")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_prometheus_metrics_count_requests_behind_the_key(shop, tmp_path):
    from fastapi.testclient import TestClient

    from vlrec.serve.app import create_app

    with TestClient(
        create_app(make_service(shop, tmp_path, api_key=KEY)), raise_server_exceptions=False
    ) as c:
        auth = {"Authorization": f"Bearer {KEY}"}
        assert c.get("/metrics").status_code == 401
        for _ in range(2):
            c.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "shoes"}]},
                headers=auth,
            )
        c.post("/v1/chat/completions", json={"messages": []}, headers=auth)
        c.get("/v1/items/nope", headers=auth)
        text = c.get("/metrics", headers=auth).text
    assert 'vlrec_requests_total{method="POST",route="/v1/chat/completions",status="200"} 2.0' in text
    assert 'vlrec_requests_total{method="POST",route="/v1/chat/completions",status="400"} 1.0' in text
    assert 'route="/v1/items/{item_id:path}",status="404"' in text  # templates, not raw paths
    assert 'vlrec_request_seconds_count{route="/v1/chat/completions"} 3.0' in text
    assert "vlrec_sessions 2.0" in text and "vlrec_turns_served 2.0" in text


def test_another_users_session_id_is_refused(client):
    first = chat(client, "casual shoes", user="alice").json()["vlrec"]
    sid = first["session_id"]
    r = chat(client, "in white", session_id=sid, user="mallory")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_session"
    assert chat(client, "in white", session_id=sid, user="alice").status_code == 200
    state = client.get(f"/v1/sessions/{sid}").json()
    assert len(state["turns"]) == 4  # mallory's turn left no trace
