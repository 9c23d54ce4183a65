"""Colour descriptors of product photos, for the projector and the attribute heads.

EfficientNet's top-level ImageNet features carry little colour (a linear probe on them reads
the catalogue's base colour right 50 % of the time), so the VLM also sees two cheap,
hand-made colour descriptors of the centre square (the crop the vision encoder sees):

- :func:`colour_grid`: per cell of a ``side`` x ``side`` grid, mean and standard deviation of
  R, G, B (``[B, side*side, 6]``), row-major like the encoder's patches;
- :func:`colour_histogram`: one histogram per image over the *foreground* (pixels that are
  not near-white studio background) in HSV: 12 hues x 4 saturations x 4 values, 8 grey
  levels for unsaturated pixels, the foreground's mean RGB and its share of the photo
  (``[B, HIST_DIM]``). On the project's dev split this lifts a probe's colour accuracy from
  59 to 68 % (``benchmarks/bench_vqa.py``).

Both are deterministic functions of the pixels, so training caches them beside the frozen
image features (:mod:`vlrec.models.features`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

GRID_DIM = 6
HUES, SATS, VALS, GREYS = 12, 4, 4, 8
HIST_DIM = HUES * SATS * VALS + GREYS + 3 + 1
_BACKGROUND = 0.92  # a pixel whose every channel is above this is studio background
_GREY_SAT = 0.15


def colour_grid(images: Sequence[Any], side: int = 7, cell: int = 8) -> torch.Tensor:
    """Per-cell colour statistics ``[B, side*side, 6]``: mean and standard deviation of R, G, B
    in [0, 1] over a ``side`` x ``side`` grid of the centre square, row-major."""
    from vlrec.core.images import load_image
    from vlrec.models.vision import centre_square

    size = side * cell
    out = []
    for image in images:
        img = centre_square(load_image(image), size, resample=Image.Resampling.BILINEAR)
        a = np.asarray(img, dtype=np.float32) / 255.0
        a = a.reshape(side, cell, side, cell, 3).transpose(0, 2, 1, 3, 4).reshape(side * side, cell * cell, 3)
        out.append(np.concatenate([a.mean(1), a.std(1)], axis=1))
    return torch.from_numpy(np.stack(out)) if out else torch.zeros(0, side * side, GRID_DIM)


def colour_histogram(images: Sequence[Any], size: int = 64) -> torch.Tensor:
    """Foreground colour histogram of each image ``[B, HIST_DIM]`` (fractions of the foreground;
    a photo with no foreground counts every pixel)."""
    from vlrec.core.images import load_image
    from vlrec.models.vision import centre_square

    out = []
    for image in images:
        img = centre_square(load_image(image), size, resample=Image.Resampling.BILINEAR)
        rgb = np.asarray(img, dtype=np.float32).reshape(-1, 3) / 255.0
        hsv = np.asarray(img.convert("HSV"), dtype=np.float32).reshape(-1, 3) / 255.0
        fg = rgb.min(axis=1) <= _BACKGROUND
        share = float(fg.mean())
        w = (fg if fg.any() else np.ones_like(fg)).astype(np.float32)
        w /= w.sum()
        h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
        hb = np.minimum((h * HUES).astype(int), HUES - 1)
        sb = np.minimum((s * SATS).astype(int), SATS - 1)
        vb = np.minimum((v * VALS).astype(int), VALS - 1)
        hist = np.zeros(HUES * SATS * VALS, np.float32)
        np.add.at(hist, (hb * SATS + sb) * VALS + vb, w)
        grey = np.zeros(GREYS, np.float32)
        np.add.at(grey, np.minimum((v * GREYS).astype(int), GREYS - 1), w * (s < _GREY_SAT))
        mean = (rgb * w[:, None]).sum(axis=0)
        out.append(np.concatenate([hist, grey, mean, [share]]).astype(np.float32))
    return torch.from_numpy(np.stack(out)) if out else torch.zeros(0, HIST_DIM)
