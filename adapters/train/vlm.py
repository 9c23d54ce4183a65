"""``vlrec train vlm``: the two training stages of the VLM, on accelerate.

Stage ``align`` trains the projector alone (LM frozen) on captions; stage
``instruct`` trains projector + LoRA on a 4-bit base (QLoRA) on a task mix. The
same loop runs on one CPU (fp32), one GPU (bf16) or several processes
(``accelerate launch``; each process takes its slice of every global batch).

The recipe has the shape torchtune and nanoVLM use: :meth:`VLMRecipe.setup` (model,
data, optimizer, resume), :meth:`VLMRecipe.train_step` (one optimizer step over
``grad_accum`` micro-batches), :meth:`VLMRecipe.evaluate` (held-out loss per task) and
:meth:`VLMRecipe.save`; data in :mod:`vlrec.adapters.train.vlm_data`, checkpoints in
:mod:`vlrec.adapters.train.checkpoints`.

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
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from vlrec.adapters.train.checkpoints import (
    append_metrics,
    latest_checkpoint,
    load_checkpoint,
    plot_metrics,
    rss_mb,
    save_checkpoint,
    truncate_metrics,
)
from vlrec.adapters.train.vlm_config import VLMTrainConfig, VLMTrainSections
from vlrec.adapters.train.vlm_data import FeatureBank, build_samples, image_groups
from vlrec.core.config import to_dict
from vlrec.data.vlm_tasks import Sample


class _Stop(Exception):
    """Raised by the ``stop_after`` hook (tests simulate a killed run with it)."""


class VLMRecipe:
    """One training stage of the VLM: ``setup()``, then ``train_step()`` until done, ``save()``."""

    def __init__(self, cfg: VLMTrainSections, log=print):
        self.cfg = cfg
        self.t: VLMTrainConfig = cfg.train
        self.log = log
        self.out = Path(self.t.out)
        self.step = 0

    # --- setup -----------------------------------------------------------------------------
    def setup(self) -> None:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs, set_seed

        from vlrec.core.runtime import apply_runtime, resolve_device

        cfg, t = self.cfg, self.t
        apply_runtime(cfg.runtime)
        self.device = device = resolve_device(cfg.runtime.device)
        mp = t.mixed_precision
        if mp == "auto":
            mp = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "no"
        self.acc = Accelerator(
            mixed_precision=mp,
            cpu=device.type == "cpu",
            gradient_accumulation_steps=t.grad_accum,
            # text-only batches (intent) leave the projector without gradients
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        )
        set_seed(t.seed + self.acc.process_index)
        if self.acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        self._setup_model()
        self._setup_data()
        self._setup_optimizer()
        if t.resume:
            self._resume()

    def _setup_model(self) -> None:
        from vlrec.adapters.vlm_load import build_vlm, read_vlm_meta

        cfg, t = self.cfg, self.t
        lora = "none"
        if t.stage == "instruct":
            lora = "load" if t.init and read_vlm_meta(t.init).get("lora") else "new"
        vlm_cfg = dataclasses.replace(cfg.vlm, adapter=t.init)
        cuda = self.device.type == "cuda"
        self.lm_device = f"cuda:{self.acc.local_process_index}" if cuda else cfg.runtime.device
        vlm = build_vlm(
            vlm_cfg, cfg.lm, cfg.vision, self.lm_device, cfg.runtime.dtype, with_vision=False, lora=lora,
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
        self.vlm = vlm
        self.trainable = {n: p for n, p in vlm.named_parameters() if p.requires_grad}
        self.n_trainable = sum(p.numel() for p in self.trainable.values())
        self.n_total = sum(p.numel() for p in vlm.parameters())

    def _setup_data(self) -> None:
        from vlrec.models.vision import load_vision_encoder

        t = self.t
        self.samples, self.held = build_samples(t)
        vision_device = "cpu" if self.device.type == "cpu" else self.lm_device
        vision = load_vision_encoder(self.cfg.vision, vision_device)
        groups = image_groups(t, self.samples + [s for v in self.held.values() for s in v])
        self.bank = FeatureBank(vision, self.vlm.projector, groups)
        del vision
        self.world = self.acc.num_processes
        self.global_batch = t.batch_size * self.world
        self.batches_per_epoch = len(self.samples) // self.global_batch
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"train: {len(self.samples)} samples are fewer than one global batch ({self.global_batch})"
            )
        self.steps_per_epoch = self.batches_per_epoch // t.grad_accum
        self.total_steps = t.max_steps or self.steps_per_epoch * t.epochs
        self.log(
            f"vlrec: {t.stage}: {len(self.samples)} samples, {self.total_steps} steps of "
            f"{self.global_batch * t.grad_accum}, "
            f"{self.n_trainable / 1e6:.2f} M trainable of {self.n_total / 1e6:.0f} M parameters"
        )

    def _setup_optimizer(self) -> None:
        from transformers import get_cosine_schedule_with_warmup

        self.sharded = self.t.fsdp and self.world > 1
        if self.sharded:
            from vlrec.adapters.train.sharding import shard_vlm

            self.log(f"vlrec: fsdp: {shard_vlm(self.vlm)} decoder layers sharded over {self.world} processes")
            self.trainable = {n: p for n, p in self.vlm.named_parameters() if p.requires_grad}
        t, trainable = self.t, self.trainable
        groups = [
            {"params": [p for n, p in trainable.items() if n.startswith("projector.")], "lr": t.lr},
            {"params": [p for n, p in trainable.items() if not n.startswith("projector.")], "lr": t.lora_lr},
        ]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=t.weight_decay)
        self.scheduler = get_cosine_schedule_with_warmup(
            optimizer, int(t.warmup * self.total_steps), self.total_steps
        )
        # The scheduler stays unprepared: it steps once per optimizer step, whatever the
        # number of processes (accelerate's wrapper would step it once per process).
        if self.sharded:  # already distributed: accelerate only wraps the optimizer
            self.model, self.optimizer = self.vlm, self.acc.prepare(optimizer)
        else:
            self.model, self.optimizer = self.acc.prepare(self.vlm, optimizer)

    def _resume(self) -> None:
        latest = None if self.sharded else latest_checkpoint(self.out / "checkpoints")
        if latest is None:
            return
        self.step = load_checkpoint(
            latest, self.trainable, self.optimizer, self.scheduler, self.acc.process_index
        )
        self.log(f"vlrec: resuming {self.out} at step {self.step} ({latest.name})")
        if self.acc.is_main_process:
            truncate_metrics(self.out / "metrics.jsonl", self.step)

    # --- train step --------------------------------------------------------------------------
    def batch_at(self, micro: int) -> list[Sample]:
        """This process's slice of global micro-batch ``micro`` (a pure function of the seed)."""
        t = self.t
        epoch, pos = divmod(micro, self.batches_per_epoch)
        order = np.random.default_rng([t.seed, epoch]).permutation(len(self.samples))
        start = pos * self.global_batch + self.acc.process_index * t.batch_size
        return [self.samples[i] for i in order[start : start + t.batch_size]]

    def loss_of(self, batch: list[Sample]):
        vlm = self.vlm
        ids, mask, labels = vlm.collate(
            [(vlm.render(s.question, image=s.image is not None), s.answer) for s in batch],
            self.t.max_answer_tokens,
        )
        pooled = self.bank.get([s.image for s in batch if s.image])
        dev = vlm.device
        return self.model(
            ids.to(dev), mask.to(dev), labels.to(dev), pooled=None if pooled is None else pooled.to(dev)
        )

    def train_step(self) -> list[float]:
        """One optimizer step over ``grad_accum`` micro-batches; their losses (means over processes)."""
        t, acc = self.t, self.acc
        losses = []
        for micro in range(t.grad_accum):
            with acc.accumulate(self.model):
                loss = self.loss_of(self.batch_at(self.step * t.grad_accum + micro))["loss"]
                acc.backward(loss)
                if acc.sync_gradients:
                    acc.clip_grad_norm_(list(self.trainable.values()), 1.0)
                self.optimizer.step()
                if acc.sync_gradients:
                    self.scheduler.step()
                self.optimizer.zero_grad()
            losses.append(float(acc.reduce(loss.detach(), "mean") if self.world > 1 else loss.detach()))
        self.step += 1
        return losses

    # --- evaluate ----------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Held-out loss per task and their mean."""
        self.model.eval()
        res = {}
        bs = self.t.batch_size
        with torch.no_grad():
            for task, rows in self.held.items():
                losses = [float(self.loss_of(rows[i : i + bs])["loss"]) for i in range(0, len(rows), bs)]
                res[f"eval_loss/{task}"] = float(np.mean(losses))
        self.model.train()
        if res:
            res["eval_loss"] = float(np.mean(list(res.values())))
        return res

    # --- loop --------------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> Path:
        from tqdm import tqdm

        t, acc = self.t, self.acc
        self.model.train()
        bar = tqdm(
            total=self.total_steps, initial=self.step, desc=f"train {t.stage}", unit="step",
            file=sys.stderr, disable=not acc.is_main_process,
        )  # fmt: skip
        window, window_start, seen = [], time.perf_counter(), 0
        self.started = time.perf_counter()
        self.samples_done = 0
        while self.step < self.total_steps:
            window += self.train_step()
            seen += t.batch_size * self.world * t.grad_accum
            self.samples_done += self.global_batch * t.grad_accum
            step = self.step
            rate = seen / max(time.perf_counter() - window_start, 1e-9)
            bar.set_postfix(loss=f"{np.mean(window[-t.grad_accum * 5 :]):.3f}", samples_s=f"{rate:.2f}")
            bar.update(1)
            record = None
            if step % t.log_every == 0 or step == self.total_steps:
                record = {
                    "step": step,
                    "loss": float(np.mean(window)),
                    "lr": self.scheduler.get_last_lr()[0],
                    "samples_per_s": rate,
                    "epoch": step / self.steps_per_epoch,
                }
                window, window_start, seen = [], time.perf_counter(), 0
            if (t.eval_every and step % t.eval_every == 0) or step == self.total_steps:
                record = (record or {"step": step}) | self.evaluate()
            if record is not None and acc.is_main_process:
                append_metrics(self.out / "metrics.jsonl", record)
                if "eval_loss" in record:
                    plot_metrics(self.out / "metrics.jsonl", self.out / "metrics.png")
            if step % t.checkpoint_every == 0 and step < self.total_steps and not self.sharded:
                acc.wait_for_everyone()
                save_checkpoint(self.out / "checkpoints", step, self.trainable, self.optimizer,
                                self.scheduler, acc, t.keep_checkpoints)  # fmt: skip
            if stop_after is not None and step >= stop_after:
                bar.close()
                raise _Stop(step)
        bar.close()
        acc.wait_for_everyone()
        return self.save()

    # --- save --------------------------------------------------------------------------------
    def save(self) -> Path:
        """Write the final model (``vlm/``) and ``summary.json`` (rank 0)."""
        final = self.out / "vlm"
        if self.sharded:
            from vlrec.adapters.train.sharding import full_state_dict

            state = full_state_dict(self.vlm)  # every process takes part
        if not self.acc.is_main_process:
            return final
        cfg, t = self.cfg, self.t
        self.vlm.eval()
        self.vlm.save_pretrained(
            final, extra={"vision": cfg.vision.name, "trained": {"stage": t.stage, "steps": self.step}},
            state_dict=state if self.sharded else None,
        )  # fmt: skip
        wall = time.perf_counter() - self.started
        summary = {
            "stage": t.stage,
            "steps": self.step,
            "samples": self.samples_done,
            "wall_s": wall,
            "samples_per_s": self.samples_done / max(wall, 1e-9),
            "trainable_params": self.n_trainable,
            "total_params": self.n_total,
            "peak_rss_mb": rss_mb(),
            "quantization": cfg.lm.quantization,
            "processes": self.world,
            "fsdp": self.sharded,
            "device": str(self.device),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
        self.log(f"vlrec: wrote {final} ({json.dumps(summary)})")
        return final


def train_vlm(cfg: VLMTrainSections, log=print, stop_after: int | None = None) -> Path:
    """Run ``cfg.train``; returns the folder of the final model."""
    recipe = VLMRecipe(cfg, log)
    recipe.setup()
    out = recipe.run(stop_after)
    if recipe.acc.num_processes > 1:  # torchrun: leave the process group before exit (a gloo process
        recipe.acc.end_training()  # that exits with it alive can abort in teardown, SIGABRT)
    return out


__all__ = ["VLMTrainConfig", "VLMRecipe", "train_vlm", "build_samples", "plot_metrics"]
