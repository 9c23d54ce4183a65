"""``train.stage: heads``: the representation stage of the VLM recipe (BLIP-2's order).

The projector and one attribute head per catalogue field (:mod:`vlrec.adapters.heads`) are trained
with cross-entropy on cached frozen image features of the catalogue's training items; no LM
forward pass, so an epoch over 8,600 items takes seconds on 2 CPU cores. Then the reader's
fusion (heads + neighbour vote) and each field's confidence gate are fitted on the dev split
(:func:`calibrate`) and saved with the model.

A run folder holds ``config.yaml``, ``metrics.jsonl`` (loss and dev accuracy per epoch),
``checkpoints/epoch-N/`` (the newest; a restarted run resumes after it), ``vlm/`` and
``summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from vlrec.adapters.train.checkpoints import append_metrics, resume_epochs, rng_state, write_checkpoint
from vlrec.adapters.train.vlm_config import VLMTrainSections
from vlrec.adapters.vlm_load import read_vlm_meta, write_vlm_meta
from vlrec.core.config import to_dict
from vlrec.data.vlm_tasks import read_fashion, split_of


class AlignmentHeadChoice(Protocol):
    head: str | None
    """Alignment head folder (the ``retrieval`` section; None = the shipped head)."""


class HeadsSections(VLMTrainSections, Protocol):
    """What the heads and calibrate stages read: the VLM recipe's sections and the alignment head."""

    retrieval: AlignmentHeadChoice


