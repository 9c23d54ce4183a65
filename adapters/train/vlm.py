"""``vlrec train vlm``: the two training stages of the VLM, on accelerate.

Stage ``align`` trains the projector alone (LM frozen) on captions; stage
``instruct`` trains projector + LoRA on a 4-bit base (QLoRA) on a task mix. The
same loop runs on one CPU (fp32), one GPU (bf16) or several processes
(``accelerate launch``; each process takes its slice of every global batch).

Frozen vision features are cached on disk (:mod:`vlrec.models.features`) and pooled
once to the projector's token grid, so a training step never runs the vision encoder.

A run folder::

    config.yaml            resolved config
    metrics.jsonl          one line per log / eval step
    metrics.png            loss and eval loss
    checkpoints/step-N/    trainable weights, optimizer, scheduler, RNG states, data position
    vlm/                   the final model (VisionLanguageModel.save_pretrained)
    summary.json           samples/s, trainable parameters, peak RSS, wall time

A run restarted with the same ``out`` resumes from its newest checkpoint and ends
where an uninterrupted run would (tested on a tiny model).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import resource
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import yaml

from vlrec.core.config import check, to_dict
from vlrec.data.vlm_tasks import (
    Sample,
    caption_samples,
    fashion_intent_samples,
    read_fashion,
    redial_intent_samples,
    vqa_samples,
)


@dataclass
class VLMTrainConfig:
    """A VLM training run (``vlrec train vlm``)."""

    stage: Literal["align", "instruct", "heads", "calibrate"] = "align"
    """align: projector only, LM frozen; instruct: projector + LoRA (QLoRA on a 4-bit LM);
    heads: projector + attribute heads on cached features, no LM forward (:mod:`vlrec.adapters.train.heads`);
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
    knn_k: int = 10
    """Neighbours per image for the reader's vote and for retrieval-augmented prompts."""
    max_wrong: float = 0.05
    """Gate of each field: the lowest confidence at which at most this share of the dev split's
    stated answers is wrong."""
    out: str = "runs/vlm/stage1"
    seed: int = 0
    resume: bool = True
    """Continue from the newest checkpoint in ``out`` when there is one."""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "train.batch_size", "must be >= 1")
        check(self.grad_accum >= 1, "train.grad_accum", "must be >= 1")
        check(self.epochs >= 1, "train.epochs", "must be >= 1")
        check(self.checkpoint_every >= 1, "train.checkpoint_every", "must be >= 1")
        check(self.lr > 0 and self.lora_lr > 0, "train.lr", "learning rates must be > 0")
        check(0.0 <= self.warmup < 1.0, "train.warmup", "must be in [0, 1)")
        check(
            self.train_projector or self.stage != "align",
            "train.train_projector",
            "false is for stage instruct (LoRA only) or heads; stage align trains only the projector",
        )


def _take(samples: list[Sample], n: int, rng: random.Random) -> list[Sample]:
    if n < 0 or n >= len(samples):
        return samples
    return rng.sample(samples, n)


def build_samples(t: VLMTrainConfig) -> tuple[list[Sample], dict[str, list[Sample]]]:
    """Training samples and held-out samples per task, as configured."""
    rng = random.Random(t.seed)
    train: list[Sample] = []
    held: dict[str, list[Sample]] = {}
    if t.captions:
        train += _take(caption_samples(t.caption_data, seed=t.seed), t.captions, rng)
        held["caption"] = _take(
            caption_samples(t.caption_eval, per_image=1, seed=t.seed), t.eval_samples, rng
        )
    if t.vqa or t.intents:
        rows = read_fashion(t.fashion_data)
        if t.vqa:
            train += _take(vqa_samples(rows, "train", t.seed), t.vqa, rng)
            held["vqa"] = _take(vqa_samples(rows, "eval", t.seed), t.eval_samples, rng)
        if t.intents:
            train += fashion_intent_samples(rows, "train", t.intents, t.seed)
            held["intent"] = fashion_intent_samples(rows, "eval", t.eval_samples, t.seed + 1)
    if t.redial:
        train += _take(redial_intent_samples(t.redial_data), t.redial, rng)
    if not train:
        raise ValueError("train: no samples; set train.captions, train.vqa, train.intents or train.redial")
    return train, held


