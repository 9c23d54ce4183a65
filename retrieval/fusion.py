"""Fusion of an item's image and text vectors into one vector.

The seed's three — ``concat`` (each part normalised, weighted), ``mean`` and
``product`` (Hadamard, once both live in the shared space) — plus
``weighted_sum``. A row with no image (``has_image`` false) falls back to its
text part, so an item whose photo is missing is still findable by its text.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Fusion = Literal["concat", "mean", "product", "weighted_sum"]
FUSIONS: tuple[str, ...] = ("concat", "mean", "product", "weighted_sum")


def _norm(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def fused_dim(method: str, dim: int) -> int:
    return 2 * dim if method == "concat" else dim


def fuse(
    image: np.ndarray | None,
    text: np.ndarray | None,
    method: str = "mean",
    image_weight: float = 0.5,
    has_image: np.ndarray | None = None,
) -> np.ndarray:
    """Fuse ``[N, D]`` image and text vectors (either may be None) into ``[N, D']``.

    Args:
        image: Image vectors in the shared space, or None for text-only rows.
        text: Text vectors in the shared space, or None for image-only rows.
        method: One of :data:`FUSIONS`.
        image_weight: Weight of the image part in ``concat`` and ``weighted_sum`` (text gets 1 - w).
        has_image: ``[N]`` bool; rows without an image use their text part alone.
    """
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion '{method}'; expected one of {', '.join(FUSIONS)}")
    if not 0.0 <= image_weight <= 1.0:
        raise ValueError("image_weight must be in [0, 1]")
    if image is None and text is None:
        raise ValueError("fuse() needs image or text vectors")
    ref = image if image is not None else text
    n, d = ref.shape
    img = _norm(image) if image is not None else np.zeros((n, d), np.float32)
    txt = _norm(text) if text is not None else np.zeros((n, d), np.float32)
    mask = np.ones(n, bool) if image is not None else np.zeros(n, bool)
    if has_image is not None:
        mask &= np.asarray(has_image, bool)
    img = img * mask[:, None]
    text_present = text is not None
    w_img, w_txt = image_weight, 1.0 - image_weight
    if method == "concat":
        if not text_present:
            w_img, w_txt = 1.0, 0.0
        out = np.concatenate([w_img * img, w_txt * txt], axis=1)
        return _norm(out)
    if method == "product":
        out = img * txt
        out = np.where(mask[:, None] & text_present, out, img + txt)  # one part missing: the other
        return _norm(out)
    if method == "mean":
        w_img, w_txt = 0.5, 0.5
    if not text_present:
        return _norm(img)
    out = np.where(mask[:, None], w_img * img + w_txt * txt, txt)
    return _norm(out)