def start_run(cfg) -> tuple:
    """Apply the runtime, seed torch, create ``train.out`` with the resolved ``config.yaml``:
    ``(train section, run folder, start time)``."""
    from vlrec.core.runtime import apply_runtime

    t = cfg.train
    apply_runtime(cfg.runtime)
    torch.manual_seed(t.seed)
    out = Path(t.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return t, out, time.perf_counter()


def catalogue_features(
    cfg: HeadsSections, vlm, rows: list[dict], tail: bool = False, probe: bool = False
) -> dict:
    """Pooled projector inputs ``[N, T, C]`` and pooled vision features ``[N, C]`` of ``rows``
    (cached on disk by :mod:`vlrec.models.features`); for a VLM with a tail (or ``tail``), also
    the tail's inputs: ``mid`` activations ``[N, C', h', w']`` (fp16) and colour histograms; for one
    with a colour probe (or ``probe``), the Lab descriptors (``lab``)."""
    from vlrec.adapters.train.vlm_data import FeatureBank
    from vlrec.models.features import colour_histograms, colour_labs, image_features
    from vlrec.models.vision import load_vision_encoder

    vision = load_vision_encoder(cfg.vision, "cpu")
    paths = [r["image"] for r in rows]
    bank = FeatureBank(vision, vlm.projector, [paths])
    tail = tail or vlm.tail is not None
    got = image_features(vision, paths, keep_patches=False, desc="image features", mid=tail)
    out = {"inputs": bank.pooled, "pooled": got["pooled"].float()}
    if tail:
        out |= {"mid": got["mid"], "hist": colour_histograms(paths).float()}
    if probe or getattr(vlm, "probe", None) is not None:
        out["lab"] = colour_labs(paths).float()
    return out


def tail_inputs(feats: dict, idx) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The tail's inputs of rows ``idx`` from :func:`catalogue_features` (None without them)."""
    return (feats["mid"][idx], feats["hist"][idx]) if "mid" in feats else None


def probe_inputs(feats: dict, idx) -> torch.Tensor | None:
    """The colour probe's inputs of rows ``idx`` from :func:`catalogue_features` (None without them)."""
    return feats["lab"][idx] if "lab" in feats else None


def reader_parts(reader, feats: dict, idx, vectors, ids) -> dict:
    """The reader's sources per field for rows ``idx`` of :func:`catalogue_features` (their datastore
    ``vectors``; ``ids`` are never their own neighbours)."""
    parts, _ = reader.parts(feats["inputs"][idx].float(), vectors, ids, tail=tail_inputs(feats, idx),
                            probe=probe_inputs(feats, idx))  # fmt: skip
    return parts


def field_values(rows: list[dict], fields: tuple[str, ...]) -> dict[str, list[str]]:
    return {f: sorted({str(r[f]) for r in rows if r.get(f)}) for f in fields}


def labels_of(rows: list[dict], vocab: dict[str, list[str]]) -> dict[str, torch.Tensor]:
    """Index of each row's value per field (-100 where the value is unknown to the vocabulary)."""
    out = {}
    for f, values in vocab.items():
        index = {v: i for i, v in enumerate(values)}
        out[f] = torch.tensor([index.get(str(r.get(f)), -100) for r in rows])
    return out


def train_heads(cfg: HeadsSections, log=print) -> Path:
    """Run a ``train.stage: heads`` config; returns the saved VLM folder."""
    from tqdm import tqdm

    from vlrec.adapters.heads import AttributeHeads
    from vlrec.adapters.reader import FIELDS
    from vlrec.adapters.vlm_load import build_vlm

    t, out, started = start_run(cfg)

    vlm = build_vlm(dataclasses.replace(cfg.vlm, adapter=t.init), cfg.lm, cfg.vision, "cpu", "float32",
                    with_vision=False, lora="load")  # fmt: skip
    vlm.projector.float()
    rows = read_fashion(t.fashion_data)
    split = np.array([split_of(r["id"]) for r in rows])
    vocab = field_values([r for r, s in zip(rows, split) if s == "train"], FIELDS)
    feats = catalogue_features(cfg, vlm, rows)
    labels = labels_of(rows, vocab)
    train_idx = torch.from_numpy(np.nonzero(split == "train")[0])
    dev_idx = torch.from_numpy(np.nonzero(split == "dev")[0])
    dim = vlm.projector.out_dim
    heads = AttributeHeads(dim, vocab, hidden=t.heads_hidden)
    vlm.projector.requires_grad_(t.train_projector)
    params = list(heads.parameters()) + (list(vlm.projector.parameters()) if t.train_projector else [])
    opt = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    steps_per_epoch = max(len(train_idx) // t.batch_size, 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=t.lr, total_steps=steps_per_epoch * t.epochs, pct_start=max(t.warmup, 0.01)
    )
    log(
        f"vlrec: heads: {len(train_idx)} training items, {len(dev_idx)} dev, {t.epochs} epochs of "
        f"{steps_per_epoch} steps; fields: " + ", ".join(f"{f} ({len(v)})" for f, v in vocab.items())
    )

    ckpt_dir = out / "checkpoints"
    weights, start_epoch = resume_epochs(out, opt, sched, t.resume, log)
    if weights is not None:
        heads.load_state_dict({n[6:]: w for n, w in weights.items() if n.startswith("heads.")})
        vlm.projector.load_state_dict({n[10:]: w for n, w in weights.items() if n.startswith("projector.")})

    def logits_of(idx: torch.Tensor, train: bool) -> dict[str, torch.Tensor]:
        heads.train(train)
        vlm.projector.train(train)
        x = feats["inputs"][idx].float()  # [B, T, C]
        return heads(vlm.projector.project(x))  # {field: [B, V]}

    bar = tqdm(total=t.epochs, initial=start_epoch, desc="train heads", unit="epoch", file=sys.stderr)
    for epoch in range(start_epoch, t.epochs):
        gen = torch.Generator().manual_seed(t.seed * 1000 + epoch)
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        losses = []
        for s in range(steps_per_epoch):
            idx = order[s * t.batch_size : (s + 1) * t.batch_size]
            got = logits_of(idx, True)
            loss = sum(
                F.cross_entropy(got[f], labels[f][idx], ignore_index=-100, label_smoothing=0.1) for f in vocab
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
        with torch.no_grad():
            got = logits_of(dev_idx, False)
        record = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "minutes": (time.perf_counter() - started) / 60,
        }
        for f in vocab:
            y = labels[f][dev_idx]
            record[f"dev_acc/{f}"] = 100 * float((got[f].argmax(1) == y).float().mean())
        append_metrics(out / "metrics.jsonl", record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", type=f"{record['dev_acc/articleType']:.1f}")
        bar.update(1)
        ckpt_dir.mkdir(exist_ok=True)
        weights = {f"heads.{n}": w for n, w in heads.state_dict().items()}
        weights |= {f"projector.{n}": w for n, w in vlm.projector.state_dict().items()}
        write_checkpoint(
            ckpt_dir, f"epoch-{epoch + 1}", 1, weights, opt, sched, epoch=epoch + 1, rng=rng_state()
        )
    bar.close()
    heads.eval()
    vlm.projector.eval()
    vlm.heads = heads
    trained_s = time.perf_counter() - started
    report = calibrate(cfg, vlm, rows, feats, log=log)
    final = out / "vlm"
    vlm.save_pretrained(
        final, extra={"vision": cfg.vision.name, "trained": {"stage": "heads", "epochs": t.epochs}}
    )
    summary = {
        "stage": "heads",
        "epochs": t.epochs,
        "train_items": len(train_idx),
        "train_s": trained_s,
        "wall_s": time.perf_counter() - started,
        "dev": report,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log(f"vlrec: wrote {final} ({summary['wall_s'] / 60:.1f} min)")
    return final


def train_calibrate(cfg: HeadsSections, log=print) -> Path:
    """``train.stage: calibrate``, the recipe's last step: refit the attribute reader's fusion and
    gates (fashion dev split) and the caption rerank weight (Flickr8k dev images) for the model in
    ``train.init``, and save it with them to ``train.out``/vlm."""
    from vlrec.adapters.train.captions import fit_caption_weight
    from vlrec.adapters.vlm_load import load_vlm

    t, out, started = start_run(cfg)
    cfg = dataclasses.replace(cfg, vlm=dataclasses.replace(cfg.vlm, adapter=t.init))
    vlm = load_vlm(cfg, with_vision=False)
    rows = read_fashion(t.fashion_data)
    report = {"attributes": calibrate(cfg, vlm, rows, catalogue_features(cfg, vlm, rows), log=log)}
    if t.captions:
        report["captions"] = fit_caption_weight(cfg, vlm, t.caption_data, t.caption_eval, log=log)
    # only the fusion settings change: the weights are copied as they are
    final = write_from_init(t.init, out / "vlm", {"fusion": vlm.fusion}, {"calibrated": True})
    report["wall_s"] = time.perf_counter() - started
    (out / "summary.json").write_text(json.dumps(report, indent=2))
    log(f"vlrec: wrote {final} ({report['wall_s'] / 60:.1f} min)")
    return final


def write_from_init(init, final: Path, meta_update: dict, trained: dict, files: dict | None = None) -> Path:
    """Write the VLM folder ``final`` as a copy of ``init`` with ``meta_update`` and ``trained``
    merged into its ``config.json`` and ``files`` (name -> safetensors dict) added; atomically
    (a copy beside it, renamed into place)."""
    from safetensors.torch import save_file

    tmp = final.parent / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(init, tmp)
    for name, tensors in (files or {}).items():
        save_file(tensors, str(tmp / name))
    meta = read_vlm_meta(tmp)
    meta.update(meta_update)
    meta.setdefault("trained", {}).update(trained)
    write_vlm_meta(tmp, meta)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def catalogue_datastore(cfg: HeadsSections, rows: list[dict], pooled: torch.Tensor):
    """An in-memory copy of what the catalogue's Chroma image collection holds: the alignment
    head's vectors of each item's photo, with the item's fields as metadata."""
    from vlrec.adapters.align import alignment_head
    from vlrec.adapters.reader import ArrayDatastore

    head = alignment_head(cfg.retrieval.head)
    with torch.no_grad():
        vectors = head.encode_image(pooled).numpy()
    meta = [{k: v for k, v in r.items() if k not in ("image",)} for r in rows]
    return ArrayDatastore([r["id"] for r in rows], vectors, meta), head


def calibrate(cfg: HeadsSections, vlm, rows: list[dict], feats: dict, log=print) -> dict:
    """Fit the reader's fusion weights and gates on the dev split; sets ``vlm.fusion``."""
    from vlrec.adapters.reader import AttributeReader, fit_fusion, fit_gate, fuse

    t = cfg.train
    split = np.array([split_of(r["id"]) for r in rows])
    dev = np.nonzero(split == "dev")[0]
    store, _ = catalogue_datastore(cfg, rows, feats["pooled"])
    reader = AttributeReader(vlm, store, k=t.knn_k)
    parts = reader_parts(reader, feats, dev, store.vectors[dev], [rows[i]["id"] for i in dev])
    fusion, report = {}, {}
    for f, p in parts.items():
        vocab = {v: i for i, v in enumerate(reader.vocab(f))}
        truth = np.array([vocab.get(str(rows[i].get(f)), -1) for i in dev])
        keep = truth >= 0
        sub = {k: v[keep] for k, v in p.items()}
        weights = fit_fusion(sub, truth[keep])
        probs = fuse(sub, weights)
        conf = probs.max(1)
        correct = probs.argmax(1) == truth[keep]
        gate = fit_gate(conf, correct, t.max_wrong, level=t.gate_level)
        fusion[f] = {"weights": weights, "gate": gate, "k": t.knn_k}
        report[f] = {
            "head_acc": 100 * float((sub["head"].argmax(1) == truth[keep]).mean()),
            **(
                {"tail_acc": 100 * float((sub["tail"].argmax(1) == truth[keep]).mean())}
                if "tail" in sub
                else {}
            ),
            **(
                {"probe_acc": 100 * float((sub["probe"].argmax(1) == truth[keep]).mean())}
                if "probe" in sub
                else {}
            ),
            "knn_acc": 100 * float((sub["knn"].argmax(1) == truth[keep]).mean()),
            "fused_acc": 100 * float(correct.mean()),
            "weights": weights,
            "gate": gate,
            "stated": 100 * float((conf >= gate).mean()),
        }
        log(
            f"vlrec: dev {f}: heads {report[f]['head_acc']:.1f} %, neighbours {report[f]['knn_acc']:.1f} %, "
            f"fused {report[f]['fused_acc']:.1f} % ({weights}); gate {gate:.2f} states {report[f]['stated']:.0f} %"
        )
    vlm.fusion = {**vlm.fusion, **fusion}  # other entries (the caption weight) stay
    return report
