"""What the evaluations share: asking the VLM many questions in batches, with progress.

Attribute reading is evaluated in :mod:`vlrec.eval.attributes`, captions in
:mod:`vlrec.eval.captions`, each beside its plain baselines; the metrics themselves are in
:mod:`vlrec.core.metrics`.
"""

from __future__ import annotations

import sys


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
