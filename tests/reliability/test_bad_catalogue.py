"""Bad catalogue input, line by line: each bad line fails alone with its line number and reason,
the good lines around it are all indexed once, and nothing outside the catalogue's folder is read.

``pytest tests/reliability/test_bad_catalogue.py -s`` prints the table that docs/benchmarks.md shows.
"""

from __future__ import annotations

import io
import json
import os
import shutil

from tests.conftest import INJECTION, SAMPLE, store_config, unique
from vlrec.retrieval.catalogue import Catalogue
from vlrec.retrieval.store import Store


def _good_rows(n):
    return [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:n]


def _write_images(folder, outside):
    """Bad image files inside the folder, and a real photo outside it (what an escape would reach)."""
    from PIL import Image

    img = folder / "images"
    (img / "empty.jpg").write_bytes(b"")
    good = (SAMPLE / _good_rows(1)[0]["image"]).read_bytes()
    (img / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (img / "text.jpg").write_bytes(b"this is not a picture\n" * 40)
    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buf, "PNG", optimize=True)
    (img / "bomb.png").write_bytes(buf.getvalue())
    outside.mkdir()
    shutil.copy(SAMPLE / _good_rows(1)[0]["image"], outside / "secret.jpg")
    os.symlink(outside / "secret.jpg", img / "link-out.jpg")


def bad_lines(outside, first_id):
    """(kind, item id, raw line bytes, expected): 'skipped' = the line is refused with its number and
    reason; 'text only' = indexed by its words, the image reported; 'kept' = indexed as given."""
    item = {"title": "Blue Shirt", "articleType": "Shirts"}

    def j(**row) -> bytes:
        return json.dumps(row).encode()

    return [
        ("malformed JSON", None, b'{"id": "b1", "title": ', "skipped"),
        ("a JSON array, not an object", None, b"[1, 2, 3]", "skipped"),
        ("missing id", None, j(title="no id"), "skipped"),
        ("duplicate id", first_id, j(id=first_id, title="again"), "skipped"),
        ("missing title", "b5", j(id="b5"), "skipped"),
        ("1 MB title", "b6", j(id="b6", title="x" * 1_000_000), "skipped"),
        ("invalid UTF-8", "b7", b'{"id": "b7", "title": "caf\xe9"}', "skipped"),
        ("image path ../../", "b8", j(id="b8", **item, image="../outside/secret.jpg"), "skipped"),
        ("absolute image path", "b9", j(id="b9", **item, image=str(outside / "secret.jpg")), "skipped"),
        ("image symlink out of the folder", "b10", j(id="b10", **item, image="images/link-out.jpg"), "skipped"),
        ("image path not a string", "b11", j(id="b11", **item, image={"url": "x"}), "skipped"),
        ("missing image file", "b12", j(id="b12", **item, image="images/nope.jpg"), "text only"),
        ("0-byte JPEG", "b13", j(id="b13", **item, image="images/empty.jpg"), "text only"),
        ("truncated JPEG", "b14", j(id="b14", **item, image="images/truncated.jpg"), "text only"),
        ("text bytes named .jpg", "b15", j(id="b15", **item, image="images/text.jpg"), "text only"),
        ("decompression bomb 20,000 x 20,000", "b16", j(id="b16", **item, image="images/bomb.png"), "text only"),
        ("control characters and right-to-left text", "b17", j(id="b17", title="Shirt\x07\u202eevil\u202c \u05e9\u05dc\u05d5\u05dd"), "kept"),
        ("prompt injection in the title", "b18", j(id="b18", title=INJECTION), "kept"),
    ]  # fmt: skip


def test_each_bad_line_fails_alone_and_no_good_item_is_lost(tmp_path, tiny_embedder, capsys):
    folder = tmp_path / "shop"
    (folder / "images").mkdir(parents=True)
    good = _good_rows(12)
    for r in good:
        shutil.copy(SAMPLE / r["image"], folder / r["image"])
    _write_images(folder, tmp_path / "outside")
    cases = bad_lines(tmp_path / "outside", good[0]["id"])
    lines: list[bytes] = []
    line_of = {}
    for n in range(max(len(good), len(cases))):  # good and bad lines interleaved
        if n < len(good):
            lines.append(json.dumps(good[n]).encode())
        if n < len(cases):
            lines.append(cases[n][2])
            line_of[cases[n][0]] = len(lines)
    path = folder / "catalog.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    reports: list[str] = []
    catalogue = Catalogue(Store(store_config(tmp_path)), unique("bad"), tiny_embedder)
    catalogue.index_file(path, report=reports.append, progress=False)
    records = catalogue.records()
    cols = catalogue.collections()
    counts = {m: c.count() for m, c in cols.items()}
    with_image = set(cols["image"].get(include=[])["ids"])

    rows, unclear = [], []
    for kind, item_id, _, expect in cases:
        line = line_of[kind]
        said = [r for r in reports if r.startswith(f"line {line}:")]
        if expect == "skipped":
            ok = bool(said) and "skipped" in said[0] and (kind == "duplicate id" or item_id not in records)
        elif expect == "text only":
            ok = item_id in records and item_id not in with_image and any(item_id in r for r in reports)
        else:
            ok = item_id in records and not said
        rows.append((kind, expect, ok))
        if not ok:
            unclear.append(f"{kind} (line {line}, expected {expect}): {said}")
    lost = [r["id"] for r in good if r["id"] not in records]
    with capsys.disabled():
        print("\n| bad input | outcome | clear |\n| --- | --- | --- |")
        for kind, expect, ok in rows:
            print(f"| {kind} | {expect} | {'yes' if ok else 'NO'} |")
        print(f"\n{len(cases)} kinds; good items lost: {len(lost)}; records {counts}")
    assert not unclear, "\n".join(unclear)
    assert not lost
    assert records[good[0]["id"]]["title"] == good[0]["title"]  # the duplicate did not replace the first
    indexed = len(good) + sum(e != "skipped" for *_, e in cases)
    assert counts["text"] == counts["fused"] == len(records) == indexed  # each item exactly once
    assert (
        counts["image"] == len(good) + sum(e == "kept" for *_, e in cases) - 2
    )  # the two "kept" have no image
    assert "secret" not in json.dumps(records)  # nothing outside the folder was read or stored
