"""``vlrec train intent``: the shopper-intent LM (QLoRA + value heads) on generated conversations.

Recipe (``configs/train/intent.yaml``), on accelerate like the VLM's:

1. draw ``examples`` labelled shopper conversations from the catalogue
   (:mod:`vlrec.data.intent`; synonyms, uses, gifts, negations, refinements) and a separate
   ``dev_examples`` for the loss curve;
2. load the LM in 4-bit (bitsandbytes nf4), keep its first ``layer`` blocks (the heads read
   that layer; the blocks above would never be run), add a LoRA adapter (peft), and train it
   with the heads: soft cross-entropy for ``want``, binary cross-entropy for ``avoid``;
3. save ``intent.json``, ``heads.safetensors`` and ``adapter/`` to ``out/intent``.

Checkpoints (LoRA, heads, optimizer, scheduler) are written every ``checkpoint_every`` steps
to ``out/checkpoints/``; a restarted run resumes after the newest. ``metrics.jsonl`` holds the
loss and the generated-dev field accuracy against minutes.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from vlrec.adapters.train.checkpoints import (
    append_metrics,
    latest_checkpoint,
    read_state,
    truncate_metrics,
    write_checkpoint,
)
from vlrec.core.config import check, to_dict
from vlrec.core.runtime import RuntimeConfig
from vlrec.models.lm import LMConfig, truncate_layers


@dataclass
class IntentTrainConfig:
    """Training of the intent LM (``vlrec train intent``)."""

    catalog: str = "../shared/data/fashion/catalog.jsonl"
    """Catalogue whose real attribute combinations the conversations are drawn from."""
    examples: int = 12000
    dev_examples: int = 500
    epochs: int = 1
    batch_size: int = 16
    lr: float = 3e-4
    """LoRA learning rate."""
    heads_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    frozen: bool = False
    """Train the heads alone on the frozen LM (no LoRA)."""
    eval_every: int = 100
    checkpoint_every: int = 100
    max_steps: int = 0
    """Stop after this many steps (0: ``epochs`` over the examples)."""
    seed: int = 0
    out: str = "runs/intent/default"

    def __post_init__(self) -> None:
        check(self.examples >= self.batch_size, "intent.train.examples", "must be >= batch_size")
        check(self.lora_r >= 1, "intent.train.lora_r", "must be >= 1")


@dataclass
class IntentConfig:
    """The shopper-intent LM: which one the agent loads, and how one is trained."""

    model: str | None = None
    """Intent model folder; null is the shipped one (assets/intent/default)."""
    layer: int = 12
    """Hidden layer the heads read; the LM's blocks above it are dropped (faster, same answer)."""
    max_length: int = 96
    """Tokens of the rendered conversation kept (its latest turns)."""
    train: IntentTrainConfig = field(default_factory=IntentTrainConfig)


class IntentSections(Protocol):
    """The config sections the intent recipe reads."""

    runtime: RuntimeConfig
    lm: LMConfig
    intent: IntentConfig


def field_accuracy(model, requests, batch_size: int = 32) -> dict[str, float]:
    """Share of requests whose decoded ``want`` for each field is right (none when not asked)."""
    from vlrec.data.intent import FIELDS

    right = dict.fromkeys(FIELDS, 0)
    for b in range(0, len(requests), batch_size):
        chunk = requests[b : b + batch_size]
        for r, got in zip(chunk, model.predict([q.turns for q in chunk])):
            for f in FIELDS:
                pred = set(got.want.get(f, {}))
                gold = set(r.want.get(f, []))
                right[f] += (not pred and not gold) or (bool(pred) and pred <= gold)
    return {f: right[f] / max(len(requests), 1) for f in FIELDS}


