"""The conversational agent on a controlled catalogue (tiny embedder, no LM needed)."""

from __future__ import annotations

import pytest

from tests.conftest import INJECTION, FakeVLM, store_config, unique


def _agent(shop, vlm=None, k=3, **kw):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, _, _ = shop
    return Agent(AgentConfig(k=k, candidates=24, **kw), searcher, vlm)


def _ids(reply):
    return [r.id for r in reply.items]


def test_constraints_filter_and_refine_across_turns(shop):
    _, rows, _ = shop
    s = _agent(shop).session()
    r1 = s.send("I need casual shoes for men")
    assert r1.items and all(
        rows[i]["articleType"] == "Casual Shoes" and rows[i]["gender"] == "Men" for i in _ids(r1)
    )
    r2 = s.send("in black")
    black = [rows[i]["baseColour"] == "Black" and rows[i]["gender"] == "Men" for i in _ids(r2)]
    shoes = [rows[i]["articleType"] == "Casual Shoes" for i in _ids(r2)]
    # the shop has two unshown pairs that meet every wish: they come first, the reply is filled up
    # with the nearest items under relaxed wishes (the nearest kind in black before another colour)
    assert black == [True, True, True] and shoes == [True, True, False], (black, shoes)
    assert "(Only the first 2 match every wish; the others are the nearest without the" in r2.text
    other = _agent(shop, kinds_before_colour=False).session()
    other.send("I need casual shoes for men")
    r2b = other.send("in black")
    assert [rows[i]["baseColour"] == "Black" for i in _ids(r2b)] == [True, True, False]
    strict = _agent(shop, backfill=False).session()
    strict.send("I need casual shoes for men")
    r2 = strict.send("in black")
    assert (
        len(r2.items) == 2
        and all(rows[i]["baseColour"] == "Black" for i in _ids(r2))
        and "Only" not in r2.text
    )
    r3 = s.send("for women instead")
    assert r3.items and all(
        (rows[i]["gender"], rows[i]["baseColour"], rows[i]["articleType"])
        == ("Women", "Black", "Casual Shoes")
        for i in _ids(r3)
    )
    shown = set(_ids(r1)) | set(_ids(r2)) | set(_ids(r3))
    assert len(shown) == len(_ids(r1)) + len(_ids(r2)) + len(_ids(r3))  # never the same item twice


def test_not_this_one_rejects_and_more_like_the_second_anchors(shop):
    s = _agent(shop).session()
    r1 = s.send("tshirts")
    first, second = r1.items[0].id, r1.items[1].id
    r2 = s.send("not this one")
    assert first in s.rejected and first not in _ids(r2)
    r3 = s.send("more like the second one")
    assert s.anchor == r2.items[1].id and s.anchor not in _ids(r3)
    assert second not in s.rejected
    every = _agent(shop, k=16).session()
    listed = every.send("tshirts")  # all 16 of the shop: none of that kind is left to show
    r4 = every.send("more like the second one")
    title = listed.items[1].title
    assert r4.items and f"items like {title}" in r4.text and "for second" not in r4.text


def test_cheaper_filters_on_price_and_says_so_without_prices(shop, tiny_catalog, tiny_embedder, tmp_path):
    _, rows, _ = shop
    s = _agent(shop).session()
    r1 = s.send("handbags")
    r2 = s.send("cheaper")
    shown = [rows[i]["price"] for i in _ids(r1)]
    assert r2.items and all(rows[i]["price"] < sum(shown) / len(shown) for i in _ids(r2))

    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.data.catalog import read_catalog
    from vlrec.retrieval.indexer import index_catalog
    from vlrec.retrieval.search import Searcher
    from vlrec.retrieval.store import Store

    store, name = Store(store_config(tmp_path)), unique("noprice")
    index_catalog(read_catalog(tiny_catalog), store, name, tiny_embedder, progress=False)
    s2 = Agent(AgentConfig(k=3), Searcher(store, tiny_embedder, name)).session()
    s2.send("shoes")
    assert "lists no prices" in s2.send("cheaper").text


