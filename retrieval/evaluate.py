"""Retrieval metrics: image↔text Recall@K and median rank, Flickr8k-style files.

A Flickr8k-style file has one image a line: ``{"image": "images/x.jpg",
"captions": ["...", ...]}`` with the image path relative to the file. An
image→text query is a hit at K when any of its captions is in the top K.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def read_caption_file(path: str | Path) -> tuple[list[Path], list[str], np.ndarray]:
    """Images, all captions flattened, and the image index of each caption."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"caption file '{path}' does not exist")
    images, captions, owner = [], [], []
    for number, line in enumerate(path.open(encoding="utf-8"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            image, caps = row["image"], row["captions"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}:{number}: expected {{'image': ..., 'captions': [...]}} ({exc})"
            ) from None
        if not isinstance(caps, list) or not caps or not all(isinstance(c, str) for c in caps):
            raise ValueError(f"{path}:{number}: 'captions' must be a non-empty list of strings")
        owner += [len(images)] * len(caps)
        captions += caps
        images.append(path.parent / image)
    return images, captions, np.asarray(owner, dtype=np.int64)


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
