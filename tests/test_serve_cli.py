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


def _start(cmd, env, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"vlrec serve exited {proc.returncode}:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return proc, json.load(r)
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("vlrec serve did not answer /healthz in 5 minutes")


def _stop(proc) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.integration
def test_vlrec_serve_indexes_a_catalogue_and_answers_the_openai_client(tiny_catalog, tmp_path):
    """... and after ``kill -9`` and a restart, the conversation goes on where it was."""
    import openai

    port = free_port()
    store = f"store.url={CHROMA_URL}" if CHROMA_URL else f"store.path={tmp_path / 'db'}"
    name = f"served-{os.getpid()}-{port}"

    def command(port):
        return [sys.executable, "-m", "vlrec", "serve", "--port", str(port), "--catalog", str(tiny_catalog),
                "--name", name, store]  # fmt: skip

    env = {**os.environ, "VLREC_API_KEY": "k-123"}
    proc, health = _start(command(port), env, port)
    try:
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
    except BaseException:
        proc.kill()
        raise
    proc.send_signal(signal.SIGKILL)  # no chance to flush anything
    proc.communicate(timeout=30)

    port2 = free_port()
    proc, _ = _start(command(port2), env, port2)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port2}/v1", api_key="k-123", max_retries=0)
        again = client.chat.completions.create(
            model="vlrec", messages=[{"role": "user", "content": "more like these"}],
            extra_body={"session_id": extra["session_id"]}, timeout=120,
        )  # fmt: skip
        assert again.model_extra["vlrec"]["session_id"] == extra["session_id"]
        shown = {i["id"] for i in extra["items"]}
        assert not shown & {i["id"] for i in again.model_extra["vlrec"]["items"]}  # it remembers them
        req = urllib.request.Request(
            f"http://127.0.0.1:{port2}/v1/sessions/{extra['session_id']}",
            headers={"Authorization": "Bearer k-123"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            state = json.load(r)
        assert [t["role"] for t in state["turns"]] == ["user", "assistant"] * 2
        assert state["turns"][0]["image"] and set(state["shown"]) >= shown
    finally:
        out = _stop(proc)
    assert "Traceback" not in out, out