class FeatureBank:
    """Pooled image features for every image the samples use, looked up by path."""

    def __init__(self, vision, projector, groups: list[list[str]]):
        from vlrec.models.features import colour_features, colour_histograms, image_features

        self.index: dict[str, int] = {}
        parts = []
        for paths in groups:
            patches = image_features(vision, paths, desc="image features")["patches"]
            colour = colour_features(paths, math.isqrt(patches.shape[1])) if projector.colour_dim else None
            hist = colour_histograms(paths) if projector.hist_dim else None
            for start in range(0, len(patches), 1024):
                x = patches[start : start + 1024].float()
                if colour is not None:
                    x = torch.cat([x, colour[start : start + 1024]], dim=-1)
                if hist is not None:
                    h = hist[start : start + 1024].unsqueeze(1).expand(-1, x.shape[1], -1)
                    x = torch.cat([x, h], dim=-1)
                with torch.no_grad():
                    parts.append(projector.pool(x).half())
            for p in paths:
                self.index.setdefault(p, len(self.index))
        self.pooled = torch.cat(parts) if parts else torch.zeros(0)

    def get(self, paths: list[str]) -> torch.Tensor | None:
        if not paths:
            return None
        return self.pooled[[self.index[p] for p in paths]].float()


def image_groups(t: VLMTrainConfig, samples: list[Sample]) -> list[list[str]]:
    """Image lists in the exact form the feature cache was (or will be) keyed on."""
    used = {s.image for s in samples if s.image}
    groups = []
    if t.captions:
        from vlrec.data.captions import read_caption_file

        for f in (t.caption_data, t.caption_eval):
            groups.append([str(p) for p in read_caption_file(f)[0]])
    if t.vqa:
        groups.append([r["image"] for r in read_fashion(t.fashion_data)])
    covered = {p for g in groups for p in g}
    if used - covered:
        groups.append(sorted(used - covered))
    return groups


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Stop(Exception):
    """Raised by the ``stop_after`` hook (tests simulate a killed run with it)."""


