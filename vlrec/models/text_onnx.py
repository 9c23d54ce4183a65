"""MiniLM's no-grad forward through ONNX Runtime (``text.backend: onnx``).

sentence-transformers can run ONNX itself (``backend="onnx"``), but through optimum-onnx, whose
releases pin transformers below 4.58 (this project runs transformers 5), so the export is
written here, the same way as the vision encoder's (:mod:`vlrec.models.vision_onnx`): the
folder's transformer is exported once per set of weights into the cache and run by an
``InferenceSession`` with torch's thread count; tokenisation, pooling and normalisation stay
with the folder's own tokenizer and pooling settings. Only the layouts sentence-transformers
writes for such models are taken (Transformer → mean or CLS Pooling → optional Normalize);
anything else stays in PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vlrec.models.vision_onnx import export_cached, session, weights_key


class _Hidden(nn.Module):
    def __init__(self, model: nn.Module, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs)), return_dict=True).last_hidden_state


def supported(st_model) -> str | None:
    """The pooling mode (``mean`` or ``cls``) when ``st_model`` has a layout this module runs."""
    kinds = [type(m).__name__ for m in st_model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    pooling = st_model[1]
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6
    if not isinstance(mode, str) and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()  # before 6
    if getattr(pooling, "include_prompt", True) is not True:
        return None
    return mode if mode in ("mean", "cls") else None


class OnnxSentenceEncoder:
    """``texts -> [N, D]`` unit vectors, as ``st_model.encode`` would make them; thread-safe."""

    def __init__(self, st_model, name: str, max_length: int, runtime: str = "onnx"):
        self.mode = supported(st_model)
        if self.mode is None:
            raise ValueError("this sentence-transformers layout has no ONNX path")
        transformer = st_model[0]
        self.tokenizer = transformer.tokenizer
        self.max_length = max_length
        self.names = [n for n in self.tokenizer.model_input_names if n in ("input_ids", "token_type_ids",
                                                                           "attention_mask")]  # fmt: skip
        self.session = session(self._export(transformer.auto_model, name), runtime)

    def _export(self, model: nn.Module, name: str) -> str:
        example = self.tokenizer(["an example", "a longer example text"], padding=True, return_tensors="pt")
        axes = {n: {0: "batch", 1: "tokens"} for n in [*self.names, "hidden"]}
        return export_cached(_Hidden(model, self.names), f"text-{name.replace(':', '-')}-{weights_key(model)}.onnx",
                             tuple(example[n] for n in self.names), self.names, ["hidden"], axes)  # fmt: skip

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors of ``texts`` (batches of similar length, as sentence-transformers sorts them)."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 0), np.float32)
        parts = []
        for start in range(0, len(texts), batch_size):
            chunk = [texts[i] for i in order[start : start + batch_size]]
            enc = self.tokenizer(
                chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feed = {n: enc[n].astype(np.int64) for n in self.names}
            hidden = self.session.run(feed)[0]  # [B, L, D]
            if self.mode == "cls":
                vec = hidden[:, 0]
            else:
                mask = enc["attention_mask"][..., None].astype(np.float32)
                vec = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            parts.append(vec.astype(np.float32))
        if not parts:
            return out
        vecs = np.concatenate(parts)
        result = np.empty_like(vecs)
        result[order] = vecs
        return result
