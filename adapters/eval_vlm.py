"""Evaluation helpers of the VLM: caption metrics (BLEU, CIDEr-D), batched asking, intent writing.

Attribute reading is evaluated in :mod:`adapters.eval_attributes`, captions in
:mod:`adapters.eval_captions`, each beside its plain baselines.

Caption metrics use the COCO caption evaluation code (``pycocoevalcap``: ``Bleu``
and ``Cider``, the latter being CIDEr-D) on text tokenised as its PTB tokenizer does
(lower case, punctuation removed; the Java tokenizer itself is not needed). Scores
are reported x100, as papers print them.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from adapters.vlm_data import (
    fashion_intent_samples,
    parse_intent,
    read_fashion,
    redial_intent_samples,
)

_PUNCT = re.compile(r"[^\w\s]|_")


def ptb_tokenize(text: str) -> str:
    """Lower-case words without punctuation, space-joined (as coco-caption scores them)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def caption_scores(refs: list[list[str]], hyps: list[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 and CIDEr-D (x100) of ``hyps`` against reference lists."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} reference lists but {len(hyps)} hypotheses")
    gts = {i: [ptb_tokenize(r) for r in rs] for i, rs in enumerate(refs)}
    res = {i: [ptb_tokenize(h) or "empty"] for i, h in enumerate(hyps)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    out = {f"BLEU-{n}": 100 * float(b) for n, b in enumerate(bleu, start=1)}
    out["CIDEr"] = 100 * float(cider)
    return out


def _batched_ask(vlm, items: list[tuple[str | None, str]], batch_size: int, desc: str, **kw) -> list[str]:
    """Answers for ``(image or None, question)`` pairs, batched, with a progress bar."""
    from tqdm import tqdm

    out: list[str] = []
    for start in tqdm(range(0, len(items), batch_size), desc=desc, unit="batch", file=sys.stderr):
        chunk = items[start : start + batch_size]
        images = [img for img, _ in chunk if img is not None]
        patches = vlm.image_patches(images) if images else None
        prompts = [vlm.render(q, image=img is not None) for img, q in chunk]
        out += vlm.generate(prompts, patches=patches, **kw)
    return out


def _norm(text: str) -> str:
    return ptb_tokenize(text)


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(_norm, map(str, a))) == sorted(map(_norm, map(str, b)))
    return _norm(str(a)) == _norm(str(b))


def eval_intent(
    vlm,
    catalog: str | Path,
    n: int = 200,
    redial: str | Path | None = None,
    embedder=None,
    batch_size: int = 8,
    seed: int = 7,
) -> tuple[dict, list[dict]]:
    """Intent writing on held-out shopper conversations.

    Reports: ``parsed`` (share of replies holding a JSON intent), ``exact`` (all
    constraints equal the truth, none extra), per-field accuracy, and with an
    ``embedder``, ``query_P@10``: the share of the 10 catalogue items nearest to the
    written query (text embedding, no filter) that satisfy every true constraint,
    beside the same for the raw conversation as the query.
    """
    rows = read_fashion(catalog)
    samples = fashion_intent_samples(rows, "eval", n, seed)
    if redial:
        samples += redial_intent_samples(redial)
    replies = _batched_ask(
        vlm, [(None, s.question) for s in samples], batch_size, "intents", max_new_tokens=64
    )
    parsed, exact, per_key = [], [], defaultdict(list)
    detail = []
    for s, reply in zip(samples, replies):
        got = parse_intent(reply)
        truth = s.facts["constraints"]
        parsed.append(got is not None)
        cons = {k: v for k, v in (got or {}).items() if k != "query"}
        ok = got is not None and set(cons) == set(truth) and all(_same(cons[k], truth[k]) for k in truth)
        exact.append(ok)
        for k, v in truth.items():
            per_key[k].append(got is not None and k in cons and _same(cons[k], v))
        detail.append({"conversation": s.question, "reply": reply, "truth": s.answer, "exact": ok})
    result: dict = {
        "parsed": 100 * float(np.mean(parsed)),
        "exact": 100 * float(np.mean(exact)),
        **{f"acc/{k}": 100 * float(np.mean(v)) for k, v in sorted(per_key.items())},
        "conversations": len(samples),
    }
    if embedder is not None:
        fashion = [(s, d) for s, d in zip(samples, detail) if "source" not in s.facts]
        titles = [r["title"] for r in rows]
        from retrieval.features import text_features

        item_vecs = text_features(embedder, titles, desc="catalogue titles")
        written = [(parse_intent(d["reply"]) or {}).get("query") or "" for _, d in fashion]
        raw = [s.question.rsplit("\n", 1)[0] for s, _ in fashion]
        truths = [s.facts["constraints"] for s, _ in fashion]
        result["query_P@10"] = _precision_at_10(embedder, written, truths, item_vecs, rows)
        result["conversation_P@10"] = _precision_at_10(embedder, raw, truths, item_vecs, rows)
    return result, detail


def _precision_at_10(embedder, queries, truths, item_vecs, rows) -> float:
    q = embedder.embed([x or "-" for x in queries])
    top = np.argsort(-(q @ item_vecs.T), axis=1)[:, :10]
    scores = []
    for t, idx in zip(truths, top):
        scores.append(np.mean([all(_same(rows[i].get(k), v) for k, v in t.items()) for i in idx]))
    return 100 * float(np.mean(scores))
