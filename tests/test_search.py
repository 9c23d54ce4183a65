import json
import shutil

import pytest

from tests.conftest import SAMPLE, store_config, unique
from vlrec.data.catalog import read_catalog
from vlrec.retrieval.indexer import index_catalog
from vlrec.retrieval.search import Searcher, parse_where
from vlrec.retrieval.store import Store, StoreError


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, tiny_embedder):
    tmp = tmp_path_factory.mktemp("search")
    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:30]
    (tmp / "images").mkdir()
    for row in rows:
        shutil.copy(SAMPLE / row["image"], tmp / row["image"])
    (tmp / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = Store(store_config(tmp))
    shop = unique("shop")
    index_catalog(read_catalog(tmp / "c.jsonl"), store, shop, tiny_embedder, progress=False)
    return Searcher(store, tiny_embedder, shop), rows, tmp


def test_item_to_similar_items_excludes_itself(searcher):
    s, rows, _ = searcher
    hits = s.search(item_id=rows[0]["id"], k=5)
    assert len(hits) == 5 and rows[0]["id"] not in [h.id for h in hits]
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_an_items_own_photo_and_title_find_it(searcher):
    s, rows, tmp = searcher
    row = rows[3]
    hits = s.search(image=tmp / row["image"], text=row["title"], k=3)
    assert hits[0].id == row["id"]
    assert s.search(image=tmp / row["image"], target="image", k=1)[0].id == row["id"]
    assert s.search(text=row["title"], target="text", k=1)[0].id == row["id"]


def test_where_filters_and_exclusions(searcher):
    s, rows, _ = searcher
    gender = rows[0]["gender"]
    hits = s.search(text="shirt", k=30, where={"gender": gender})
    assert hits and all(h.metadata["gender"] == gender for h in hits)
    assert len(hits) == sum(r["gender"] == gender for r in rows)
    first = s.search(text="shirt", k=3)
    again = s.search(text="shirt", k=3, exclude=[first[0].id])
    assert first[0].id not in [h.id for h in again]


def test_errors_name_what_is_wrong(searcher, tiny_embedder):
    s, _, tmp = searcher
    with pytest.raises(KeyError, match=f"'nope' is not in catalogue '{s.catalog}'"):
        s.search(item_id="nope")
    with pytest.raises(ValueError, match="needs text, an image"):
        s.search()
    with pytest.raises(StoreError, match="not indexed"):
        Searcher(Store(store_config(tmp / "empty")), tiny_embedder, unique("other"))


def test_parse_where():
    assert parse_where([]) is None
    assert parse_where(["baseColour=Black"]) == {"baseColour": {"$eq": "Black"}}
    assert parse_where(["a!=x", "year>=2012"]) == {"$and": [{"a": {"$ne": "x"}}, {"year": {"$gte": 2012}}]}
    with pytest.raises(ValueError, match="key=value"):
        parse_where(["nonsense"])
    with pytest.raises(ValueError, match="needs a number"):
        parse_where(["year>=new"])
