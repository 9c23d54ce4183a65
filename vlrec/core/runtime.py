"""The one place that decides device, dtype, threads and on-disk locations.

Every loader in vlrec asks :func:`resolve_device` and :func:`resolve_dtype`
rather than choosing for itself, so a single ``runtime.device=cuda`` override
moves the whole stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vlrec.core.config import check

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
DtypeName = Literal["auto", "float32", "bfloat16", "float16"]


@dataclass
class RuntimeConfig:
    """Where and how models run."""

    device: DeviceName = "auto"
    """``auto`` picks cuda, then mps, then cpu."""
    dtype: DtypeName = "auto"
    """Default weight dtype; ``auto`` is bfloat16 on a GPU with bf16 support, else float32."""
    threads: int = 0
    """torch intra-op threads; 0 leaves torch's default (one per core)."""
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.threads >= 0, "runtime.threads", "must be >= 0")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a configured device name into a ``torch.device`` that exists here."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("runtime.device=cuda was asked for, but torch sees no CUDA device")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """Turn a configured dtype name into a ``torch.dtype`` for ``device``.

    ``auto`` is bfloat16 on a CUDA device that supports it and float32 elsewhere:
    float32 is the safe default for CPU training and for tests; pass ``bfloat16``
    explicitly for faster CPU inference on CPUs with native bf16.
    """
    import torch

    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def apply_runtime(cfg: RuntimeConfig) -> None:
    """Apply process-wide settings (threads, seed)."""
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)


def cache_dir() -> Path:
    """Per-user cache for derived model files (``$VLREC_CACHE_DIR``, else the OS's cache folder: ~/.cache/vlrec on Linux)."""
    root = os.environ.get("VLREC_CACHE_DIR")
    if root:
        return Path(root)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vlrec", appauthor=False))


def data_dir() -> Path:
    """Per-user data directory for stores (``$VLREC_DATA_DIR``, else the OS's data folder: ~/.local/share/vlrec on Linux)."""
    root = os.environ.get("VLREC_DATA_DIR")
    if root:
        return Path(root)
    from platformdirs import user_data_dir

    return Path(user_data_dir("vlrec", appauthor=False))
