"""The VLM recipe's data: the task mix as samples, and the pooled image features they use.

Frozen vision features are cached on disk (:mod:`vlrec.models.features`) and pooled
once to the projector's token grid (:class:`FeatureBank`), so a training step never
runs the vision encoder.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import torch

from vlrec.data.vlm_tasks import (
    Sample,
    caption_samples,
    fashion_intent_samples,
    read_fashion,
    redial_intent_samples,
    vqa_samples,
)

if TYPE_CHECKING:
    from vlrec.adapters.train.vlm_config import VLMTrainConfig


def _take(samples: list[Sample], n: int, rng: random.Random) -> list[Sample]:
    if n < 0 or n >= len(samples):
        return samples
    return rng.sample(samples, n)


def build_samples(t: VLMTrainConfig) -> tuple[list[Sample], dict[str, list[Sample]]]:
    """Training samples and held-out samples per task, as configured."""
    rng = random.Random(t.seed)
    train: list[Sample] = []
    held: dict[str, list[Sample]] = {}
    if t.captions:
        train += _take(caption_samples(t.caption_data, seed=t.seed), t.captions, rng)
        held["caption"] = _take(
            caption_samples(t.caption_eval, per_image=1, seed=t.seed), t.eval_samples, rng
        )
    if t.vqa or t.intents:
        rows = read_fashion(t.fashion_data)
        if t.vqa:
            train += _take(vqa_samples(rows, "train", t.seed), t.vqa, rng)
            held["vqa"] = _take(vqa_samples(rows, "eval", t.seed), t.eval_samples, rng)
        if t.intents:
            train += fashion_intent_samples(rows, "train", t.intents, t.seed)
            held["intent"] = fashion_intent_samples(rows, "eval", t.eval_samples, t.seed + 1)
    if t.redial:
        train += _take(redial_intent_samples(t.redial_data), t.redial, rng)
    if not train:
        raise ValueError("train: no samples; set train.captions, train.vqa, train.intents or train.redial")
    return train, held


class FeatureBank:
    """Pooled image features for every image the samples use, looked up by path."""

    def __init__(self, vision, projector, groups: list[list[str]]):
        from vlrec.models.features import colour_features, colour_histograms, image_features

        self.index: dict[str, int] = {}
        parts = []
        for paths in groups:
            patches = image_features(vision, paths, desc="image features")["patches"]
            colour = colour_features(paths, math.isqrt(patches.shape[1])) if projector.colour_dim else None
            hist = colour_histograms(paths) if projector.hist_dim else None
            for start in range(0, len(patches), 1024):
                x = patches[start : start + 1024].float()
                if colour is not None:
                    x = torch.cat([x, colour[start : start + 1024]], dim=-1)
                if hist is not None:
                    h = hist[start : start + 1024].unsqueeze(1).expand(-1, x.shape[1], -1)
                    x = torch.cat([x, h], dim=-1)
                with torch.no_grad():
                    parts.append(projector.pool(x).half())
            for p in paths:
                self.index.setdefault(p, len(self.index))
        self.pooled = torch.cat(parts) if parts else torch.zeros(0)

    def get(self, paths: list[str]) -> torch.Tensor | None:
        if not paths:
            return None
        return self.pooled[[self.index[p] for p in paths]].float()


def image_groups(t: VLMTrainConfig, samples: list[Sample]) -> list[list[str]]:
    """Image lists in the exact form the feature cache was (or will be) keyed on."""
    used = {s.image for s in samples if s.image}
    groups = []
    if t.captions:
        from vlrec.data.captions import read_caption_file

        for f in (t.caption_data, t.caption_eval):
            groups.append([str(p) for p in read_caption_file(f)[0]])
    if t.vqa:
        groups.append([r["image"] for r in read_fashion(t.fashion_data)])
    covered = {p for g in groups for p in g}
    if used - covered:
        groups.append(sorted(used - covered))
    return groups