def test_every_reply_names_only_catalogue_items_and_grounding_drops_forgeries(shop):
    from vlrec.agent.replies import Recommendation, reason, verify

    _, rows, _ = shop
    s = _agent(shop).session()
    for text in [
        "black handbags for women",
        "not this one",
        "tshirts",
        "more like the first one",
        "in white",
    ]:
        reply = s.send(text)
        for r in reply.items:
            assert r.title == rows[r.id]["title"] and f"(id {r.id})" in reply.text
        assert not reply.dropped
    meta = rows["101"]
    good = Recommendation("101", meta["title"], reason(meta, {"gender": "Men"}), 1.0, meta)
    forged = [
        Recommendation("999", "Invented Item", "red shoes", 1.0, {}),
        Recommendation("101", "Another Title", good.reason, 1.0, meta),
        Recommendation("101", meta["title"], good.reason.replace("black", "pink"), 1.0, meta),
        Recommendation("101", meta["title"], good.reason + ", on sale", 1.0, meta),
    ]
    kept, dropped = verify([good, *forged], {k: {kk: vv for kk, vv in v.items()} for k, v in rows.items()})
    assert [r.id for r in kept] == ["101"] and len(dropped) == 4


def test_injection_in_a_title_is_shown_as_data_and_never_obeyed(shop):
    _, rows, _ = shop
    vlm = FakeVLM()
    s = _agent(shop, vlm=vlm, k=4).session()
    reply = s.send("black casual shoes for women")  # exactly 4 items, one of them 105
    assert "105" in _ids(reply)  # the item whose title is the injection
    assert INJECTION in reply.text  # printed verbatim as the item's title
    assert "999" not in _ids(reply) and all(i in rows for i in _ids(reply))
    assert not any(INJECTION in p for p in vlm.prompts)  # never part of an LM prompt


def test_photo_with_words_and_question_about_a_photo(shop):
    _, rows, tmp = shop
    vlm = FakeVLM()
    s = _agent(shop, vlm=vlm).session()
    photo = tmp / rows["112"]["image"]
    reply = s.send("something like this, but for men", image=str(photo))
    assert reply.image_description == vlm.description
    assert s.image_attrs == {
        "baseColour": "White",
        "articleType": "Tshirts",
        "gender": "Women",
        "usage": "Casual",
    }
    assert reply.items and all(rows[i]["gender"] == "Men" for i in _ids(reply))  # words beat the photo
    answer = s.send("what colour is it?", image=str(photo))
    assert answer.answer == "White" and answer.text.startswith("White")
    assert answer.items and "Similar items in the catalogue" in answer.text


def test_overlong_message_is_refused(shop):
    with pytest.raises(ValueError, match="2001 characters"):
        _agent(shop).session().send("x" * 2001)


def test_simulated_shoppers_find_their_targets_and_never_see_titles(shop):
    from vlrec.eval.chat import eval_chat, shopper_turns

    _, rows, tmp = shop
    for row in rows.values():
        said = " ".join(shopper_turns(row)).lower()
        assert row["title"].lower() not in said and row["id"] not in said
    agent = _agent(shop, vlm=FakeVLM(), k=10)
    images = {i: str(tmp / r["image"]) for i, r in rows.items()}
    out = eval_chat(agent, images, n=6, seed=0, with_image=True)
    # 4 items share type, gender and colour here: by turn 2 ten slots cover them all
    assert out["shoppers"] == 6 and out["success@10_turn2"] == 1.0 and out["success@10_turn3"] == 1.0
    assert out["ungrounded_items"] == 0 and out["replies"] == 18 and out["items_named"] > 0
    assert out["latency_photo_p50_s"] > 0 and out["latency_p50_s"] > 0
    assert out["attribute_oracle_success@10_turn1"] == 1.0  # 4 alike, 10 slots: the oracle always finds it
    assert out["ceiling_success@10_turn1"] == 1.0
    one = eval_chat(_agent(shop, vlm=FakeVLM(), k=1), images, n=6, seed=0, turns=1, with_image=True)
    assert one["attribute_oracle_success@1_turn1"] == pytest.approx(0.25)  # one slot, 4 alike
    assert one["ceiling_success@1_turn1"] == pytest.approx(1 / 3)  # the photo's item is never the target
    words = eval_chat(_agent(shop, k=1), n=12, seed=0)
    assert "latency_photo_p50_s" not in words and words["success@1_turn3"] < 1.0  # 3 slots for 4 alike
    # no agent can beat the ceiling (t slots for the items sharing what was said); by turn 3 this one,
    # filtering on all that was said, reaches it
    assert all(words[f"success@1_turn{t}"] <= words[f"ceiling_success@1_turn{t}"] for t in (1, 2, 3))
    assert words["ceiling_success@1_turn1"] < words["ceiling_success@1_turn3"] == words["success@1_turn3"]


