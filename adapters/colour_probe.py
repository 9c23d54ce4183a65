"""The reader's colour probe: a softmax regression over a photo's foreground colour in CIELAB.

Most of the reader's colour errors are dark shades read as black (grey, blue, navy and brown as
black: 26 of its 128 errors on the fashion dev split). The tail and the heads see colour through
ImageNet features and a coarse HSV histogram (four brightness levels). The probe reads
:func:`vlrec.models.colour.colour_lab` instead (a CIELAB histogram with fine bins in the dark and
near grey, plus the foreground's Lab mean and quantiles): a standardised linear model per field,
fitted in seconds on the training items (``train.stage: probe``), whose distribution the reader
pools with the other sources (:func:`vlrec.adapters.reader.fuse`, weight fitted on the dev split).
Alone it reads 66 % of dev colours (the HSV histogram's own probe 65 %); beside the tail, heads
and neighbours it corrects some of their dark shades.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ColourProbe(nn.Module):
    """``[B, D]`` colour descriptors -> ``{field: [B, n_values] logits}``."""

    def __init__(self, fields: dict[str, list[str]], dim: int):
        super().__init__()
        if not fields:
            raise ValueError("the colour probe needs at least one field")
        self.fields = {f: list(v) for f, v in fields.items()}
        self.dim = dim
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.linears = nn.ModuleDict({f: nn.Linear(dim, len(v)) for f, v in self.fields.items()})

    def forward(self, desc: torch.Tensor) -> dict[str, torch.Tensor]:
        if desc.shape[-1] != self.dim:
            raise ValueError(f"the colour probe reads {self.dim} numbers per photo, got {desc.shape[-1]}")
        x = (desc.float() - self.mean) / self.scale
        return {f: lin(x) for f, lin in self.linears.items()}

    def config(self) -> dict:
        return {"fields": self.fields, "dim": self.dim}

    @classmethod
    def from_config(cls, config: dict) -> ColourProbe:
        return cls(config["fields"], int(config["dim"]))

    @classmethod
    def fit(
        cls, desc: np.ndarray, labels: dict[str, np.ndarray], fields: dict[str, list[str]], c: float = 0.02
    ) -> ColourProbe:
        """Fit on descriptors ``[N, D]`` and per-field value indices ``[N]`` (-100 or -1: unknown),
        by scikit-learn's L2-regularised multinomial logistic regression (inverse strength ``c``)."""
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(desc, dtype=np.float64)
        mean, scale = x.mean(0), x.std(0)
        scale[scale < 1e-8] = 1.0
        z = (x - mean) / scale
        probe = cls(fields, x.shape[1])
        probe.mean.copy_(torch.from_numpy(mean).float())
        probe.scale.copy_(torch.from_numpy(scale).float())
        for f, y in labels.items():
            y = np.asarray(y)
            keep = y >= 0
            model = LogisticRegression(max_iter=500, C=c).fit(z[keep], y[keep])
            weight = np.zeros((len(fields[f]), x.shape[1]), np.float32)
            bias = np.full(len(fields[f]), -30.0, np.float32)  # a value never seen in training
            coef, intercept = model.coef_, model.intercept_
            if len(model.classes_) == 2:  # one logit for the second class: as a softmax pair
                coef, intercept = np.r_[-coef, coef] / 2, np.r_[-intercept, intercept] / 2
            weight[model.classes_], bias[model.classes_] = coef, intercept
            with torch.no_grad():
                probe.linears[f].weight.copy_(torch.from_numpy(weight))
                probe.linears[f].bias.copy_(torch.from_numpy(bias))
        return probe.eval()
