"""The retrieval commands end to end: index, search, eval retrieval (real Lite0 + MiniLM)."""

import json

import pytest

from tests.conftest import SAMPLE
from vlrec.cli.main import main


@pytest.fixture(scope="module")
def random_head(tmp_path_factory):
    from vlrec.adapters.align import AlignConfig, AlignmentHead

    folder = tmp_path_factory.mktemp("head")
    head = AlignmentHead(AlignConfig(dim=32, hidden=64, image_head="mlp"), 1280, 384)
    head.save(folder, extra={"vision": "efficientnet-lite0", "text": "minilm"})
    return folder


def _common(tmp_path, head):
    return [f"store.path={tmp_path / 'db'}", f"retrieval.head={head}"]


@pytest.mark.integration
def test_index_then_search_from_the_command_line(tiny_catalog, tmp_path, random_head, capsys):
    args = _common(tmp_path, random_head)
    assert main(["index", str(tiny_catalog), "--name", "shop", "--json", *args]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out)  # stdout holds the JSON and nothing else
    assert summary["added"] == 12 and summary["failed"] == []
    assert main(["index", str(tiny_catalog), "--name", "shop", *args]) == 0
    assert "unchanged 12" in capsys.readouterr().out

    first = json.loads(tiny_catalog.read_text().splitlines()[0])
    assert main(["search", "--name", "shop", "--item", first["id"], "--k", "3", "--json", *args]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and first["id"] not in [h["id"] for h in hits]
    assert {"id", "score", "title", "metadata"} <= set(hits[0])

    colour = first["baseColour"]
    rc = main(
        ["search", "--name", "shop", "--text", "shirt", "--where", f"baseColour={colour}", "--json", *args]
    )
    assert rc == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(h["metadata"]["baseColour"] == colour for h in hits)

    img = tiny_catalog.parent / first["image"]
    assert main(["search", "--name", "shop", "--image", str(img), "--text", "in black", *args]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["id", "score", "title"]


@pytest.mark.integration
def test_search_errors_are_clear(tiny_catalog, tmp_path, random_head, capsys):
    args = _common(tmp_path, random_head)
    assert main(["search", "--name", "nothing-here", "--text", "x", *args]) == 1
    assert "not indexed" in capsys.readouterr().err
    main(["index", str(tiny_catalog), "--name", "shop", *args])
    capsys.readouterr()
    assert main(["search", "--name", "shop", "--item", "no-such-id", *args]) == 1
    err = capsys.readouterr().err
    assert "no-such-id" in err and "Traceback" not in err
    assert main(["search", "--name", "shop", "--text", "x", "--where", "colour", *args]) == 1
    assert "key=value" in capsys.readouterr().err


@pytest.mark.integration
def test_eval_retrieval_json_keys(tmp_path, random_head, capsys):
    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:8]
    data = tmp_path / "caps.jsonl"
    data.write_text(
        "".join(
            json.dumps({"image": str(SAMPLE / r["image"]), "captions": [r["title"], r["articleType"]]}) + "\n"
            for r in rows
        )
    )
    assert main(["eval", "retrieval", "--data", str(data), "--json", f"retrieval.head={random_head}"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("i2t_R@1", "i2t_R@5", "i2t_R@10", "t2i_R@1", "t2i_R@5", "t2i_R@10"):
        assert 0.0 <= result[key] <= 100.0
    assert result["i2t_R@1"] <= result["i2t_R@5"] <= result["i2t_R@10"]
    assert result["t2i_R@10"] == 100.0  # only 8 images: every caption's image is in its top 10
    assert result["n_images"] == 8 and result["n_captions"] == 16
