"""The Chroma server goes away while the API serves: turns answer a clear 503 (no hang, no stack
trace), and the API recovers by itself when the server is back."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import unique
from tests.test_server import free_port

CHROMA = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "chroma"


def _chroma(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("chroma did not start")


@pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI of the project's venv")
def test_turns_answer_503_while_chroma_is_down_and_recover(tmp_path, tiny_embedder):
    from fastapi.testclient import TestClient

    from tests.conftest import SAMPLE, FakeVLM
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.search import Searcher
    from vlrec.retrieval.store import Store, StoreConfig
    from vlrec.serve.app import create_app
    from vlrec.serve.config import ServeConfig
    from vlrec.serve.service import Service

    port = free_port()
    proc = _chroma(tmp_path / "chroma", port)
    try:
        rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:24]
        cat = tmp_path / "c.jsonl"
        cat.write_text("".join(json.dumps({**r, "image": str(SAMPLE / r["image"])}) + "\n" for r in rows))
        store = Store(StoreConfig(url=f"http://127.0.0.1:{port}"))
        name = unique("shop")
        index_catalog(read_catalog(cat, images_anywhere=True), store, name, tiny_embedder, progress=False)
        agent = Agent(AgentConfig(k=3, candidates=12), Searcher(store, tiny_embedder, name), FakeVLM())
        client = TestClient(
            create_app(Service(ServeConfig(), agent, uploads=tmp_path / "up")), raise_server_exceptions=False
        )
        body = {"messages": [{"role": "user", "content": "black shoes"}]}
        assert client.post("/v1/chat/completions", json=body).status_code == 200

        proc.kill()
        proc.wait()
        start = time.monotonic()
        r = client.post("/v1/chat/completions", json=body)
        took = time.monotonic() - start
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert "store" in err["message"] and err["code"] == "store_unavailable" and "Traceback" not in r.text
        assert took < 30  # no hang
        assert client.get("/healthz").status_code == 200
        with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            events = [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: {")]
        assert events[-1]["error"]["code"] == "store_unavailable"  # streamed: said in the stream

        proc = _chroma(tmp_path / "chroma", port)
        r = client.post("/v1/chat/completions", json=body)
        assert r.status_code == 200 and r.json()["vlrec"]["items"], r.text
    finally:
        proc.kill()
