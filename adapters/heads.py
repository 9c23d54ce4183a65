"""Attribute heads: one classifier per catalogue field over the VLM's projected image tokens.

The representation stage of the VLM recipe (``train.stage: heads``, BLIP-2's order:
representation before generation) trains the projector together with these heads on cached
frozen features, with no LM forward pass: the projector learns what a product's type, colour,
gender and usage look like before the LM learns to talk about them. At inference the heads
give the reader (:mod:`vlrec.adapters.reader`) a distribution over each field's catalogue values.
"""

from __future__ import annotations

import torch
from torch import nn


class AttributeHeads(nn.Module):
    """``[B, T, D]`` projected image tokens -> ``{field: [B, n_values] logits}``."""

    def __init__(self, dim: int, fields: dict[str, list[str]], hidden: int = 512, dropout: float = 0.2):
        super().__init__()
        if not fields:
            raise ValueError("attribute heads need at least one field")
        self.dim, self.hidden = dim, hidden
        self.fields = {f: list(v) for f, v in fields.items()}
        self.norm = nn.LayerNorm(dim)
        self.heads = nn.ModuleDict(
            {
                f: nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, len(v)))
                for f, v in self.fields.items()
            }
        )  # fmt: skip

    def forward(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.norm(tokens.float().mean(dim=1))  # [B, D]
        return {f: head(x) for f, head in self.heads.items()}  # {field: [B, V_f]}

    def config(self) -> dict:
        return {"fields": self.fields, "hidden": self.hidden}

    @classmethod
    def from_config(cls, dim: int, config: dict) -> AttributeHeads:
        return cls(dim, config["fields"], config.get("hidden", 512))
