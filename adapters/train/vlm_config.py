"""The VLM recipe's configuration (``train`` section of ``vlrec train vlm`` configs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from vlrec.adapters.vlm_load import VLMSections
from vlrec.core.config import check


@dataclass
class VLMTrainConfig:
    """A VLM training run (``vlrec train vlm``)."""

    stage: Literal["align", "instruct", "heads", "tail", "probe", "calibrate"] = "align"
    """align: projector only, LM frozen; instruct: projector + LoRA (QLoRA on a 4-bit LM);
    heads: projector + attribute heads on cached features, no LM forward (:mod:`vlrec.adapters.train.heads`);
    tail: a fine-tuned copy of the encoder's last stage with field classifiers (:mod:`vlrec.adapters.train.tail`);
    probe: the reader's colour probe over Lab descriptors (:func:`vlrec.adapters.train.tail.train_probe`);
    calibrate: fit the reader's fusion and gates and the caption rerank weight on dev splits."""
    init: str = ""
    """Saved VLM folder to start from (stage 2 starts from stage 1's ``vlm/``); empty = fresh."""
    caption_data: str = "../shared/data/flickr8k/train.jsonl"
    caption_eval: str = "../shared/data/flickr8k/test.jsonl"
    fashion_data: str = "../shared/data/fashion/catalog.jsonl"
    redial_data: str = "../shared/data/redial/train.jsonl"
    captions: int = 4000
    """Caption samples drawn from ``caption_data`` (-1 = all, 0 = none)."""
    vqa: int = 0
    """Fashion question samples drawn from the training items (-1 = all, 0 = none)."""
    intents: int = 0
    """Fashion intent conversations (generated from training items)."""
    redial: int = 0
    """ReDial intent samples (-1 = all)."""
    epochs: int = 1
    max_steps: int = 0
    """Optimizer steps; 0 = ``epochs`` passes over the samples."""
    batch_size: int = 8
    """Samples per process per micro-batch."""
    grad_accum: int = 1
    lr: float = 1e-3
    """Learning rate of the projector."""
    lora_lr: float = 2e-4
    weight_decay: float = 0.0
    warmup: float = 0.03
    """Share of steps with linear warm-up (then cosine decay)."""
    max_answer_tokens: int = 48
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    eval_every: int = 0
    """Held-out loss every N steps (0 = only at the end)."""
    eval_samples: int = 48
    """Held-out samples per task for the eval loss."""
    log_every: int = 10
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    """auto = bf16 on a bf16 GPU, none on CPU."""
    heads_hidden: int = 512
    """Hidden width of each attribute head (stage heads)."""
    train_projector: bool = True
    """Train the projector (stage heads: with the heads; false trains the heads alone). Stage
    instruct after stage heads sets it false, so the LoRA adapts to the projector the heads read."""
    tail_lr: float = 3e-4
    """Learning rate of the copied encoder stage (stage tail; its classifiers use ``lr``)."""
    probe_c: float = 0.02
    """Inverse L2 strength of the colour probe's logistic regression (stage probe)."""
    probe_fields: tuple[str, ...] = ("baseColour",)
    """Fields the colour probe reads (stage probe)."""
    knn_k: int = 10
    """Neighbours per image for the reader's vote and for retrieval-augmented prompts."""
    max_wrong: float = 0.05
    """Gate of each field: the lowest confidence at which at most this share of the dev split's
    stated answers is wrong."""
    gate_level: float = 0.9
    """How sure that share must be: its one-sided Clopper-Pearson upper bound at this level stays
    within ``max_wrong`` (0 = the share seen on dev; see :func:`vlrec.adapters.reader.fit_gate`)."""
    out: str = "runs/vlm/stage1"
    seed: int = 0
    resume: bool = True
    """Continue from the newest checkpoint in ``out`` when there is one."""
    fsdp: bool = False
    """Shard the VLM over the launched processes with PyTorch's FSDP2 (each decoder layer, then
    the whole model; :mod:`vlrec.adapters.train.sharding`) instead of replicating it (DDP).
    A sharded run writes its final model but no mid-run checkpoints (it cannot resume)."""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "train.batch_size", "must be >= 1")
        check(self.grad_accum >= 1, "train.grad_accum", "must be >= 1")
        check(self.epochs >= 1, "train.epochs", "must be >= 1")
        check(self.checkpoint_every >= 1, "train.checkpoint_every", "must be >= 1")
        check(self.lr > 0 and self.lora_lr > 0 and self.tail_lr > 0, "train.lr", "learning rates must be > 0")
        check(0.0 <= self.warmup < 1.0, "train.warmup", "must be in [0, 1)")
        check(self.probe_c > 0, "train.probe_c", "must be > 0")
        check(
            self.train_projector or self.stage != "align",
            "train.train_projector",
            "false is for stage instruct (LoRA only) or heads; stage align trains only the projector",
        )


class VLMTrainSections(VLMSections, Protocol):
    """The config sections the VLM recipes read (runtime, vision, lm, vlm, train)."""

    train: VLMTrainConfig
