"""Metrics with no model in them: image-text Recall@K and median rank; caption BLEU and CIDEr-D.

An image→text query is a hit at K when any of its captions is in the top K.

Caption metrics use the COCO caption evaluation code (``pycocoevalcap``: ``Bleu`` and
``Cider``, the latter being CIDEr-D) on text tokenised as its PTB tokenizer does (lower
case, punctuation removed; the Java tokenizer itself is not needed). Scores are reported
x100, as papers print them.
"""

from __future__ import annotations

import re

import numpy as np


def recall_metrics(
    image_emb: np.ndarray, text_emb: np.ndarray, caption_image: np.ndarray, ks=(1, 5, 10)
) -> dict[str, float]:
    """Image→text and text→image Recall@K (percent) and median rank (1-based).

    Args:
        image_emb: ``[I, D]`` image vectors (normalised for cosine).
        text_emb: ``[T, D]`` caption vectors.
        caption_image: ``[T]`` index of each caption's image.
    """
    sim = image_emb @ text_emb.T  # [I, T]
    n_img = sim.shape[0]
    owner = np.asarray(caption_image)
    # i2t: rank of the best correct caption = captions scoring strictly higher than it.
    correct = np.full(sim.shape, -np.inf, dtype=sim.dtype)
    correct[owner, np.arange(len(owner))] = sim[owner, np.arange(len(owner))]
    best = correct.max(axis=1)  # [I]
    i2t_rank = (sim > best[:, None]).sum(axis=1)  # [I], 0-based
    # t2i: images scoring strictly higher than the caption's own image.
    own = sim[owner, np.arange(len(owner))]  # [T]
    t2i_rank = (sim > own[None, :]).sum(axis=0)  # [T]
    out = {}
    for k in ks:
        out[f"i2t_R@{k}"] = float(100 * (i2t_rank < k).mean())
    for k in ks:
        out[f"t2i_R@{k}"] = float(100 * (t2i_rank < k).mean())
    out["i2t_medr"] = float(np.median(i2t_rank) + 1)
    out["t2i_medr"] = float(np.median(t2i_rank) + 1)
    out["n_images"] = int(n_img)
    out["n_captions"] = int(len(owner))
    return out


_PUNCT = re.compile(r"[^\w\s]|_")


def ptb_tokenize(text: str) -> str:
    """Lower-case words without punctuation, space-joined (as coco-caption scores them)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def caption_scores(refs: list[list[str]], hyps: list[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 and CIDEr-D (x100) of ``hyps`` against reference lists."""
    from vlrec.core.extras import need

    need("pycocoevalcap", "eval", "caption scores (BLEU, CIDEr-D)")
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
