"""The agent's commands end to end on the real embedder (chat, recommend), no LM needed."""

import io
import json

import pytest

from vlrec.cli.main import main


@pytest.fixture
def indexed(tiny_catalog, tmp_path, capsys):
    args = [f"store.path={tmp_path / 'db'}", "agent.catalog=shop", "agent.describe_images=false", "agent.k=3"]
    assert main(["index", str(tiny_catalog), "--name", "shop", *args]) == 0
    capsys.readouterr()
    rows = [json.loads(line) for line in tiny_catalog.read_text().splitlines()]
    return args, rows


@pytest.mark.integration
def test_chat_takes_photos_refinements_and_commands(indexed, tiny_catalog, monkeypatch, capsys):
    args, rows = indexed
    photo = tiny_catalog.parent / rows[9]["image"]  # black casual shoes for women
    script = "\n".join(
        [f"/image {photo}", "something like this", "/json", "in black", "not this one", "/reset", "/quit"]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(script + "\n"))
    assert main(["chat", *args]) == 0
    out = capsys.readouterr().out
    assert "photo attached" in out and "conversation reset" in out
    replies = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(replies) == 2
    ids = {r["id"] for r in rows}
    for reply in replies:
        assert reply["items"] and {i["id"] for i in reply["items"]} <= ids and not reply["dropped"]
    assert replies[0]["constraints"]["baseColour"] == "Black"
    first_text = out.split("(json on)")[0]
    assert "from the catalogue" in first_text


@pytest.mark.integration
def test_recommend_from_a_request_and_errors(indexed, capsys):
    args, rows = indexed
    assert main(["recommend", "--text", "black clutches for women", "--json", *args]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["items"][0]["id"] == rows[11]["id"]  # the only black clutch
    assert main(["recommend", *args]) == 2
    assert "give --user ID, or --text and/or --image" in capsys.readouterr().err
