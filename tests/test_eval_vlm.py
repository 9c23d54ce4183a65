"""Caption metrics against hand-computed values; intent parsing; Q&A data splits."""

from __future__ import annotations

import math

import pytest


def test_bleu_matches_hand_computed_values():
    from vlrec.core.metrics import caption_scores

    # hypothesis and reference of equal length (no brevity penalty):
    # unigram precision 5/6, bigram 3/5 -> BLEU-2 = sqrt(5/6 * 3/5)
    s = caption_scores([["the cat is on the mat"]], ["the cat sat on the mat"])
    assert s["BLEU-1"] == pytest.approx(100 * 5 / 6, abs=1e-3)
    assert s["BLEU-2"] == pytest.approx(100 * math.sqrt(5 / 6 * 3 / 5), abs=1e-3)
    perfect = caption_scores([["a dog runs on the grass ."]], ["A dog runs on the grass"])
    assert perfect["BLEU-4"] == pytest.approx(100, abs=1e-3)


def test_cider_prefers_the_right_caption():
    from vlrec.core.metrics import caption_scores

    refs = [
        ["a dog runs on the grass", "a brown dog running outside"],
        ["a man rides a bike", "a person cycling down a road"],
        ["two kids play in the water", "children splash in a pool"],
    ]
    good = caption_scores(refs, ["a dog running on grass", "a man riding a bike", "kids play in water"])
    swapped = caption_scores(refs, ["a man riding a bike", "kids play in water", "a dog running on grass"])
    assert good["CIDEr"] > 50 > swapped["CIDEr"]
    assert good["BLEU-1"] > swapped["BLEU-1"]


def test_parse_intent_reads_the_first_json_object_only():
    from vlrec.data.vlm_tasks import parse_intent

    assert parse_intent('{"query": "black shoes", "baseColour": "Black"} trailing') == {
        "query": "black shoes",
        "baseColour": "Black",
    }
    assert parse_intent("no json here") is None
    assert parse_intent('{"colour": "red"}') is None  # no query
    assert parse_intent("{broken") is None


def test_held_out_items_never_reach_training():
    from tests.conftest import SAMPLE
    from vlrec.data.vlm_tasks import fashion_intent_samples, held_out, read_fashion, vqa_samples

    rows = read_fashion(SAMPLE / "catalog.jsonl")
    train = vqa_samples(rows, "train")
    test = vqa_samples(rows, "eval")
    assert train and test
    assert not {s.facts["id"] for s in train} & {s.facts["id"] for s in test}
    assert all(held_out(s.facts["id"]) for s in test)
    intents = fashion_intent_samples(rows, "train", 50, seed=1)
    assert not any(held_out(s.facts["id"]) for s in intents)
    # every intent answer is valid JSON whose constraints are the truth
    import json

    for s in intents:
        got = json.loads(s.answer)
        assert {k: v for k, v in got.items() if k != "query"} == s.facts["constraints"]
