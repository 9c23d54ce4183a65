"""The shipped VLM (vlrec/assets/vlm/default) on the packaged models: real captions and answers."""

import json

import pytest

from tests.conftest import SAMPLE
from vlrec.cli.main import main

QUERIES = SAMPLE / "queries"


@pytest.mark.integration
def test_shipped_vlm_answers_about_a_product_photo(capsys):
    shoes = str(next(QUERIES.glob("casual_shoes_black_*.jpg")))
    assert main(["ask", shoes, "What colour is it?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] == "Black"
    assert main(["ask", shoes, "What type of product is this?"]) == 0
    # a shoe type of the catalogue (the shipped model says "Sports Shoes" for these casual shoes)
    assert capsys.readouterr().out.strip() in {"Casual Shoes", "Sports Shoes", "Formal Shoes"}


@pytest.mark.integration
def test_shipped_vlm_captions_photos(capsys):
    photos = sorted(str(p) for p in QUERIES.glob("*.jpg"))[:2]
    assert main(["caption", *photos, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in rows] == photos
    assert all(len(r["caption"].split()) >= 3 for r in rows)


@pytest.mark.integration
def test_caption_names_a_corrupt_photo(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    assert main(["caption", str(bad)]) == 1
    assert "broken.jpg" in capsys.readouterr().err
