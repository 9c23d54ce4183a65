"""``train.stage: tail``: fine-tune a copy of the vision encoder's last stage for the catalogue.

Starts from a VLM with attribute heads (``train.init``; the shipped one by default), caches the
activations entering the encoder's last stride-2 stage for every catalogue photo (once, with the
pooled features; :func:`vlrec.models.features.image_features`), and trains
:class:`vlrec.adapters.tail.AttributeTail` on the training items with cross-entropy per field
(the heads' vocabularies, so the reader can fuse the two): the copied stage at ``train.tail_lr``,
the classifiers at ``train.lr``, one-cycle schedule, random horizontal flips of the cached maps
as augmentation. Then the reader's fusion (heads + tail + neighbours) and gates are refitted on
the dev split (:func:`vlrec.adapters.train.heads.calibrate`) and the model is written to
``train.out``/vlm: the init folder's files, unchanged, plus ``tail.safetensors``.

``train.stage: probe`` (:func:`train_probe`) fits the reader's colour probe on the training items'
Lab descriptors (seconds; no network) for a model with heads, and refits the fusion and gates.

A run folder holds ``config.yaml``, ``metrics.jsonl`` (loss, dev accuracy and minutes per epoch),
``checkpoints/epoch-N/`` (the newest; a restarted run resumes after it), ``vlm/`` and
``summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vlrec.adapters.train.checkpoints import append_metrics, resume_epochs, rng_state, write_checkpoint
from vlrec.adapters.train.heads import (
    HeadsSections,
    calibrate,
    catalogue_features,
    labels_of,
    start_run,
    write_from_init,
)
from vlrec.data.vlm_tasks import read_fashion, split_of


def _init_with_heads(cfg: HeadsSections, stage: str):
    """The config pointed at ``train.init`` and the VLM loaded from it, which must have heads."""
    from vlrec.adapters.vlm_load import load_vlm

    init = cfg.train.init
    if not init:
        raise ValueError(f"train.stage={stage} needs train.init: a VLM with attribute heads")
    cfg = dataclasses.replace(cfg, vlm=dataclasses.replace(cfg.vlm, adapter=init))
    vlm = load_vlm(cfg, with_vision=False)
    if vlm.heads is None:
        raise ValueError(f"train.init={init} has no attribute heads; run stage heads first")
    return cfg, vlm


def train_tail(cfg: HeadsSections, log=print) -> Path:
    """Run a ``train.stage: tail`` config; returns the saved VLM folder."""
    from tqdm import tqdm

    from vlrec.adapters.tail import AttributeTail
    from vlrec.models.colour import HIST_DIM

    t, out, started = start_run(cfg)
    cfg, vlm = _init_with_heads(cfg, "tail")
    vlm.tail = None  # a new tail, whatever the init had
    rows = read_fashion(t.fashion_data)
    split = np.array([split_of(r["id"]) for r in rows])
    vocab = vlm.heads.fields
    feats = catalogue_features(cfg, vlm, rows, tail=True)
    labels = labels_of(rows, vocab)
    train_idx = torch.from_numpy(np.nonzero(split == "train")[0])
    dev_idx = torch.from_numpy(np.nonzero(split == "dev")[0])
    tail = AttributeTail(cfg.vision.name, vocab, HIST_DIM)
    opt = torch.optim.AdamW(
        [{"params": tail.backbone_parameters(), "lr": t.tail_lr}, {"params": tail.classifier_parameters(), "lr": t.lr}],
        weight_decay=t.weight_decay,
    )  # fmt: skip
    steps_per_epoch = max(len(train_idx) // t.batch_size, 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[t.tail_lr, t.lr], total_steps=steps_per_epoch * t.epochs, pct_start=max(t.warmup, 0.01)
    )
    n_params = sum(p.numel() for p in tail.parameters())
    log(
        f"vlrec: tail: blocks {tail.cut}+ of {cfg.vision.name} and {len(vocab)} classifiers "
        f"({n_params / 1e6:.2f} M parameters); {len(train_idx)} training items, {len(dev_idx)} dev, "
        f"{t.epochs} epochs of {steps_per_epoch} steps"
    )
    ckpt_dir = out / "checkpoints"
    weights, start_epoch = resume_epochs(out, opt, sched, t.resume, log)
    if weights is not None:
        tail.load_state_dict(weights)

    def dev_accuracy() -> dict[str, float]:
        tail.eval()
        with torch.no_grad():
            chunks = [tail(feats["mid"][i].float(), feats["hist"][i]) for i in dev_idx.split(256)]
        return {
            f"dev_acc/{f}": 100 * float((torch.cat([c[f] for c in chunks]).argmax(1) == labels[f][dev_idx]).float().mean())
            for f in vocab
        }  # fmt: skip

    bar = tqdm(total=t.epochs, initial=start_epoch, desc="train tail", unit="epoch", file=sys.stderr)
    for epoch in range(start_epoch, t.epochs):
        tail.train()
        gen = torch.Generator().manual_seed(t.seed * 1000 + epoch)
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        losses = []
        for s in range(steps_per_epoch):
            idx = order[s * t.batch_size : (s + 1) * t.batch_size]
            x = feats["mid"][idx].float()  # [B, C', h', w']
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)  # a mirrored photo, approximately (the convolutions are not symmetric)
            got = tail(x, feats["hist"][idx])
            loss = sum(
                F.cross_entropy(got[f], labels[f][idx], ignore_index=-100, label_smoothing=0.1) for f in vocab
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), **dev_accuracy(),
                  "minutes": (time.perf_counter() - started) / 60}  # fmt: skip
        append_metrics(out / "metrics.jsonl", record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", type=f"{record['dev_acc/articleType']:.1f}")
        bar.update(1)
        write_checkpoint(ckpt_dir, f"epoch-{epoch + 1}", 1, tail.state_dict(), opt, sched, epoch=epoch + 1,
                         rng=rng_state())  # fmt: skip
    bar.close()
    tail.eval()
    vlm.tail = tail
    trained_s = time.perf_counter() - started
    report = calibrate(cfg, vlm, rows, feats, log=log)
    state = {k: v.detach().float().contiguous() for k, v in tail.state_dict().items()}
    write_from_init(t.init, out / "vlm", {"tail": tail.config(), "fusion": vlm.fusion},
                    {"tail": {"epochs": t.epochs, "init": str(t.init)}}, {"tail.safetensors": state})  # fmt: skip
    summary = {
        "stage": "tail",
        "epochs": t.epochs,
        "train_items": len(train_idx),
        "parameters": n_params,
        "train_s": trained_s,
        "wall_s": time.perf_counter() - started,
        "dev": report,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log(f"vlrec: wrote {out / 'vlm'} ({summary['wall_s'] / 60:.1f} min)")
    return out / "vlm"


def train_probe(cfg: HeadsSections, log=print) -> Path:
    """Run a ``train.stage: probe`` config: fit the reader's colour probe
    (:class:`vlrec.adapters.colour_probe.ColourProbe`, inverse regularisation ``train.probe_c``) on
    the training items' Lab descriptors for the model in ``train.init``, refit the reader's fusion
    and gates on the dev split, and save the model with it to ``train.out``/vlm."""
    from vlrec.adapters.colour_probe import ColourProbe

    t, out, started = start_run(cfg)
    cfg, vlm = _init_with_heads(cfg, "probe")
    rows = read_fashion(t.fashion_data)
    split = np.array([split_of(r["id"]) for r in rows])
    fields = {f: vlm.heads.fields[f] for f in t.probe_fields if f in vlm.heads.fields}
    if not fields:
        raise ValueError(f"train.probe_fields={list(t.probe_fields)}: none is a field of the model's heads")
    feats = catalogue_features(cfg, vlm, rows, probe=True)
    labels = {f: y.numpy() for f, y in labels_of(rows, fields).items()}
    train_idx = np.nonzero(split == "train")[0]
    fit_started = time.perf_counter()
    vlm.probe = ColourProbe.fit(
        feats["lab"][train_idx].numpy(), {f: y[train_idx] for f, y in labels.items()}, fields, c=t.probe_c
    )
    fit_s = time.perf_counter() - fit_started
    log(f"vlrec: colour probe for {', '.join(fields)} fitted on {len(train_idx)} items in {fit_s:.0f} s")
    report = calibrate(cfg, vlm, rows, feats, log=log)
    state = {k: v.detach().float().contiguous() for k, v in vlm.probe.state_dict().items()}
    final = write_from_init(t.init, out / "vlm", {"probe": vlm.probe.config(), "fusion": vlm.fusion},
                            {"probe": {"c": t.probe_c, "init": str(t.init)}}, {"probe.safetensors": state})  # fmt: skip
    summary = {"stage": "probe", "train_items": len(train_idx), "fit_s": fit_s,
               "wall_s": time.perf_counter() - started, "dev": report}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log(f"vlrec: wrote {final} ({summary['wall_s'] / 60:.1f} min)")
    return final
