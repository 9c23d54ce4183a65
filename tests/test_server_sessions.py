"""``vlrec serve``: conversations outside the process — sessions in SQLite or a real
``redis-server``, shared by workers, surviving a restart, refused when stale, expired and capped.

With VLREC_TEST_CHROMA_URL set (CI's second run), the catalogue lives on a Chroma server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time

import pytest

from tests.test_server import chat, data_url, free_port, make_service

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
