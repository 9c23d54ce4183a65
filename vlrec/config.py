"""The root config of vlrec: one typed tree, every YAML in configs/ a partial of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vlrec.adapters.align import AlignConfig
from vlrec.adapters.train.intent import IntentConfig
from vlrec.adapters.train.vlm_config import VLMTrainConfig
from vlrec.adapters.vlm import VLMConfig
from vlrec.agent.config import AgentConfig
from vlrec.core import config as _config
from vlrec.core.config import check
from vlrec.core.paths import SAMPLES
from vlrec.core.runtime import RuntimeConfig
from vlrec.models.lm import LMConfig
from vlrec.models.text import TextConfig
from vlrec.models.vision import VisionConfig
from vlrec.rec.recommender import RecConfig
from vlrec.retrieval.embedder import RetrievalConfig
from vlrec.retrieval.store import StoreConfig
from vlrec.serve.config import ServeConfig

SAMPLE_DIR = SAMPLES / "fashion"


def _sample_query(stem: str) -> str:
    return str(next((SAMPLE_DIR / "queries").glob(f"{stem}_*.jpg"), SAMPLE_DIR / "queries" / f"{stem}.jpg"))


@dataclass
class DemoQuery:
    """One demo query: a photo, a phrase, or both."""

    image: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        check(
            self.image is not None or self.text is not None, "demo.queries", "each query needs image or text"
        )


@dataclass
class DemoConfig:
    """What ``vlrec demo`` indexes and asks."""

    catalog: str = str(SAMPLE_DIR / "catalog.jsonl")
    """Catalogue file (JSONL or CSV); defaults to the bundled 395-item fashion sample."""
    name: str = "fashion-sample"
    """Catalogue name: collections are <name>.image, <name>.text and <name>.fused."""
    queries: list[DemoQuery] = field(
        default_factory=lambda: [
            DemoQuery(image=_sample_query("casual_shoes_black")),
            DemoQuery(image=_sample_query("handbags_brown")),
            DemoQuery(image=_sample_query("watches_silver")),
            DemoQuery(text="black casual shoes for men"),
            DemoQuery(text="a brown leather handbag for women"),
            DemoQuery(image=_sample_query("tshirts_red"), text="a tshirt for men"),
        ]
    )
    k: int = 5
    vlm: bool = True
    """Also describe each query photo and ask its colour with the shipped VLM."""
    conversation: list[DemoQuery] = field(
        default_factory=lambda: [
            DemoQuery(image=_sample_query("tshirts_red"), text="something like this, for men"),
            DemoQuery(text="in black"),
            DemoQuery(text="more like the fourth one"),
        ]
    )
    """A scripted conversation with the agent (a photo, then refinements)."""
    requests: list[str] = field(
        default_factory=lambda: [
            "something to keep my hands warm on winter rides, not black",
            "a carry-all for my gym kit",
            "sunnies for the beach, anything but black",
            "a hoodie for my son, he hates black and grey",
            "sandals, I already own black ones so something else",
            "keep-warm stuff for my neck, any colour but grey",
            "earrings for my sister's wedding",
        ]
    )
    """Free-form shopper requests, each the first turn of a new conversation."""

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
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    rec: RecConfig = field(default_factory=RecConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)
    train: VLMTrainConfig = field(default_factory=VLMTrainConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    intent: IntentConfig = field(default_factory=IntentConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> VlrecConfig:
    """Load a YAML config (or the defaults) plus ``key=value`` overrides."""
    return _config.load(VlrecConfig, path, overrides)