def train_intent(cfg: IntentSections, log=print, stop_after: int | None = None) -> Path:
    """Run ``cfg.intent.train``; returns the saved intent model folder."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    from vlrec.adapters.intent import IntentHeads, IntentModel, targets
    from vlrec.core.runtime import apply_runtime, resolve_device
    from vlrec.data.intent import Generator
    from vlrec.data.vlm_tasks import read_fashion
    from vlrec.models.lm import load_lm

    ic: IntentConfig = cfg.intent
    t = ic.train
    apply_runtime(cfg.runtime)
    device = resolve_device(cfg.runtime.device)
    acc = Accelerator(cpu=device.type == "cpu")
    set_seed(t.seed)
    out = Path(t.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    started = time.perf_counter()

    rows = read_fashion(t.catalog)
    gen = Generator(rows)
    train = gen.samples(t.examples, t.seed)
    dev = gen.samples(t.dev_examples, t.seed + 10_000)

    lm = load_lm(cfg.lm, cfg.runtime.device, cfg.runtime.dtype)
    truncate_layers(lm.model, ic.layer)
    if not t.frozen:
        if cfg.lm.quantization != "none":
            prepare_model_for_kbit_training(lm.model, use_gradient_checkpointing=False)
        lora = LoraConfig(r=t.lora_r, lora_alpha=t.lora_alpha, lora_dropout=t.lora_dropout,
                          target_modules=list(t.target_modules), bias="none")  # fmt: skip
        lm.model = get_peft_model(lm.model, lora)
    for n, p in lm.model.named_parameters():
        p.requires_grad_(not t.frozen and "lora_" in n)
    dim = 2 * lm.model.config.get_text_config().hidden_size
    heads = IntentHeads(dim, gen.values)
    model = IntentModel(lm, heads, ic.layer, max_length=ic.max_length)
    params = [
        {"params": list(heads.parameters()), "lr": t.heads_lr},
        {"params": [p for p in lm.model.parameters() if p.requires_grad], "lr": t.lr},
    ]
    optimizer = torch.optim.AdamW([g for g in params if g["params"]], weight_decay=t.weight_decay)
    steps_per_epoch = len(train) // t.batch_size
    total = t.max_steps or steps_per_epoch * t.epochs
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(t.warmup * total), total)
    n_train = sum(p.numel() for g in params for p in g["params"])
    log(f"vlrec: intent: {len(train)} conversations, {total} steps of {t.batch_size}, "
        f"{n_train / 1e6:.2f} M trainable parameters, heads on layer {ic.layer}")  # fmt: skip
    lm.model, heads, optimizer = acc.prepare(lm.model, heads, optimizer)
    model.lm.model, model.heads = lm.model, heads

    trainable = {f"heads.{n}": p for n, p in heads.named_parameters()}
    trainable |= {f"lm.{n}": p for n, p in lm.model.named_parameters() if p.requires_grad}
    ckpts = out / "checkpoints"
    step = 0
    latest = latest_checkpoint(ckpts)
    if latest is not None:
        weights, meta = read_state(latest, optimizer, scheduler)
        for n, p in trainable.items():
            p.data.copy_(weights[n])
        step = int(meta["step"])
        log(f"vlrec: resuming {out} at step {step}")
        truncate_metrics(out / "metrics.jsonl", step)

    def batch_at(s: int):
        epoch, pos = divmod(s, steps_per_epoch)
        order = np.random.default_rng([t.seed, epoch]).permutation(len(train))
        return [train[i] for i in order[pos * t.batch_size : (pos + 1) * t.batch_size]]

    from vlrec.data.intent import render

    def loss_of(batch) -> torch.Tensor:
        got = model.logits([render(r.turns) for r in batch])
        tg = targets(batch, gen.values)
        loss = torch.zeros(())
        for f, (want, avoid) in got.items():
            tw, ta = tg[f]
            loss = loss + F.cross_entropy(want, tw) + F.binary_cross_entropy_with_logits(avoid, ta) * 4.0
        return loss

    bar = tqdm(total=total, initial=step, desc="train intent", unit="step", file=sys.stderr)
    window: list[float] = []
    heads.train()
    lm.model.train()
    while step < total:
        loss = loss_of(batch_at(step))
        acc.backward(loss)
        acc.clip_grad_norm_(list(trainable.values()), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        window.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(window[-20:]):.3f}")
        bar.update(1)
        if step % t.eval_every == 0 or step == total:
            heads.eval()
            lm.model.eval()
            with torch.no_grad():
                accs = field_accuracy(model, dev)
            heads.train()
            lm.model.train()
            record = {"step": step, "minutes": round((time.perf_counter() - started) / 60, 2),
                      "loss": float(np.mean(window)), **{f"dev_{f}": round(a, 4) for f, a in accs.items()}}  # fmt: skip
            window = []
            append_metrics(out / "metrics.jsonl", record)
            log(f"vlrec: intent step {step}: " + json.dumps(record))
        if step % t.checkpoint_every == 0 and step < total:
            ckpts.mkdir(exist_ok=True)
            write_checkpoint(ckpts, f"step-{step}", 1, trainable, optimizer, scheduler, step=step)
        if stop_after is not None and step >= stop_after:
            bar.close()
            return out
    bar.close()
    heads.eval()
    lm.model.eval()
    model.lm.model = acc.unwrap_model(lm.model)
    model.heads = acc.unwrap_model(heads)
    final = model.save(out / "intent", extra={"trained": {"steps": step, "examples": len(train)}})
    summary = {"steps": step, "examples": len(train), "wall_s": round(time.perf_counter() - started, 1),
               "trainable_params": n_train, "quantization": cfg.lm.quantization}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log(f"vlrec: wrote {final} ({json.dumps(summary)})")
    return final
