"""``vlrec serve`` on a real port: the official OpenAI client, the web page in headless Chromium,
concurrent photo turns batched into one VLM call.

With VLREC_TEST_CHROMA_URL set (CI's second run), the catalogue lives on a Chroma server.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FakeVLM
from tests.test_server import KEY, chat, data_url, free_port, make_service


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


CHROMIUM = "/usr/bin/chromium"


def test_web_page_in_headless_chromium(live_server, shop, tmp_path):
    """Upload a photo (button) and send; then drop a photo and send; cards appear; screenshot."""
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
