"""The multimodal embedder: vision encoder + text embedder + alignment head + fusion.

Everything vlrec stores or queries is a vector in the head's shared space, so an
image, a phrase, or an image with a phrase can be compared with any item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from vlrec.adapters.align import DEFAULT_HEAD, AlignmentHead
from vlrec.core.config import check
from vlrec.core.images import ImageInput
from vlrec.core.runtime import RuntimeConfig
from vlrec.models.text import TextConfig
from vlrec.models.vision import VisionConfig
from vlrec.retrieval.fusion import Fusion, fuse


@dataclass
class RetrievalConfig:
    """How items and queries become vectors, and how many hits come back."""

    head: str | None = None
    """Alignment head folder; null is the shipped head for the default stack (assets/align/default)."""
    fusion: Fusion = "weighted_sum"
    """concat | mean | product | weighted_sum: how an item's image and text vectors combine."""
    image_weight: float = 0.5
    """Image share in concat / weighted_sum fusion (text gets the rest)."""
    k: int = 10

    def __post_init__(self) -> None:
        check(0.0 <= self.image_weight <= 1.0, "retrieval.image_weight", "must be in [0, 1]")
        check(1 <= self.k <= 1000, "retrieval.k", "must be in [1, 1000]")


class MultimodalEmbedder:
    def __init__(self, vision, text, head: AlignmentHead, head_path: Path, cfg: RetrievalConfig):
        self.vision, self.text, self.head, self.cfg = vision, text, head, cfg
        digest = hashlib.sha256((head_path / "head.safetensors").read_bytes()).hexdigest()[:12]
        self.head_id = digest
        self.dim = head.cfg.dim

    def get_config(self) -> dict:
        """What made the vectors: a store refuses queries from a different embedder."""
        return {
            "vision": self.vision.config.name,
            "text": self.text.name,
            "head": self.head_id,
            "dim": self.dim,
        }

    @torch.inference_mode()
    def encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Preprocessed pixels ``[B, 3, H, W]`` → shared-space vectors ``[B, D]``."""
        feats = self.vision(pixels)
        x = feats.patches if self.head.uses_patches else feats.pooled
        return self.head.encode_image(x).numpy()

    @torch.inference_mode()
    def image_vectors(self, feats) -> np.ndarray:
        """Shared-space vectors ``[B, D]`` of already computed vision features (a ``VisionFeatures``)."""
        x = feats.patches if self.head.uses_patches else feats.pooled
        return self.head.encode_image(x).numpy()

    def images(self, images: Sequence[ImageInput]) -> np.ndarray:
        out = [
            self.encode_pixels(self.vision.preprocess(images[i : i + self.vision.config.batch_size]))
            for i in range(0, len(images), self.vision.config.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    @torch.inference_mode()
    def texts(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.text.embed(list(texts))
        return self.head.encode_text(torch.from_numpy(vectors)).numpy()

    def fused(self, image: np.ndarray | None, text: np.ndarray | None, has_image=None, image_weight=None):
        w = self.cfg.image_weight if image_weight is None else image_weight
        return fuse(image, text, self.cfg.fusion, w, has_image)


class EmbedderSections(Protocol):
    """The config sections the embedder is built from (the root config has them all)."""

    runtime: RuntimeConfig
    vision: VisionConfig
    text: TextConfig
    retrieval: RetrievalConfig


def load_embedder(cfg: EmbedderSections) -> MultimodalEmbedder:
    """Build the multimodal embedder from the vision, text, retrieval and runtime sections."""
    from vlrec.models.text import load_text_embedder
    from vlrec.models.vision import load_vision_encoder

    path = Path(cfg.retrieval.head) if cfg.retrieval.head else DEFAULT_HEAD
    head, meta = AlignmentHead.load(path)
    if meta.get("vision") not in (None, cfg.vision.name):
        raise ValueError(
            f"alignment head '{path}' was trained on {meta['vision']} features, but vision.name is "
            f"{cfg.vision.name}; set vision.name={meta['vision']} or retrieval.head to a matching head"
        )
    vision = load_vision_encoder(cfg.vision, cfg.runtime.device)
    text = load_text_embedder(cfg.text, cfg.runtime.device)
    if meta.get("text") not in (None, text.name):
        raise ValueError(
            f"alignment head '{path}' was trained on {meta['text']} text vectors, not {text.name}"
        )
    return MultimodalEmbedder(vision, text, head, path, cfg.retrieval)
