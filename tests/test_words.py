"""Text-to-text retrieval: item documents, BM25 and dense paths, rank fusion, filters, sync."""

from __future__ import annotations

from tests.conftest import HashTextEmbedder, store_config, unique

ITEMS = {
    "1": {"title": "Acme Men Black Gloves", "articleType": "Gloves", "baseColour": "Black", "gender": "Men",
          "usage": "Casual", "subCategory": "Gloves", "masterCategory": "Accessories"},
    "2": {"title": "Zeta Women Red Sunglasses", "articleType": "Sunglasses", "baseColour": "Red",
          "gender": "Women", "usage": "Casual", "subCategory": "Eyewear"},
    "3": {"title": "Nova Men White Sports Shoes", "articleType": "Sports Shoes", "baseColour": "White",
          "gender": "Men", "usage": "Sports", "subCategory": "Shoes", "masterCategory": "Footwear"},
    "4": {"title": "Orca Men Black Sports Shoes", "articleType": "Sports Shoes", "baseColour": "Black",
          "gender": "Men", "usage": "Sports", "subCategory": "Shoes", "masterCategory": "Footwear"},
}  # fmt: skip


def test_item_document_and_light_stemming():
    from vlrec.retrieval.words import item_document, tokens

    assert item_document(ITEMS["2"]) == "Zeta Women Red Sunglasses. Sunglasses, Red, Women, Casual, Eyewear"
    assert item_document({"title": "Solo"}) == "Solo"
    assert tokens("Watches, dresses & T-shirts; glasses shoes") == [
        "watch",
        "dress",
        "tshirt",
        "glass",
        "shoe",
    ]


def test_rrf_rewards_items_ranked_well_by_several_paths():
    from vlrec.retrieval.words import rrf

    fused = rrf([["a", "b", "c"], ["b", "c", "a"], ["b"]], k=1)
    assert max(fused, key=fused.get) == "b"
    assert rrf([["a"], ["b"]], weights=[2.0, 1.0], k=60)["a"] > rrf([["a"], ["b"]], k=60)["b"]


def test_filters_with_inclusions_and_exclusions():
    from vlrec.retrieval.words import passes

    meta = ITEMS["4"]
    assert passes(meta, {"baseColour": {"$nin": ["White", "Red"]}})
    assert not passes(meta, {"baseColour": {"$nin": ["Black"]}})
    assert passes(meta, {"$and": [{"articleType": {"$in": ["Sports Shoes", "Gloves"]}}, {"gender": "Men"}]})
    assert not passes(meta, {"articleType": {"$in": ["Gloves"]}})
    assert not passes(meta, {"gender": {"$ne": "Men"}})


def test_words_index_syncs_incrementally_and_searches_both_ways(tmp_path):
    from vlrec.retrieval.store import Store
    from vlrec.retrieval.words import WordsIndex

    store = Store(store_config(tmp_path))
    name = unique("w")
    words = WordsIndex(store, name, HashTextEmbedder(), progress=False)
    assert words.sync(ITEMS) == 4
    assert words.sync(ITEMS) == 0  # nothing new: nothing embedded again
    changed = {**ITEMS, "2": {**ITEMS["2"], "baseColour": "Blue"}}
    changed.pop("1")
    assert words.sync(changed) == 1 and words.col.count() == 3
    assert words.lexical("glove", 5) == []  # the deleted item is gone from the lexical index too
    assert words.lexical("black sports shoes", 5)[0] == "4"
    assert words.lexical("sports shoes", 5, where={"baseColour": {"$nin": ["Black"]}}) == ["3"]
    assert words.lexical("shoes", 5, exclude=["3"]) == ["4"]
    hits = words.dense("nova white", 2)
    assert hits[0].id == "3"
    got = [h.id for h in words.dense("sports shoes", 3, where={"baseColour": {"$nin": ["White"]}})]
    assert got[0] == "4" and "3" not in got
    # a store reopened later sees the same collection and embeds nothing
    again = WordsIndex(Store(store_config(tmp_path)), name, HashTextEmbedder(), progress=False)
    assert again.sync(changed) == 0
    # the items API's path: only the named items are checked (a deleted one is absent from items)
    later = {i: m for i, m in changed.items() if i != "3"} | {"5": {**ITEMS["3"], "title": "Kite Men Kites"}}
    assert again.sync(later, ids=["3", "5"]) == 1
    assert again.col.count() == 3 and again.lexical("nova", 5) == [] and again.lexical("kites", 5) == ["5"]


def test_agent_fuses_the_words_paths_for_a_text_request(shop):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.retrieval.words import WordsIndex

    searcher, rows, _ = shop
    words = WordsIndex(searcher.store, searcher.catalog, HashTextEmbedder(), progress=False)
    agent = Agent(AgentConfig(k=4, candidates=24, intent="rules"), searcher, words=words)
    assert words.col.count() == len(rows)  # synced when the agent opened the catalogue
    reply = agent.session().send("Orca handbags")
    assert reply.items and all(rows[r.id]["articleType"] == "Handbags" for r in reply.items)
    assert "Orca" in reply.items[0].title  # the brand word only the words paths can match


def test_on_a_photo_turn_the_photo_ranks_and_the_words_paths_return_after(shop):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.retrieval.words import WordsIndex

    searcher, rows, tmp = shop
    words = WordsIndex(searcher.store, searcher.catalog, HashTextEmbedder(), progress=False)
    photo = str(tmp / rows["140"]["image"])  # an Acme handbag; the words ask for the Orca brand

    def agent(**kw):
        return Agent(AgentConfig(k=4, candidates=24, intent="rules", **kw), searcher, words=words)

    alone = agent(words=False).session().send("Orca handbags", image=photo)
    session = agent().session()  # the default: words_photo_weight 0
    photo_turn = session.send("Orca handbags", image=photo)
    assert _ids(photo_turn) == _ids(alone)  # the photo's look ranks; the words paths do not reorder it
    weighted = agent(words_photo_weight=1.0).session().send("Orca handbags", image=photo)
    assert _ids(weighted) != _ids(alone) and "Orca" in weighted.items[0].title  # with weight, they do
    later = session.send("Orca handbags, please")  # a turn in words: the words paths are back
    assert later.items and "Orca" in later.items[0].title


def _ids(reply):
    return [r.id for r in reply.items]