def train_vlm(cfg, log=print, stop_after: int | None = None) -> Path:
    """Run ``cfg.train``; returns the folder of the final model."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    from vlrec.adapters.vlm_load import build_vlm, read_vlm_meta
    from vlrec.core.runtime import apply_runtime, resolve_device
    from vlrec.models.vision import load_vision_encoder

    t: VLMTrainConfig = cfg.train
    apply_runtime(cfg.runtime)
    device = resolve_device(cfg.runtime.device)
    mp = t.mixed_precision
    if mp == "auto":
        mp = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "no"
    from accelerate.utils import DistributedDataParallelKwargs

    acc = Accelerator(
        mixed_precision=mp,
        cpu=device.type == "cpu",
        gradient_accumulation_steps=t.grad_accum,
        # text-only batches (intent) leave the projector without gradients
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(t.seed + acc.process_index)
    out = Path(t.out)
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))

    # --- model ---------------------------------------------------------------------------
    lora = "none"
    if t.stage == "instruct":
        lora = "load" if t.init and read_vlm_meta(t.init).get("lora") else "new"
    vlm_cfg = dataclasses.replace(cfg.vlm, adapter=t.init)
    lm_device = f"cuda:{acc.local_process_index}" if device.type == "cuda" else cfg.runtime.device
    vlm = build_vlm(
        vlm_cfg, cfg.lm, cfg.vision, lm_device, cfg.runtime.dtype, with_vision=False, lora=lora,
        trainable_lora=True,
    )  # fmt: skip
    if cfg.lm.quantization != "none" and lora != "none":
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(vlm.lm_model, use_gradient_checkpointing=False)
    for name, p in vlm.lm_model.named_parameters():
        p.requires_grad_(lora != "none" and "lora_" in name)
    for p in vlm.projector.parameters():
        p.requires_grad_(t.train_projector)
    if vlm.heads is not None:  # trained in stage heads; kept as they are
        vlm.heads.requires_grad_(False)
    vlm.projector.float()
    trainable = {n: p for n, p in vlm.named_parameters() if p.requires_grad}
    n_trainable = sum(p.numel() for p in trainable.values())
    n_total = sum(p.numel() for p in vlm.parameters())

    # --- data ----------------------------------------------------------------------------
    samples, held = build_samples(t)
    vision = load_vision_encoder(cfg.vision, "cpu" if device.type == "cpu" else lm_device)
    groups = image_groups(t, samples + [s for v in held.values() for s in v])
    bank = FeatureBank(vision, vlm.projector, groups)
    del vision
    world = acc.num_processes
    global_batch = t.batch_size * world
    batches_per_epoch = len(samples) // global_batch
    if batches_per_epoch == 0:
        raise ValueError(f"train: {len(samples)} samples are fewer than one global batch ({global_batch})")
    steps_per_epoch = batches_per_epoch // t.grad_accum
    total_steps = t.max_steps or steps_per_epoch * t.epochs
    log(
        f"vlrec: {t.stage}: {len(samples)} samples, {total_steps} steps of {global_batch * t.grad_accum}, "
        f"{n_trainable / 1e6:.2f} M trainable of {n_total / 1e6:.0f} M parameters"
    )

    groups_ = [
        {"params": [p for n, p in trainable.items() if n.startswith("projector.")], "lr": t.lr},
        {"params": [p for n, p in trainable.items() if not n.startswith("projector.")], "lr": t.lora_lr},
    ]
    optimizer = torch.optim.AdamW([g for g in groups_ if g["params"]], weight_decay=t.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(t.warmup * total_steps), total_steps)
    # The scheduler stays unprepared: it steps once per optimizer step, whatever the
    # number of processes (accelerate's wrapper would step it once per process).
    model, optimizer = acc.prepare(vlm, optimizer)

    # --- resume --------------------------------------------------------------------------
    step = 0
    ckpt_dir = out / "checkpoints"
    latest = _latest_checkpoint(ckpt_dir) if t.resume else None
    if latest is not None:
        step = _load_checkpoint(latest, vlm, trainable, optimizer, scheduler, acc.process_index)
        log(f"vlrec: resuming {out} at step {step} ({latest.name})")
        if acc.is_main_process:
            _truncate_metrics(out / "metrics.jsonl", step)

    def batch_at(micro: int) -> list[Sample]:
        epoch, pos = divmod(micro, batches_per_epoch)
        order = np.random.default_rng([t.seed, epoch]).permutation(len(samples))
        start = pos * global_batch + acc.process_index * t.batch_size
        return [samples[i] for i in order[start : start + t.batch_size]]

    def loss_of(batch: list[Sample]):
        ids, mask, labels = vlm.collate(
            [(vlm.render(s.question, image=s.image is not None), s.answer) for s in batch],
            t.max_answer_tokens,
        )
        pooled = bank.get([s.image for s in batch if s.image])
        dev = vlm.device
        return model(
            ids.to(dev), mask.to(dev), labels.to(dev), pooled=None if pooled is None else pooled.to(dev)
        )

    def evaluate() -> dict[str, float]:
        model.eval()
        res = {}
        with torch.no_grad():
            for task, rows in held.items():
                losses = [
                    float(loss_of(rows[i : i + t.batch_size])["loss"])
                    for i in range(0, len(rows), t.batch_size)
                ]
                res[f"eval_loss/{task}"] = float(np.mean(losses))
        model.train()
        if res:
            res["eval_loss"] = float(np.mean(list(res.values())))
        return res

    # --- loop ----------------------------------------------------------------------------
    model.train()
    bar = tqdm(
        total=total_steps, initial=step, desc=f"train {t.stage}", unit="step", file=sys.stderr,
        disable=not acc.is_main_process,
    )  # fmt: skip
    window, window_start, seen = [], time.perf_counter(), 0
    started = time.perf_counter()
    samples_done = 0
    while step < total_steps:
        for micro in range(t.grad_accum):
            with acc.accumulate(model):
                loss = loss_of(batch_at(step * t.grad_accum + micro))["loss"]
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(list(trainable.values()), 1.0)
                optimizer.step()
                if acc.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad()
            window.append(float(loss.detach()))
            seen += t.batch_size * world
        step += 1
        samples_done += global_batch * t.grad_accum
        rate = seen / max(time.perf_counter() - window_start, 1e-9)
        bar.set_postfix(loss=f"{np.mean(window[-t.grad_accum * 5 :]):.3f}", samples_s=f"{rate:.2f}")
        bar.update(1)
        record = None
        if step % t.log_every == 0 or step == total_steps:
            record = {
                "step": step,
                "loss": float(np.mean(window)),
                "lr": scheduler.get_last_lr()[0],
                "samples_per_s": rate,
                "epoch": step / steps_per_epoch,
            }
            window, window_start, seen = [], time.perf_counter(), 0
        if (t.eval_every and step % t.eval_every == 0) or step == total_steps:
            record = (record or {"step": step}) | evaluate()
        if record is not None and acc.is_main_process:
            with (out / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(record) + "\n")
            if "eval_loss" in record:
                plot_metrics(out / "metrics.jsonl", out / "metrics.png")
        if step % t.checkpoint_every == 0 and step < total_steps:
            acc.wait_for_everyone()
            _save_checkpoint(ckpt_dir, step, vlm, trainable, optimizer, scheduler, acc, t.keep_checkpoints)
        if stop_after is not None and step >= stop_after:
            bar.close()
            raise _Stop(step)
    bar.close()
    acc.wait_for_everyone()
    final = out / "vlm"
    if acc.is_main_process:
        vlm.eval()
        vlm.save_pretrained(
            final, extra={"vision": cfg.vision.name, "trained": {"stage": t.stage, "steps": step}}
        )
        wall = time.perf_counter() - started
        summary = {
            "stage": t.stage,
            "steps": step,
            "samples": samples_done,
            "wall_s": wall,
            "samples_per_s": samples_done / max(wall, 1e-9),
            "trainable_params": n_trainable,
            "total_params": n_total,
            "peak_rss_mb": _rss_mb(),
            "quantization": cfg.lm.quantization,
            "processes": world,
            "device": str(device),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        log(f"vlrec: wrote {final} ({json.dumps(summary)})")
    return final


# --- checkpoints -----------------------------------------------------------------------


def _latest_checkpoint(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("step-*") if (p / "state.pt").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def _rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(folder: Path, step, vlm, trainable, optimizer, scheduler, acc, keep: int) -> None:
    """Write ``step-N`` atomically (rank 0: weights + optimizer; every rank: its RNG)."""
    final = folder / f"step-{step:07d}"
    tmp = folder / f".step-{step:07d}.tmp"
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    acc.wait_for_everyone()
    torch.save(_rng_state(), tmp / f"rng-{acc.process_index}.pt")
    acc.wait_for_everyone()
    if acc.is_main_process:
        weights = {n: p.detach().cpu().clone() for n, p in trainable.items()}
        torch.save(
            {
                "step": step,
                "weights": weights,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            tmp / "state.pt",
        )
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        old = sorted(folder.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
    acc.wait_for_everyone()


def _load_checkpoint(path: Path, vlm, trainable, optimizer, scheduler, rank: int) -> int:
    state = torch.load(path / "state.pt", weights_only=False, map_location="cpu")
    missing = set(trainable) - set(state["weights"])
    if missing:
        raise ValueError(
            f"checkpoint {path} lacks {len(missing)} trainable tensors (e.g. {sorted(missing)[0]})"
        )
    with torch.no_grad():
        for n, p in trainable.items():
            p.copy_(state["weights"][n])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng = path / f"rng-{rank}.pt"
    if rng.is_file():
        _set_rng_state(torch.load(rng, weights_only=False))
    return int(state["step"])


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint being resumed."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))


def plot_metrics(jsonl: Path, png: Path) -> None:
    """Training loss and held-out loss against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    tr = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    if tr:
        ax.plot(*zip(*tr), label="train loss")
    keys = sorted({k for r in rows for k in r if k.startswith("eval_loss")})
    for key in keys:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot(*zip(*pts), marker="o", label=key.replace("eval_loss", "eval") or key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


__all__ = ["VLMTrainConfig", "train_vlm", "build_samples", "plot_metrics"]
