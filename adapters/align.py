"""Alignment head: vision features and text vectors into one shared, normalised space.

No CLIP-style model exists offline, so vlrec learns the shared image–text space:
an image head over frozen EfficientNet-Lite features and an optional residual
text head over frozen MiniLM vectors, trained with a symmetric InfoNCE loss
(``direct``), optionally with a modality discriminator behind a gradient-reversal
layer (``adversarial``). A trained head is a folder: ``config.json``,
``head.safetensors`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vlrec.core.config import check, from_dict
from vlrec.core.paths import ASSETS

DEFAULT_HEAD = ASSETS / "align" / "default"


@dataclass
class AlignConfig:
    """Alignment head and its training run (``vlrec train align``)."""

    data: str = "../shared/data/flickr8k/train.jsonl"
    """Flickr8k-style training file (one image with its captions a line)."""
    eval_data: str = "../shared/data/flickr8k/test.jsonl"
    """Reported once, for the head chosen on the validation images; never used to choose."""
    val_images: int = 500
    """The last N training images are held out to choose the epoch."""
    fashion: str = ""
    """Optional product catalogue (the fashion catalogue's JSONL) trained on too: each item's
    photo against its title and its attribute sentence ("Black Casual Shoes for Men, Casual
    wear."). Items in the 10 % held-out split (by id hash, as for the VLM) are never trained
    on and give the reported title->image recall."""
    fashion_items: int = 0
    """Use at most this many training items of ``fashion`` (0: all)."""
    mode: Literal["direct", "adversarial"] = "direct"
    image_head: Literal["linear", "mlp", "attn"] = "attn"
    """linear / mlp over pooled features; attn: attention pooling over patch features, then mlp."""
    text_head: Literal["none", "mlp"] = "mlp"
    """none maps images straight into MiniLM's space; mlp adds a residual head on the text side."""
    dim: int = 384
    hidden: int = 1024
    attn_queries: int = 4
    dropout: float = 0.1
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    temperature: float = 0.05
    """Initial InfoNCE temperature (learned)."""
    hard_negative_weight: float = 0.0
    """Weight of a VSE++ max-violation hinge on the hardest in-batch negative."""
    adv_weight: float = 0.1
    """Discriminator loss weight in adversarial mode."""
    flip: bool = True
    """Also train on mirrored images (their features are cached once)."""
    out: str = "runs/align/flickr8k"
    save_half: bool = True
    """Store the head's weights in fp16 (half the size; loaded back as fp32)."""
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.val_images >= 10, "align.val_images", "must be >= 10")
        for key in ("dim", "hidden", "attn_queries", "epochs", "batch_size"):
            check(getattr(self, key) >= 1, f"align.{key}", "must be >= 1")
        check(0 < self.lr < 1, "align.lr", "must be in (0, 1)")
        check(0 < self.temperature < 1, "align.temperature", "must be in (0, 1)")
        check(0 <= self.dropout < 1, "align.dropout", "must be in [0, 1)")


class AttentionPool(nn.Module):
    """Learned queries attend over patch features; their outputs are concatenated."""

    def __init__(self, dim: int, queries: int, key_dim: int = 256):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(queries, key_dim) / math.sqrt(key_dim))
        self.key = nn.Linear(dim, key_dim, bias=False)  # low-rank keys keep CPU training cheap
        self.norm = nn.LayerNorm(dim)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.norm(patches)  # [B, P, C]
        keys = self.key(x)  # [B, P, K]
        scores = torch.einsum("qk,bpk->bqp", self.queries, keys) / math.sqrt(keys.shape[-1])
        weights = scores.softmax(dim=-1)  # [B, Q, P]
        pooled = torch.einsum("bqp,bpc->bqc", weights, x)  # [B, Q, C]
        mean = x.mean(dim=1, keepdim=True)  # [B, 1, C]
        return torch.cat([mean, pooled], dim=1).flatten(1)  # [B, (Q+1)*C]


def _mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(d_in), nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, d_out)
    )


