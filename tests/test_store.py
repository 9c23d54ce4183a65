import numpy as np
import pytest

from tests.conftest import store_config, unique
from vlrec.retrieval.store import Store, StoreConfig, StoreError


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_upsert_query_and_where(tmp_path):
    store = Store(store_config(tmp_path))
    col = store.collection(unique("toy.image"), {"name": "toy", "dim": 3})
    vecs = _unit([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]])
    metas = [{"title": t, "colour": c} for t, c in [("a", "red"), ("b", "black"), ("c", "red"), ("d", "red")]]
    assert store.upsert(col, ["a", "b", "c", "d"], vecs, metadatas=metas) == 4
    hits = store.query(col, _unit([[1, 0.05, 0]])[0], k=2)
    assert [h.id for h in hits] == ["a", "b"]
    assert hits[0].score > hits[1].score and hits[0].metadata["title"] == "a"
    hits = store.query(col, _unit([[1, 0.05, 0]])[0], k=2, where={"colour": "red"})
    assert [h.id for h in hits] == ["a", "c"]


def test_store_persists_and_reports_existing_ids(tmp_path):
    cfg = store_config(tmp_path)
    store = Store(cfg)
    name = unique("toy")
    col = store.collection(name, {"name": "toy"})
    store.upsert(col, ["x", "y"], _unit([[1, 0], [0, 1]]))
    del store, col
    again = Store(cfg)
    col = again.collection(name, {"name": "toy"})
    assert again.existing_ids(col, ["x", "y", "z"]) == {"x", "y"}


def test_other_embedder_is_refused(tmp_path):
    store = Store(store_config(tmp_path))
    name = unique("toy")
    store.collection(name, {"name": "minilm", "dim": 384})
    with pytest.raises(StoreError, match="minilm.*glove"):
        store.collection(name, {"name": "glove", "dim": 50})


def test_writes_larger_than_one_chroma_batch(tmp_path):
    store = Store(store_config(tmp_path))
    store.max_batch = 7  # force several batches
    col = store.collection(unique("toy"), {"name": "toy"})
    rng = np.random.default_rng(0)
    ids = [f"i{i}" for i in range(30)]
    store.upsert(col, ids, _unit(rng.normal(size=(30, 8))))
    assert col.count() == 30
    assert store.existing_ids(col, ids) == set(ids)


def test_l2_space_scores_and_bad_url(tmp_path):
    store = Store(store_config(tmp_path, space="l2"))
    col = store.collection(unique("toy"), {"name": "toy"})
    store.upsert(col, ["near", "far"], np.array([[0, 0], [3, 4]], np.float32))
    hits = store.query(col, np.array([0, 0], np.float32), k=2)
    assert [h.id for h in hits] == ["near", "far"]
    assert hits[1].distance == pytest.approx(25.0) and hits[1].score == pytest.approx(-25.0)
    with pytest.raises(StoreError, match="not an http"):
        Store(StoreConfig(url="ftp://x"))


def test_bad_collection_name_is_a_clear_error(tmp_path):
    store = Store(store_config(tmp_path))
    with pytest.raises(StoreError, match="collection name 'a b'"):
        store.collection("a b", {"name": "toy"})


@pytest.mark.parametrize("space", ["cosine", "l2", "ip"])
def test_filtered_query_that_misses_items_is_ranked_exactly(tmp_path, space):
    """A filtered HNSW query can miss matching items (chroma-core/chroma#5367): the store
    notices that it got fewer than k while more match, and ranks the filtered set exactly."""
    store = Store(store_config(tmp_path, space=space))
    col = store.collection(unique("toy.fused"), {"name": "toy"})
    rng = np.random.default_rng(0)
    vecs = _unit(rng.normal(size=(40, 8)))
    ids = [f"i{n}" for n in range(40)]
    store.upsert(col, ids, vecs, metadatas=[{"colour": "red" if n % 4 == 0 else "blue"} for n in range(40)])
    q = _unit(rng.normal(size=(1, 8)))[0]
    full = store.query(col, q, k=5, where={"colour": "red"})

    class Forgetful:  # the index "forgets" all but one match
        def __init__(self, col):
            self.col = col
            self.configuration_json = col.configuration_json

        def query(self, **kw):
            res = self.col.query(**kw)
            return {
                key: [v[0][:1]]
                for key, v in res.items()
                if key in ("ids", "distances", "metadatas", "documents")
            }

        def get(self, **kw):
            return self.col.get(**kw)

    hits = store.query(Forgetful(col), q, k=5, where={"colour": "red"})
    assert [h.id for h in hits] == [h.id for h in full]
    np.testing.assert_allclose([h.score for h in hits], [h.score for h in full], atol=1e-5)
    # a filter with fewer matches than k is not a miss: nothing more to find
    assert len(store.query(col, q, k=50, where={"colour": "red"})) == 10
