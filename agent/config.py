"""The root config of vlrec: one typed tree, every YAML in configs/ a partial of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from adapters import config as _config
from adapters.config import check
from adapters.lm import LMConfig
from adapters.runtime import RuntimeConfig
from adapters.text import TextConfig
from adapters.vision import VisionConfig
from retrieval.store import StoreConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "samples" / "fashion"


@dataclass
class DemoConfig:
    """What ``vlrec demo`` indexes and asks."""

    catalog: str = str(SAMPLE_DIR / "catalog.jsonl")
    """Catalogue file (JSONL or CSV); defaults to the bundled 300-item fashion sample."""
    name: str = "fashion-sample"
    """Catalogue name: collections are <name>.image and <name>.text."""
    query_images: list[str] = field(
        default_factory=lambda: sorted(str(p) for p in (SAMPLE_DIR / "queries").glob("*.jpg"))
    )
    query_texts: list[str] = field(
        default_factory=lambda: ["black casual shoes for men", "a brown leather handbag for women"]
    )
    k: int = 5

    def __post_init__(self) -> None:
        check(1 <= self.k <= 100, "demo.k", "must be in [1, 100]")


@dataclass
class VlrecConfig:
    """Everything a vlrec command can be told."""

    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    vision: VisionConfig = field(default_factory=VisionConfig)
    text: TextConfig = field(default_factory=TextConfig)
    lm: LMConfig = field(default_factory=LMConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> VlrecConfig:
    """Load a YAML config (or the defaults) plus ``key=value`` overrides."""
    return _config.load(VlrecConfig, path, overrides)