def test_typicality_puts_common_attribute_combinations_first(shop):
    from collections import Counter

    from vlrec.agent.retrieve import _combo

    _, rows, _ = shop
    plain = _agent(shop, k=4).session().send("tshirts for men")
    agent = _agent(shop, k=4, typicality=1.0)
    # pretend the catalogue is full of white casual t-shirts for men
    common = _combo(agent.items["124"])  # Acme Men White Tshirts
    agent.combos = Counter({**agent.combos, common: 500})
    agent._log_max = __import__("math").log(501)
    typical = agent.session().send("tshirts for men")
    ids = [r.id for r in typical.items]
    assert all(rows[i]["articleType"] == "Tshirts" and rows[i]["gender"] == "Men" for i in ids)
    assert all(rows[i]["baseColour"] == "White" for i in ids)  # the common combination first
    assert [r.id for r in plain.items] != ids


def test_reply_wording_reads_naturally(shop):
    r = _agent(shop).session().send("for men")
    assert r.text.startswith("Here are 3 from the catalogue for men:")
    r = _agent(shop).session().send("black tshirts")
    assert r.text.startswith("Here are 3 from the catalogue for black tshirts:")


def test_who_an_item_is_for_is_relaxed_to_the_nearest_audience_first(shop):
    """Relaxing the gender wish widens it first, one step at a time (girls' → unisex → women's: a
    child's unisex item before an adult's) and drops it only after; with agent.widen_gender=false it
    is dropped at once."""
    agent = _agent(shop)
    hard, order = {"gender": "Girls", "baseColour": "Black"}, ["baseColour", "gender"]
    assert agent._ease(hard, order) == "baseColour" and hard == {"gender": "Girls"}
    assert agent._ease(hard, order) == "gender" and order == ["gender"]
    assert hard == {"gender": {"$in": ["Girls", "Unisex"]}}
    assert agent._ease(hard, order) == "gender" and hard == {"gender": {"$in": ["Girls", "Unisex", "Women"]}}
    assert agent._ease(hard, order) == "gender" and hard == {} and order == []
    hard, order = {"gender": {"$in": ["Men", "Unisex"]}}, ["gender"]
    assert agent._ease(hard, order) == "gender" and hard == {}  # nothing nearer left: dropped
    off = _agent(shop, widen_gender=False)
    hard, order = {"gender": "Boys"}, ["gender"]
    assert off._ease(hard, order) == "gender" and hard == {} and order == []


