"""`vlrec serve` as users start it: a real process on the packaged models (VLM included)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import CHROMA_URL, SAMPLE
from tests.test_server import free_port


@pytest.mark.integration
def test_vlrec_serve_indexes_a_catalogue_and_answers_the_openai_client(tiny_catalog, tmp_path):
    import openai

    port = free_port()
    store = f"store.url={CHROMA_URL}" if CHROMA_URL else f"store.path={tmp_path / 'db'}"
    name = f"served-{os.getpid()}-{port}"
    cmd = [sys.executable, "-m", "vlrec", "serve", "--port", str(port), "--catalog", str(tiny_catalog),
           "--name", name, store]  # fmt: skip
    env = {**os.environ, "VLREC_API_KEY": "k-123"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        health = None
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"vlrec serve exited {proc.returncode}:\n{proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert health == {**health, "status": "ok", "catalog": name, "items": 12, "vlm": True}
        rows = {json.loads(line)["id"]: json.loads(line) for line in tiny_catalog.read_text().splitlines()}
        photo = next((SAMPLE / "queries").glob("casual_shoes_black_*.jpg"))
        url = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k-123", max_retries=0)
        resp = client.chat.completions.create(
            model="vlrec",
            messages=[{"role": "user", "content": [
                {"type": "text", "text": "something like this"},
                {"type": "image_url", "image_url": {"url": url}},
            ]}],
            timeout=120,
        )  # fmt: skip
        extra = resp.model_extra["vlrec"]
        assert extra["image_description"]  # the shipped VLM looked at the photo
        assert extra["items"] and all(i["id"] in rows for i in extra["items"])
        assert all(i["title"] == rows[i["id"]]["title"] for i in extra["items"])
        assert [m.id for m in client.models.list()] == ["vlrec"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0).models.list()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out
