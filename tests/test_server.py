"""``vlrec serve``: the OpenAI-compatible API, items API, security limits (tiny embedder, fake VLM).

With VLREC_TEST_CHROMA_URL set (CI's second run), the catalogue lives on a Chroma server.
"""

from __future__ import annotations

import base64
import io
import json
import socket

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    r2 = chat(client, "in whitee", session_id=sid).json()  # misspelt: read as "in white"
    ids2 = [it["id"] for it in r2["vlrec"]["items"]]
    assert ids2 and all(rows[i]["baseColour"] == "White" and rows[i]["gender"] == "Men" for i in ids2)
    assert not set(ids2) & {it["id"] for it in items}  # never shown twice
    state = client.get(f"/v1/sessions/{sid}").json()
    assert state["constraints"]["baseColour"] == "White" and len(state["turns"]) == 4
    assert (
        state["turns"][2]["text"] == "in whitee" and state["turns"][2]["read"] == "in white"
    )  # the shopper's words
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