def test_a_childs_reply_fills_up_with_nearest_kinds_before_an_adults_sizes(shop, monkeypatch):
    """For a child's audience the nearest kinds (for that child) come before the audience widens to
    adults; an adult's reply widens the audience first, then (agent.kinds_before_audience) takes the
    nearest kinds before the audience is dropped. (The shop has no children's items, so its women
    stand in for a child's audience.)"""
    import vlrec.agent.retrieve as retrieve

    _, rows, _ = shop
    off = _agent(shop, k=12, near_kinds=0.0, kinds_before_audience=False)
    adult = off.session().send("casual shoes for women")
    got = [(rows[i]["articleType"], rows[i]["gender"]) for i in _ids(adult)]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and set(got[8:]) == {("Casual Shoes", "Men")}
    # by default an adult's audience, once widened as far as it goes, keeps its nearest kinds first
    agent = _agent(shop, k=12, near_kinds=0.0)
    adult = agent.session().send("casual shoes for women")
    got = [(rows[i]["articleType"], rows[i]["gender"]) for i in _ids(adult)]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and len(got) == 12
    assert {g for _, g in got[8:]} == {"Women"} and {t for t, _ in got[8:]} <= set(
        agent.near_kinds("Casual Shoes")
    )
    monkeypatch.setattr(retrieve, "_CHILDREN", {"Women"})
    agent = _agent(shop, k=12, near_kinds=0.0)
    child = agent.session().send("casual shoes for women")
    got = [(rows[i]["articleType"], rows[i]["gender"]) for i in _ids(child)]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and len(got) == 12
    assert {g for _, g in got[8:]} == {"Women"} and {t for t, _ in got[8:]} <= set(
        agent.near_kinds("Casual Shoes")
    )
    assert "the nearest without the articleType wish" in child.text


def test_a_childs_reply_with_no_nearest_kinds_fills_up_with_the_lms_other_likely_kinds(shop, monkeypatch):
    """A child's kind with no more items and no nearest kinds: the intent LM's other likely kinds
    for that child come before an adult's sizes ("a 6 year old boy, clothes": one boys' shirt, then
    boys' tshirts, not men's shirts). The shop's women stand in for a child's audience."""
    import vlrec.agent.retrieve as retrieve
    from tests.test_intent import _lm_agent

    monkeypatch.setattr(retrieve, "_CHILDREN", {"Women"})
    text = "casual shoes for her birthday"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": {"Casual Shoes": 0.7, "Handbags": 0.3}, "gender": ["Women"]}, {})}, k=12
    )
    agent.cfg.near_kinds = 1.0  # no kind lies near enough
    got = [(rows[i.id]["articleType"], rows[i.id]["gender"]) for i in agent.session().send(text).items]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and len(got) == 12
    assert set(got[8:]) == {("Handbags", "Women")}  # not men's casual shoes


def test_a_childs_reply_with_no_other_kinds_read_fills_up_with_the_childs_items_of_its_category(
    shop, monkeypatch
):
    """A child's kind with no more items, no nearest kinds and no other kind the LM found likely:
    the child's items of other kinds in the same subcategory come before unisex and adult sizes ("trainers for my 9 year old": children's casual shoes, not men's
    trainers), those with most items first. The shop's women stand in for a child's audience."""
    import vlrec.agent.retrieve as retrieve
    from tests.test_intent import _lm_agent

    monkeypatch.setattr(retrieve, "_CHILDREN", {"Women"})
    text = "casual shoes for her birthday"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": {"Casual Shoes": 1.0}, "gender": ["Women"]}, {})}, k=12
    )
    agent.cfg.near_kinds = 1.0  # no kind lies near enough
    for item in agent.items.values():  # shoes and tees share a subcategory; bags have their own
        item["subCategory"] = "Bags" if item["articleType"] == "Handbags" else "Things"
    agent._child_kind_counts = None
    assert agent._child_kinds("Casual Shoes", {"Women"}) == ["Tshirts"]
    got = [(rows[i.id]["articleType"], rows[i.id]["gender"]) for i in agent.session().send(text).items]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and len(got) == 12
    assert set(got[8:]) == {("Tshirts", "Women")}  # not men's casual shoes, nor bags
    import vlrec.agent.kinds as kinds

    monkeypatch.setattr(kinds, "AUDIENCE", {**kinds.AUDIENCE, "Women": ("Men",)})  # men's stand in for unisex
    got = [(rows[i.id]["articleType"], rows[i.id]["gender"]) for i in agent.session().send(text).items]
    assert got[:8] == [("Casual Shoes", "Women")] * 8
    assert set(got[8:]) == {("Tshirts", "Women")}  # the child's own tees before unisex (adult) shoes


