"""Flickr8k-style caption files: one image a line, ``{"image": "images/x.jpg",
"captions": ["...", ...]}``, the image path relative to the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlrec.core.jsonl import read_jsonl


def read_caption_file(path: str | Path) -> tuple[list[Path], list[str], np.ndarray]:
    """Images, all captions flattened, and the image index of each caption."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"caption file '{path}' does not exist")
    images, captions, owner = [], [], []
    for number, row, _ in read_jsonl(path):
        try:
            image, caps = row["image"], row["captions"]
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}:{number}: expected {{'image': ..., 'captions': [...]}} ({exc})"
            ) from None
        if not isinstance(caps, list) or not caps or not all(isinstance(c, str) for c in caps):
            raise ValueError(f"{path}:{number}: 'captions' must be a non-empty list of strings")
        owner += [len(images)] * len(caps)
        captions += caps
        images.append(path.parent / image)
    return images, captions, np.asarray(owner, dtype=np.int64)