class AlignmentHead(nn.Module):
    """Maps vision features and text vectors into one normalised ``dim``-space."""

    def __init__(self, cfg: AlignConfig, vision_dim: int, text_dim: int):
        super().__init__()
        self.cfg = cfg
        self.vision_dim, self.text_dim = vision_dim, text_dim
        if cfg.text_head == "none":
            check(
                cfg.dim == text_dim, "align.dim", f"must equal the text dim ({text_dim}) when text_head=none"
            )
        if cfg.image_head == "linear":
            self.image = nn.Sequential(nn.LayerNorm(vision_dim), nn.Linear(vision_dim, cfg.dim))
        elif cfg.image_head == "mlp":
            self.image = _mlp(vision_dim, cfg.hidden, cfg.dim, cfg.dropout)
        else:
            self.pool = AttentionPool(vision_dim, cfg.attn_queries)
            self.image = _mlp(vision_dim * (cfg.attn_queries + 1), cfg.hidden, cfg.dim, cfg.dropout)
        if cfg.text_head == "mlp":
            self.text_skip = nn.Linear(text_dim, cfg.dim, bias=False)
            self.text = _mlp(text_dim, cfg.hidden, cfg.dim, cfg.dropout)
            with torch.no_grad():  # start near the frozen text space
                if cfg.dim == text_dim:
                    self.text_skip.weight.copy_(torch.eye(text_dim))
                self.text[-1].weight.mul_(0.1)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / cfg.temperature)))

    @property
    def uses_patches(self) -> bool:
        return self.cfg.image_head == "attn"

    def encode_image(self, feats: torch.Tensor) -> torch.Tensor:
        """``[B, P, C]`` patches (attn head) or ``[B, C]`` pooled features → ``[B, dim]``."""
        feats = feats.float()
        if self.uses_patches:
            if feats.dim() != 3:
                raise ValueError(
                    f"the attn image head takes patch features [B, P, C], got {tuple(feats.shape)}"
                )
            x = self.pool(feats)
        else:
            x = feats.mean(dim=1) if feats.dim() == 3 else feats
        return F.normalize(self.image(x), dim=-1)

    def encode_text(self, vectors: torch.Tensor) -> torch.Tensor:
        """``[B, text_dim]`` frozen text vectors → ``[B, dim]``."""
        vectors = vectors.float()
        if self.cfg.text_head == "none":
            return F.normalize(vectors, dim=-1)
        return F.normalize(self.text_skip(vectors) + self.text(vectors), dim=-1)

    def save(
        self, folder: str | Path, metrics: dict | None = None, extra: dict | None = None, half: bool = False
    ) -> Path:
        """Write ``config.json`` + ``head.safetensors`` (+ ``metrics.json``); ``half`` stores fp16."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "align": asdict(self.cfg),
            "vision_dim": self.vision_dim,
            "text_dim": self.text_dim,
            **(extra or {}),
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(state, str(folder / "head.safetensors"))
        if metrics is not None:
            (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> tuple[AlignmentHead, dict]:
        """Load a head folder; returns the head (eval mode) and its config dict."""
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / "config.json").is_file() or not (folder / "head.safetensors").is_file():
            raise FileNotFoundError(
                f"'{folder}' is not an alignment head folder (config.json + head.safetensors)"
            )
        config = json.loads((folder / "config.json").read_text())
        head = cls(from_dict(AlignConfig, config["align"]), config["vision_dim"], config["text_dim"])
        state = {k: v.float() for k, v in load_file(str(folder / "head.safetensors")).items()}
        head.load_state_dict(state)
        return head.eval(), config


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


class ModalityDiscriminator(nn.Module):
    """Tells image embeddings from text embeddings; the heads learn to fool it."""

    def __init__(self, dim: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, img: torch.Tensor, txt: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        z = GradReverse.apply(torch.cat([img, txt]), weight)
        labels = torch.cat([torch.ones(len(img)), torch.zeros(len(txt))]).to(z.device)
        return F.binary_cross_entropy_with_logits(self.net(z).squeeze(-1), labels)


def contrastive_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, hard_weight: float = 0.0):
    """Symmetric InfoNCE over a batch of matching pairs (row i of each is a pair)."""
    logits = scale.exp().clamp(max=100) * img @ txt.T  # [B, B]
    target = torch.arange(len(img), device=img.device)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    if hard_weight > 0:
        sim = img @ txt.T
        pos = sim.diag()
        mask = torch.eye(len(img), dtype=torch.bool, device=img.device)
        neg = sim.masked_fill(mask, -2)
        hinge = (0.2 + neg.max(dim=1).values - pos).clamp(min=0) + (0.2 + neg.max(dim=0).values - pos).clamp(
            min=0
        )
        loss = loss + hard_weight * hinge.mean()
    return loss


def alignment_head(folder: str | Path | None = None) -> AlignmentHead:
    """The alignment head saved in ``folder`` (the config's ``retrieval.head``; ``None``: the
    shipped one), in eval mode."""
    head, _ = AlignmentHead.load(Path(folder) if folder else DEFAULT_HEAD)
    return head.eval()