def test_a_kind_ruled_out_never_fills_a_reply_and_the_lms_other_kinds_still_do(shop):
    """ "Boxers, not briefs": where the kind asked for runs out and its nearest kind is one the
    shopper ruled out, the reply is not cut short there; the intent LM's other likely kinds fill it
    up (before, the ruled-out kind took the nearest kinds' turn and the reply stayed at the 16 casual
    shoes)."""
    from tests.test_intent import _lm_agent

    text = "casual shoes for her, no tshirts"
    agent, rows = _lm_agent(
        shop,
        {text: ({"articleType": {"Casual Shoes": 0.7, "Handbags": 0.3}, "gender": ["Women"]},
                {"articleType": ["Tshirts"]})},
        k=20,
    )  # fmt: skip
    agent.near_kinds = lambda kind, floor=None, n=2: ["Tshirts"] if kind == "Casual Shoes" else []
    got = [(rows[i.id]["articleType"], rows[i.id]["gender"]) for i in agent.session().send(text).items]
    assert got[:8] == [("Casual Shoes", "Women")] * 8 and len(got) == 20
    assert "Tshirts" not in {t for t, _ in got} and got.count(("Handbags", "Women")) == 4
    # the nearest kind already in the filter (not ruled out), the LM's other kinds still fill the rest
    agent, rows = _lm_agent(
        shop, {"casual shoes for her": ({"articleType": {"Casual Shoes": 0.7, "Handbags": 0.3}, "gender": ["Women"]}, {})},
        k=24,
    )  # fmt: skip
    agent.cfg.k, agent.cfg.candidates, agent.cfg.hedge_places = 40, 40, 0.0  # no hedged places
    agent.near_kinds = lambda kind, floor=None, n=2: ["Tshirts"] if kind == "Casual Shoes" else []
    reply = agent.session().send("casual shoes for her")
    got = [rows[i.id]["articleType"] for i in reply.items]
    assert len(got) == 40 and got[:8] == ["Casual Shoes"] * 8 and "Tshirts" in got and "Handbags" in got
    assert "articleType, articleType" not in reply.text


def test_a_leaning_brings_its_items_into_the_candidates(shop):
    """A leaning of a field in agent.lean_fields (it ranks, never filters) brings its items into the
    candidates by a second search with it as a filter, so they rank first even where the words'
    search found none of them; off (or with enough of them found), the candidates stay the words'."""
    from vlrec.agent.state import Turn

    _, rows, _ = shop

    def reply(lean_fields, leanings):
        agent = _agent(shop, k=4, lean_fields=lean_fields)
        agent.cfg.candidates = 4
        s = agent.session()
        s.turns, s.constraints, s.leanings = (
            [Turn("user", "black casual shoes")],
            {"articleType": "Casual Shoes"},
            leanings,
        )
        return [rows[r.id] for r in agent.retrieve(s)[0]]

    plain = reply((), {})  # the four candidates the words' own search found
    lean = min(("Black", "White"), key=lambda c: sum(r["baseColour"] == c for r in plain))
    assert sum(r["baseColour"] == lean for r in plain) < 4
    on = reply(("baseColour",), {"baseColour": {lean: 1.0}})
    assert len(on) == 4 and all(r["baseColour"] == lean and r["articleType"] == "Casual Shoes" for r in on)
    off = reply((), {"baseColour": {lean: 1.0}})
    assert sorted(r["id"] for r in off) == sorted(r["id"] for r in plain)  # reranks only what was found


