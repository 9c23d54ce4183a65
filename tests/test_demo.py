import io

import pytest

from vlrec.cli.demo import run_demo
from vlrec.config import load_config


@pytest.mark.integration
def test_demo_indexes_resumably_and_answers_every_kind_of_query(tiny_catalog, tmp_path):
    from vlrec.data.catalog import read_catalog

    items = list(read_catalog(tiny_catalog))
    queries = [{"image": str(i.image)} for i in items[:3]] + [
        {"text": items[4].title},
        {"image": str(items[5].image), "text": items[5].title},
    ]
    overrides = [
        f"demo.catalog={tiny_catalog}",
        f"store.path={tmp_path / 'db'}",
        f"demo.queries={queries}",
        "demo.k=3",
    ]
    out = io.StringIO()
    results = run_demo(load_config(None, overrides), out=out)
    text = out.getvalue()
    assert "added 12, updated 0, unchanged 0, failed 0" in text
    hits = [v for k, v in results.items() if not k.startswith(("turn ", "request "))]
    for item, item_hits in zip(items[:3], hits[:3]):
        assert item.id in [h.id for h in item_hits]  # its own photo finds the item
    assert hits[3][0].id == items[4].id  # its own title
    assert hits[4][0].id == items[5].id  # its photo and title together
    assert items[4].title in text
    assert text.count("the VLM sees:") == 5  # 4 query photos + the conversation's photo
    assert "--- a conversation with the agent ---" in text and text.count("shopper:") == 3 + 7
    assert "--- shoppers in their own words" in text and text.count("(understood:") == 7
    for n in range(1, 8):
        request = results[f"request {n}"]
        assert request.items and all(r.id in {i.id for i in items} for r in request.items)
    # "..., not black": the intent LM reads an exclusion, and no black item is shown
    assert "Black" in results["request 1"].avoid.get("baseColour", [])
    assert all(r.metadata.get("baseColour") != "Black" for r in results["request 1"].items)
    # "he hates black and grey": a verb of dislike rules both out
    assert {"Black", "Grey"} <= set(results["request 4"].avoid.get("baseColour", []))
    assert all(r.metadata.get("baseColour") not in ("Black", "Grey") for r in results["request 4"].items)
    # "earrings for my sister's wedding": the catalogue has none, and the reply says so first
    assert results["request 7"].text.startswith("This catalogue has no earrings;")
    # "I already own black ones so something else": black is ruled out, not asked for
    assert "Black" in results["request 5"].avoid.get("baseColour", [])
    assert results["request 5"].constraints.get("baseColour") != "Black"
    for n in (1, 2, 3):
        turn = results[f"turn {n}"]
        assert turn.items and not turn.dropped
        assert all(r.id in {i.id for i in items} for r in turn.items)  # only catalogue items
    assert results["turn 2"].constraints.get("baseColour") == "Black"

    out = io.StringIO()
    run_demo(load_config(None, overrides), out=out)
    assert "added 0, updated 0, unchanged 12" in out.getvalue()


@pytest.mark.integration
def test_demo_reports_a_corrupt_image_and_indexes_the_rest(tiny_catalog, tmp_path, capsys):
    next((tiny_catalog.parent / "images").iterdir()).write_bytes(b"not a jpeg")
    overrides = [
        f"demo.catalog={tiny_catalog}",
        f"store.path={tmp_path / 'db'}",
        "demo.queries=[]",
        "demo.vlm=false",
    ]
    out = io.StringIO()
    run_demo(load_config(None, overrides), out=out)
    assert "added 12, updated 0, unchanged 0, failed 1" in out.getvalue()
    assert "could not be used" in capsys.readouterr().err
