"""What the VLM says about a photo: answer scores, and the retrieval-augmented captioner
(kNN consensus, shared-space similarity, the VLM choosing among the candidates)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import SAMPLE
from tests.test_reader import _sample_rows


def test_answer_logprobs_equal_the_full_logits_sum(tiny_lm_dir):
    from tests.test_vlm import _photos, build_tiny_vlm

    vlm = build_tiny_vlm(tiny_lm_dir, "none")
    photos = _photos(1)
    pooled = vlm.projector.pool(vlm.image_patches(photos).float())  # [1, T, C]
    prompt = vlm.render("what colour is it?")
    answers = ["red", "a red shirt", "black"]
    got = vlm.answer_logprobs([prompt] * 3, answers, pooled.expand(3, -1, -1))
    for answer, value in zip(answers, got):
        ids, mask, labels = vlm.collate([(prompt, answer)])
        logp = vlm.logits(ids, mask, pooled=pooled).float().log_softmax(-1)[0, :-1]
        target = labels[0, 1:]
        keep = target != -100
        assert float(value) == pytest.approx(float(logp[keep].gather(1, target[keep, None]).sum()), abs=1e-4)
    assert got[1] < got[0]  # a longer answer has more tokens to pay for


def test_consensus_prefers_the_caption_the_others_agree_with():
    from vlrec.adapters.captioner import RetrievalCaptioner, consensus, fit_vectorizer
    from vlrec.adapters.reader import ArrayDatastore

    caps = ["a dog runs on the grass", "a brown dog runs on the grass", "a dog runs on green grass",
            "a man rides a bike in the city"]  # fmt: skip
    vec = fit_vectorizer(caps * 3)
    score = consensus(caps, vec)
    assert int(np.argmax(score)) in (0, 1) and int(np.argmin(score)) == 3
    store = ArrayDatastore(["a", "b", "c"], np.eye(3, 4, dtype=np.float32),
                           [{"captions": caps[:2]}, {"captions": caps[2:3]}, {"captions": caps[3:]}])  # fmt: skip
    cap = RetrievalCaptioner(None, store, vec, k=2, rerank=2)
    cands = cap.candidates(np.array([[1, 0.5, 0, 0]], np.float32), exclude=["c"])
    assert len(cands[0][0]) == 2 and caps[3] not in cands[0][0]
    assert cap.choose(cands, None) == [cands[0][0][0]]
    # a VLM score that strongly prefers the second candidate decides when weighted
    assert cap.choose(cands, [np.array([-5.0, -1.0])], lm_weight=100.0) == [cands[0][0][1]]


def test_the_shared_space_similarity_promotes_the_caption_nearest_the_image():
    """The second stage: the top consensus candidates scored again by how near each caption lies
    to the image in the shared space; a caption far from the others but on the image wins once
    weighted, and the captions' vectors are computed once each."""
    from vlrec.adapters.captioner import RetrievalCaptioner, fit_vectorizer, shared_space_texts
    from vlrec.adapters.reader import ArrayDatastore

    caps = ["a dog runs on the grass", "a brown dog runs on the grass", "a dog runs on green grass",
            "a man rides a bike in the city"]  # fmt: skip
    vec = fit_vectorizer(caps * 3)
    store = ArrayDatastore(
        ["a", "b"], np.eye(2, 4, dtype=np.float32), [{"captions": caps[:2]}, {"captions": caps[2:]}]
    )
    where = {c: np.eye(4, dtype=np.float32)[i] for i, c in enumerate(caps)}  # each caption on its own axis
    calls = []

    class Embedder:  # stands in for MiniLM: a caption's "sentence vector"
        def embed(self, texts):
            calls.extend(texts)
            return np.stack([where[t] for t in texts])

    class Head:  # stands in for the alignment head's text side
        def encode_text(self, x):
            return x

    texts = shared_space_texts(Embedder(), Head())
    image = np.array([[0.1, 0.0, 0.0, 1.0]], np.float32)  # on the bike caption's axis
    plain = RetrievalCaptioner(None, store, vec, k=2, rerank=4)
    assert plain.choose(plain.candidates(image), None) != [caps[3]]  # consensus alone: a dog caption
    cap = RetrievalCaptioner(None, store, vec, k=2, rerank=2, pool=4, align_weight=3.0, text_vectors=texts)
    cands = cap.candidates(image)
    assert cands[0][0][0] == caps[3] and len(cands[0][0]) == 2
    assert cap.choose(cands, None) == [caps[3]]
    unweighted = cap.choose(cap.candidates(image, align_weight=0.0), None)
    assert unweighted != [caps[3]]  # the weight is what decides
    cap.candidates(image)
    assert sorted(calls) == sorted(caps)  # each caption embedded once, however often it is a candidate
    with pytest.raises(ValueError, match="text_vectors"):
        RetrievalCaptioner(None, store, vec, align_weight=1.0)


def test_retrieval_captions_come_from_the_neighbours_and_the_vlm_chooses(tiny_lm_dir, tmp_path, monkeypatch):
    from tests.test_vlm import build_tiny_vlm
    from vlrec.adapters.captioner import caption_images, captioner_from_file
    from vlrec.config import load_config

    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path / "cache"))
    rows = _sample_rows(12)
    caps = tmp_path / "caps.jsonl"
    caps.write_text(
        "".join(
            json.dumps(
                {"image": str(SAMPLE / r["image"]), "captions": [r["title"], f"a {r['baseColour']} thing"]}
            )
            + "\n"
            for r in rows
        )
    )
    vlm = build_tiny_vlm(tiny_lm_dir, "none")
    cfg = load_config(None)
    cap = captioner_from_file(cfg.vision, cfg.retrieval.head, vlm, caps)
    cap.k, cap.rerank = 3, 4
    photo = SAMPLE / rows[0]["image"]
    got = caption_images(cap, [photo])
    allowed = {c for r in rows for c in (r["title"], f"a {r['baseColour']} thing")}
    assert len(got) == 1 and got[0] in allowed  # copied, never invented
    # the photo's own entry is its nearest neighbour, so its captions are among the candidates
    with torch.no_grad():
        cands = cap.candidates(cap.head.encode_image(vlm.vision.encode([photo]).pooled).numpy())
    assert rows[0]["title"] in cands[0][0] or f"a {rows[0]['baseColour']} thing" in cands[0][0]

    # weighted as a model that weighs the shared-space similarity: MiniLM and the head's text side
    # score the top candidates; `vlrec eval caption` prints that row beside consensus, still copies
    vlm.fusion["caption"] = {"lm_weight": 1.0, "k": 3, "rerank": 2, "pool": 6, "align_weight": 2.0}
    cap = captioner_from_file(cfg.vision, cfg.retrieval.head, vlm, caps, cfg.text)
    assert cap.text_vectors is not None and (cap.pool, cap.align_weight) == (6, 2.0)
    assert caption_images(cap, [photo])[0] in allowed
    from vlrec.eval.captions import eval_captions, format_captions

    result, detail = eval_captions(cfg, vlm, caps, caps, split="test", limit=3)
    assert result["align_weight"] == 2.0 and len(detail) == 3
    assert any("shared-space similarity" in row for row in result["scores"])
    assert all(d["vlm"] in allowed and d["consensus"] in allowed for d in detail)
    assert "similarity weight 2" in format_captions(result)