def test_a_kind_with_no_more_items_is_followed_by_its_nearest_kinds(shop):
    """The shop has 16 pairs of casual shoes: a reply of 20 lists them all, then fills up with the
    kinds whose items lie nearest (at most two, at or above agent.near_kinds) and says so; at 1
    (never) the reply stays short, and a kind's nearest never include itself."""
    _, rows, _ = shop
    agent = _agent(shop, k=20, near_kinds=0.0)
    r = agent.session().send("casual shoes")
    kinds = [rows[i]["articleType"] for i in _ids(r)]
    assert kinds[:16] == ["Casual Shoes"] * 16 and len(kinds) == 20
    assert set(kinds[16:]) <= set(agent.near_kinds("Casual Shoes")) and "Casual Shoes" not in kinds[16:]
    assert (
        "(Only the first 16 match every wish; the others are the nearest without the articleType wish.)"
        in r.text
    )
    assert agent.near_kinds("Casual Shoes") and "Casual Shoes" not in agent.near_kinds("Casual Shoes")
    assert agent.near_kinds("Sarees") == []  # a kind the catalogue does not have
    short = _agent(shop, k=20, near_kinds=1.0).session().send("casual shoes")
    assert [rows[i]["articleType"] for i in _ids(short)] == ["Casual Shoes"] * 16


def test_a_named_colour_keeps_its_nearest_kinds_before_it_is_dropped(shop):
    """agent.kinds_before_colour: the shop has four pairs of black casual shoes for women; a reply of
    eight fills up with the nearest kinds in black before casual shoes of another colour."""
    _, rows, _ = shop
    got = {}
    for on in (False, True):
        agent = _agent(shop, k=8, near_kinds=0.0, kinds_before_colour=on)
        reply = agent.session().send("black casual shoes for women")
        got[on] = [(rows[i]["articleType"], rows[i]["baseColour"], rows[i]["gender"]) for i in _ids(reply)]
        assert got[on][:4] == [("Casual Shoes", "Black", "Women")] * 4 and len(got[on]) == 8
    assert {c for _, c, _ in got[False][4:]} == {"White"}
    assert {(c, g) for _, c, g in got[True][4:]} == {("Black", "Women")}
    assert {t for t, _, _ in got[True][4:]} <= set(agent.near_kinds("Casual Shoes"))


def test_the_colour_of_what_the_shopper_has_is_not_a_wish(shop):
    """ "To go with my black jeans" read by the LM as black: the colour belongs to the jeans, so the
    tshirt asked for is white, not black; "I own black ones, so something else" excludes black.
    With ``agent.context_colours`` off, the LM's reading stands."""
    from tests.test_intent import _lm_agent

    paired = "a white tshirt to go with my black jeans"
    owned = "tshirts, I already own black ones so something else"
    readings = {t: ({"articleType": ["Tshirts"], "baseColour": ["Black"]}, {}) for t in (paired, owned)}
    agent, rows = _lm_agent(shop, readings, k=6)
    reply = agent.session().send(paired)
    assert reply.constraints["baseColour"] == "White"  # the shopper's own word, not the jeans'
    assert reply.items and all(rows[i.id]["baseColour"] == "White" for i in reply.items)
    other = agent.session().send(owned)
    assert other.avoid["baseColour"] == ["Black"] and "baseColour" not in other.constraints
    assert other.items and all(rows[i.id]["baseColour"] != "Black" for i in other.items)
    agent.cfg.context_colours = False
    assert agent.session().send(paired).constraints["baseColour"] == "Black"


def test_the_kind_the_wanted_item_goes_with_is_not_the_kind_wanted(shop):
    """ "A tshirt to wear with my white sneakers" read by the LM as sneakers: the words name a tshirt
    as the wish and the sneakers (and their colour) as what it goes with, so tshirts of any colour
    are listed; with ``agent.context_kinds`` off, the LM's kind stands."""
    from tests.test_intent import _lm_agent

    text = "a t-shirt to wear with my white sneakers"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": ["Casual Shoes"], "baseColour": ["White"]}, {})}, k=8
    )
    reply = agent.session().send(text)
    assert reply.constraints["articleType"] == "Tshirts" and "baseColour" not in reply.constraints
    assert {rows[i.id]["articleType"] for i in reply.items} == {"Tshirts"}
    assert {rows[i.id]["baseColour"] for i in reply.items} == {"Black", "White"}
    agent.cfg.context_kinds, agent.cfg.lexicon_weight = False, 0.0  # (the words' vote would read it too)
    assert agent.session().send(text).constraints["articleType"] == "Casual Shoes"


