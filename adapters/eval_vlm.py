"""Evaluation helpers of the VLM: caption metrics (BLEU, CIDEr-D) and batched asking.

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
