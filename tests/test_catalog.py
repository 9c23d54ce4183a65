import json

from vlrec.data.catalog import CatalogItem, CatalogProblem, read_catalog


def test_reads_the_bundled_sample(tiny_catalog):
    items = list(read_catalog(tiny_catalog))
    assert len(items) == 12 and all(isinstance(i, CatalogItem) for i in items)
    first = items[0]
    assert first.image.is_file()
    assert {"articleType", "baseColour", "gender"} <= set(first.metadata)
    assert "image" not in first.metadata and "title" not in first.metadata


def test_bad_lines_are_reported_with_line_and_id_and_do_not_stop_the_read(tmp_path):
    lines = [
        json.dumps({"id": "a", "title": "Red Shirt", "colour": "Red"}),
        "{not json",
        json.dumps({"title": "no id"}),
        json.dumps({"id": "b", "title": ""}),
        json.dumps({"id": "a", "title": "duplicate"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "c", "title": "Blue Bag", "sizes": [1, 2]}),
    ]
    path = tmp_path / "cat.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = list(read_catalog(path))
    items = [o for o in out if isinstance(o, CatalogItem)]
    problems = [o for o in out if isinstance(o, CatalogProblem)]
    assert [i.id for i in items] == ["a", "c"]
    assert items[1].metadata["sizes"] == "[1, 2]"
    reasons = {p.line: (p.item_id, p.reason) for p in problems}
    assert reasons[2][1].startswith("malformed JSON")
    assert reasons[3] == (None, "missing 'id'")
    assert reasons[4] == ("b", "missing or empty 'title'")
    assert reasons[5][0] == "a" and "duplicate" in reasons[5][1]
    assert "JSON object" in reasons[6][1]
    assert "line 4: item 'b' skipped" in str(problems[2])


def test_csv_catalogue(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("id,title,image,price\n1,Black Shoe,img/1.jpg,20\n2,,img/2.jpg,30\n")
    out = list(read_catalog(path))
    assert out[0].id == "1" and out[0].image == tmp_path / "img/1.jpg" and out[0].metadata == {"price": "20"}
    assert isinstance(out[1], CatalogProblem) and out[1].line == 3