def test_a_kind_named_in_everyday_words_outweighs_the_lm_and_a_short_reply_fills_with_its_reading(shop):
    """ "A tote": the words name handbags where the LM read tshirts (``agent.lexicon_weight``); the shop
    has 16 handbags, no kind lies near enough (near_kinds 1), so a reply of 20 ends with the kinds the LM
    itself found likeliest. With the vote off, the LM's reading stands."""
    from tests.test_intent import _lm_agent

    text = "a tote for the office"
    agent, rows = _lm_agent(shop, {text: ({"articleType": {"Tshirts": 0.7, "Casual Shoes": 0.3}}, {})}, k=20)
    agent.cfg.near_kinds, agent.cfg.lexicon_weight = 1.0, 4.0
    session = agent.session()
    reply = session.send(text)
    kinds = [rows[i.id]["articleType"] for i in reply.items]
    assert kinds[:16] == ["Handbags"] * 16 and len(kinds) == 20
    assert set(kinds[16:]) <= {"Tshirts", "Casual Shoes"}
    assert session.fills == ["Tshirts", "Casual Shoes"] and session.state()["fills"] == session.fills
    agent.cfg.lexicon_weight = 0.0
    off = agent.session().send(text)
    assert off.items and {rows[i.id]["articleType"] for i in off.items} <= {"Tshirts", "Casual Shoes"}


def test_the_kinds_the_item_goes_with_lean_who_it_is_for(shop):
    """ "A tshirt to go with my handbag", no gender read: where the kinds named as what the item goes
    with are (nearly) all one audience's in the catalogue, that audience ranks first (never filters)."""
    from tests.test_intent import _lm_agent

    text = "a tshirt to go with my handbag"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Tshirts"]}, {})}, k=4)
    session = agent.session()
    session.send(text)
    assert "gender" not in session.leanings  # the shop's handbags are for men and women alike
    for meta in agent.items.values():
        if meta.get("articleType") == "Handbags":
            meta["gender"] = "Women"
    session = agent.session()
    reply = session.send(text)
    assert session.leanings["gender"] == {"Women": 1.0} and "gender" not in reply.constraints
    assert [rows[i.id]["gender"] for i in reply.items] == ["Women"] * 4


def test_a_kind_named_only_as_what_the_item_goes_with_is_neither_read_nor_a_filling(shop):
    """ "Something to go with my tshirts", read by the LM as mostly tshirts: the words name tshirts
    only as what the item goes with, so the LM's next kind is read, and a short reply is not filled
    up with tshirts. With ``agent.context_kinds`` off, tshirts are listed."""
    from tests.test_intent import _lm_agent

    text = "something to go with my tshirts"
    agent, rows = _lm_agent(shop, {text: ({"articleType": {"Tshirts": 0.7, "Handbags": 0.3}}, {})}, k=20)
    agent.cfg.near_kinds = 1.0
    session = agent.session()
    kinds = [rows[i.id]["articleType"] for i in session.send(text).items]
    assert kinds == ["Handbags"] * 16 and session.goes_with == ["Tshirts"]
    assert session.state()["goes_with"] == ["Tshirts"]
    agent.cfg.context_kinds = False
    assert "Tshirts" in {rows[i.id]["articleType"] for i in agent.session().send(text).items}


def test_a_reply_heading_names_the_kinds_read_as_options(shop):
    from tests.test_intent import _lm_agent

    text = "a bag to match my black tshirt"
    agent, rows = _lm_agent(shop, {text: ({"articleType": {"Handbags": 0.5, "Casual Shoes": 0.4}}, {})}, k=4)
    reply = agent.session().send(text)
    assert reply.text.splitlines()[0].endswith("for handbags or casual shoes:")
    assert {rows[i.id]["articleType"] for i in reply.items} <= {"Handbags", "Casual Shoes"}
