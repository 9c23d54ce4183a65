"""The projector: the trainable MLP that maps the frozen vision encoder's patch features (and
optional colour channels) into the LM's input-embedding space, as ``image_tokens`` tokens."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vlrec.models.colour import GRID_DIM, colour_grid, colour_histogram


class Projector(nn.Module):
    """Pools patch features ``[B, P, C]`` to ``[B, T, C]`` and maps them to ``[B, T, D]``.

    Patches may carry extra channels after the ``in_dim`` vision features: ``colour_dim``
    per-cell colour statistics, then ``hist_dim`` channels of a per-image colour histogram
    (the same in every patch). Each extra path is a small MLP added to the tokens.
    """

    def __init__(
        self, in_dim: int, out_dim: int, tokens: int, kind: str = "mlp", hidden: int = 0, colour_dim: int = 0,
        hist_dim: int = 0,
    ):  # fmt: skip
        super().__init__()
        self.in_dim, self.out_dim, self.tokens, self.kind = in_dim, out_dim, tokens, kind
        self.colour_dim, self.hist_dim = colour_dim, hist_dim
        if colour_dim:
            self.colour = _zero_mlp(colour_dim, out_dim)
        if hist_dim:
            self.hist = _zero_mlp(hist_dim, out_dim)
        self.norm = nn.LayerNorm(in_dim)
        if kind == "linear":
            self.net = nn.Linear(in_dim, out_dim)
        else:
            hidden = hidden or out_dim
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        # Token embeddings of some LMs (Gemma) are scaled up; a learned gain lets the
        # projector start at their magnitude instead of learning it through the weights.
        self.gain = nn.Parameter(torch.ones(1))  # 1-D: FSDP cannot shard a scalar

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if (prefix + "gain") in state_dict and state_dict[prefix + "gain"].dim() == 0:  # saved as a scalar
            state_dict[prefix + "gain"] = state_dict[prefix + "gain"].reshape(1)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def extra_dim(self) -> int:
        """Channels the patches carry after the vision features."""
        return self.colour_dim + self.hist_dim

    def pool(self, patches: torch.Tensor) -> torch.Tensor:
        """Average-pool ``[B, P, C]`` patches to ``[B, tokens, C]``."""
        b, p, c = patches.shape
        if p == self.tokens:
            return patches
        side = math.isqrt(p)
        grid = math.isqrt(self.tokens)
        if side * side == p and grid * grid == self.tokens:
            x = patches.transpose(1, 2).reshape(b, c, side, side)
            return F.adaptive_avg_pool2d(x.float(), grid).flatten(2).transpose(1, 2).to(patches.dtype)
        return F.adaptive_avg_pool1d(patches.transpose(1, 2).float(), self.tokens).transpose(1, 2)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        """Map pooled features ``[B, T, C]`` to LM embeddings ``[B, T, D]``."""
        x = pooled.to(self.norm.weight.dtype)
        out = self.net(self.norm(x[..., : self.in_dim]))  # [B, T, D]
        if self.colour_dim:
            colour = x[..., self.in_dim : self.in_dim + self.colour_dim]
            out = out + self.colour((colour - 0.5) * 4.0)
        if self.hist_dim:
            hist = x[..., self.in_dim + self.colour_dim :].clamp_min(0)
            out = out + self.hist(hist.sqrt() * 2.0)  # Hellinger: sqrt spreads small fractions
        return out * self.gain

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.project(self.pool(patches))


def _zero_mlp(d_in: int, d_out: int) -> nn.Sequential:
    """A 2-layer MLP whose output starts at zero (a new path leaves a trained model unchanged)."""
    net = nn.Sequential(nn.Linear(d_in, 128), nn.GELU(), nn.Linear(128, d_out))
    nn.init.zeros_(net[2].weight)
    nn.init.zeros_(net[2].bias)
    return net


def lm_embedding_rms(model) -> float:
    """RMS of the LM's input embeddings as the model itself produces them (Gemma scales)."""
    emb = model.get_input_embeddings()
    with torch.no_grad():
        n = emb.weight.shape[0]
        ids = torch.linspace(0, n - 1, steps=min(n, 2048)).long().to(emb.weight.device)
        return float(emb(ids).float().pow(2).mean().sqrt())


COLOUR_DIM = GRID_DIM


def with_colour(projector: Projector, patches: torch.Tensor, images: Sequence[Any]) -> torch.Tensor:
    """``patches`` ``[B, P, C]`` with the colour channels ``projector`` reads appended."""
    extra = []
    if projector.colour_dim:
        extra.append(colour_grid(images, math.isqrt(patches.shape[1])))
    if projector.hist_dim:
        extra.append(colour_histogram(images).unsqueeze(1).expand(-1, patches.shape[1], -1))
    if not extra:
        return patches
    return torch.cat([patches.float(), *[e.float() for e in extra]], dim=-1)
