"""The VLM's fine-tuned visual tail: the vision encoder's last stage, trained for the catalogue.

Frozen ImageNet features set a ceiling for anything that reads them: heads trained on the
projected Lite0 features stop at about 89 / 68 / 95 / 91 % (type / colour / gender / usage,
fashion dev split), and a linear probe or a neighbour vote below that. The tail lifts it
where it is cheap to: a copy of the network's last stride-2 stage and head convolution (Lite0's
blocks 11–15 at 7 x 7, 2.5 M parameters, from the ImageNet weights) is fine-tuned with one
linear classifier per catalogue field over the tail's pooled map and the foreground colour
histogram (:func:`vlrec.models.colour.colour_histogram`), on cached activations entering that
stage (``train.stage: tail``; 75 s an epoch on 2 CPU cores). The frozen encoder itself is not
touched, so retrieval vectors and the LM's image tokens stay as they are; the activation the tail
needs comes from the same encoder pass (:attr:`vlrec.models.vision.VisionFeatures.mid`). The
attribute reader (:mod:`vlrec.adapters.reader`) fuses the tail's distributions with the heads'
and the neighbours' (source weights and confidence gates fitted on the dev split).
"""

from __future__ import annotations

import torch
from torch import nn


def _tail_network(vision: str, pretrained: bool) -> tuple[nn.ModuleList, nn.Module, nn.Module, int]:
    """The last stage's blocks, head conv and activation of EfficientNet-Lite ``vision`` (BatchNorms
    folded, as the frozen encoder runs them), and the index of its first block."""
    from efficientnet_lite_pytorch import EfficientNet

    from vlrec.models.vision import fold_for_inference, tail_start, weights_path

    net = EfficientNet.from_name(vision)
    if pretrained:
        net.load_state_dict(torch.load(weights_path(vision), map_location="cpu", weights_only=True))
    net.eval()
    fold_for_inference(net)
    cut = tail_start(net)
    return nn.ModuleList(list(net._blocks)[cut:]), net._conv_head, net._swish, cut


class AttributeTail(nn.Module):
    """``mid [B, C', h', w']`` (the encoder's :attr:`~vlrec.models.vision.VisionFeatures.mid`) and
    colour histograms ``[B, H]`` -> ``{field: [B, n_values] logits}``."""

    def __init__(self, vision: str, fields: dict[str, list[str]], hist_dim: int, pretrained: bool = True,
                 dropout: float = 0.2):  # fmt: skip
        super().__init__()
        if not fields:
            raise ValueError("the attribute tail needs at least one field")
        self.vision, self.hist_dim = vision, hist_dim
        self.fields = {f: list(v) for f, v in fields.items()}
        self.blocks, self.conv_head, self.act, self.cut = _tail_network(vision, pretrained)
        dim = self.conv_head.out_channels + hist_dim
        self.hist_norm = nn.LayerNorm(hist_dim)
        self.heads = nn.ModuleDict(
            {f: nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, len(v))) for f, v in self.fields.items()}
        )

    def features(self, mid: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        x = mid.float()
        for block in self.blocks:
            x = block(x)
        pooled = self.act(self.conv_head(x)).mean(dim=(2, 3))  # [B, 1280]
        return torch.cat([pooled, self.hist_norm(hist.float())], dim=1)

    def forward(self, mid: torch.Tensor, hist: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.features(mid, hist)
        return {f: head(z) for f, head in self.heads.items()}

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The copied convolution stage's parameters (a lower learning rate than the classifiers')."""
        return [*self.blocks.parameters(), *self.conv_head.parameters()]

    def classifier_parameters(self) -> list[nn.Parameter]:
        return [*self.hist_norm.parameters(), *self.heads.parameters()]

    def config(self) -> dict:
        return {"vision": self.vision, "fields": self.fields, "hist_dim": self.hist_dim, "cut": self.cut}

    @classmethod
    def from_config(cls, config: dict) -> AttributeTail:
        """The architecture of a saved tail (its weights are loaded next)."""
        tail = cls(config["vision"], config["fields"], config["hist_dim"], pretrained=False)
        if tail.cut != config["cut"]:
            raise ValueError(f"saved tail starts at block {config['cut']}, this network's at {tail.cut}")
        return tail
