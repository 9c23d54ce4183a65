"""What a request is for: the phrase bank's vote on the article type (:mod:`vlrec.agent.needs`)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import HashTextEmbedder


def _bank(tmp_path, bank):
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(bank))
    return path


def test_clauses_drop_what_is_negated_and_keep_each_clause_of_three_words_or_more():
    from vlrec.agent.needs import clauses

    got = clauses("need a thing to hold my trousers up, not black (tan or brown) and something cheap")
    assert got[0] == "need a thing to hold my trousers up tan or brown something cheap"  # no negated clause
    assert got[1:] == ["need a thing to hold my trousers up", "tan or brown"]  # not "something cheap"
    assert clauses("anything but heels for a long day, size 7") == ["size 7"]
    assert clauses("no heels") == ["no heels"]  # all negation: kept whole
    assert len(clauses(", ".join(f"clause number {n} here" for n in range(100)))) == 16  # bounded


def test_the_nearest_phrases_vote_for_their_kinds_and_unknown_kinds_are_left_out(tmp_path):
    from vlrec.agent.needs import Needs

    bank = {"Belts": ["something to hold my trousers up", "a strap with a buckle"],
            "Caps": ["keep the sun off my head", "a peak for the cricket"],
            "Kites": ["something to fly on a windy beach"]}  # fmt: skip
    needs = Needs(HashTextEmbedder(), {"Belts", "Caps"}, _bank(tmp_path, bank))
    assert set(needs.kinds) == {"Belts", "Caps"} and len(needs.phrases) == 4  # no kites in this shop
    vote = needs.vote("need a thing to hold my trousers up at the office, not black", k=2, floor=0.3)
    assert max(vote, key=vote.get) == "Belts"
    assert "Belts" not in needs.vote("something to hold my trousers up", k=2, floor=0.3, ruled={"Belts"})
    # a ruled-out kind takes no voting place: with one place, the next kind gets it
    assert set(needs.vote("something to hold my trousers up", k=1, floor=-1.0, ruled={"Belts"})) == {"Caps"}
    assert needs.vote("something to fly on a windy beach", k=2, floor=0.3).get("Kites") is None
    assert needs.vote("zzz qqq", k=3, floor=0.3) == {}  # nothing clears the floor
    assert needs.vote("   ", k=3) == {}


def test_a_malformed_bank_is_named_in_the_error(tmp_path):
    from vlrec.agent.needs import Needs

    bad = tmp_path / "bad.json"
    bad.write_text('{"Belts": "not a list"}')
    with pytest.raises(ValueError, match="bad.json"):
        Needs(HashTextEmbedder(), {"Belts"}, bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="broken.json"):
        Needs(HashTextEmbedder(), {"Belts"}, broken)


def test_the_packaged_bank_covers_the_fashion_kinds_once_each():
    from vlrec.agent.needs import BANK, load_bank
    from vlrec.core.paths import ASSETS

    assert BANK.is_relative_to(ASSETS)  # found from the package's assets, in a wheel too
    bank = load_bank()
    assert len(bank) >= 70 and all(len(v) >= 20 for v in bank.values())
    phrases = [p.lower() for v in bank.values() for p in v]
    assert len(phrases) == len(set(phrases))  # one phrase, one kind


def _agent(shop, tmp_path, text, kinds, **cfg):
    """An agent over the shop whose intent LM reads ``text`` as ``kinds`` (value -> probability),
    with a bank where carrying a laptop and lunch is what handbags are for."""
    from tests.test_intent import FakeIntent
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent
    from vlrec.retrieval.words import WordsIndex

    searcher, rows, _ = shop
    bank = _bank(tmp_path, {"Handbags": ["to carry my laptop and lunch"], "Tshirts": ["a tee for the gym"]})
    words = WordsIndex(searcher.store, searcher.catalog, HashTextEmbedder(), progress=False)
    config = AgentConfig(k=4, candidates=24, needs_bank=str(bank), needs_floor=0.3, **cfg)
    return Agent(config, searcher, intent=FakeIntent({text: ({"articleType": kinds}, {})}), words=words), rows


def test_the_agent_weighs_the_lm_reading_with_what_the_request_is_for(shop, tmp_path):
    """The intent LM torn between tshirts and handbags; the bank's nearest phrase says handbags.
    Off (``needs_weight`` 0), both kinds stay acceptable."""
    text = "something to carry my laptop and lunch to work"
    agent, rows = _agent(shop, tmp_path, text, {"Tshirts": 0.55, "Handbags": 0.45}, needs_weight=2.0)
    reply = agent.session().send(text)
    assert reply.constraints.get("articleType") == "Handbags"
    assert reply.items and all(rows[i.id]["articleType"] == "Handbags" for i in reply.items)
    off, _ = _agent(shop, tmp_path, text, {"Tshirts": 0.55, "Handbags": 0.45}, needs_weight=0.0)
    assert off.needs is None
    torn = off.session().send(text)  # both kinds stay acceptable
    assert "articleType" not in torn.constraints
    assert set(torn.options["articleType"]) == {"Tshirts", "Handbags"}


def test_where_the_words_name_the_kinds_the_phrases_keep_quiet_unless_asked(shop, tmp_path):
    """ "A handbag or a tshirt to carry my laptop and lunch" names both kinds: the shopper's own
    words stand (both stay acceptable); with ``needs_named`` (and no ``kind_lists``) the phrases
    vote there too."""
    text = "a handbag or a tshirt to carry my laptop and lunch"
    agent, _ = _agent(shop, tmp_path, text, {"Tshirts": 0.5, "Handbags": 0.5}, needs_weight=2.0)
    both = agent.session().send(text)
    assert set(both.options["articleType"]) == {"Tshirts", "Handbags"}
    agent.cfg.needs_named, agent.cfg.kind_lists = True, False  # a list would keep both
    assert agent.session().send(text).constraints.get("articleType") == "Handbags"
