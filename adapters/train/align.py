"""``vlrec train align``: train the alignment head on cached frozen features.

setup (encoders, cached features) → train (InfoNCE [+ discriminator]) → evaluate
each few epochs on the eval file → save the best head. A run folder holds the
resolved config, ``metrics.jsonl`` and the head folder.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import yaml
from tqdm import tqdm

from vlrec.adapters.align import AlignConfig, AlignmentHead, ModalityDiscriminator, contrastive_loss
from vlrec.core.config import to_dict
from vlrec.core.metrics import recall_metrics
from vlrec.core.runtime import RuntimeConfig
from vlrec.data.captions import read_caption_file
from vlrec.models.features import image_features, text_features
from vlrec.models.text import TextConfig
from vlrec.models.vision import VisionConfig


class AlignSections(Protocol):
    """The config sections the alignment recipe reads."""

    runtime: RuntimeConfig
    vision: VisionConfig
    text: TextConfig
    align: AlignConfig


def _setup(cfg: AlignSections):
    from vlrec.core.runtime import apply_runtime
    from vlrec.models.text import load_text_embedder
    from vlrec.models.vision import load_vision_encoder

    apply_runtime(cfg.runtime)
    vision = load_vision_encoder(cfg.vision, cfg.runtime.device)
    text = load_text_embedder(cfg.text, cfg.runtime.device)
    return vision, text


def _fashion(a) -> dict:
    """Training photos + captions (title, attribute sentence) and held-out photos + titles."""
    from vlrec.data.vlm_tasks import describe, held_out, read_fashion

    rows = read_fashion(a.fashion)
    train = [r for r in rows if not held_out(r["id"])]
    if a.fashion_items:
        train = train[: a.fashion_items]
    test = [r for r in rows if held_out(r["id"])]
    caps, owner = [], []
    for n, r in enumerate(train):
        for c in (r["title"], describe(r)):
            caps.append(c)
            owner.append(n)
    return {
        "train_images": [r["image"] for r in train],
        "train_caps": caps,
        "train_owner": np.array(owner),
        "test_images": [r["image"] for r in test],
        "test_titles": [r["title"] for r in test],
    }


def _views(vision, images, flip: bool, patches: bool, label: str) -> list[torch.Tensor]:
    key = "patches" if patches else "pooled"
    views = [image_features(vision, images, keep_patches=patches, desc=f"{label} features")[key]]
    if flip:
        views.append(
            image_features(vision, images, flip=True, keep_patches=patches, desc=f"{label} mirrored")[key]
        )
    return views


@torch.no_grad()
def embed_all(head: AlignmentHead, image_feats: torch.Tensor, text_vecs: np.ndarray, batch: int = 512):
    head.eval()
    img = torch.cat(
        [head.encode_image(image_feats[i : i + batch]) for i in range(0, len(image_feats), batch)]
    )
    txt = head.encode_text(torch.from_numpy(np.asarray(text_vecs)))
    return img.numpy(), txt.numpy()


def train_align(cfg: AlignSections, log=print) -> Path:
    """Run the training described by ``cfg.align``; returns the saved head folder."""
    a = cfg.align
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))

    vision, text = _setup(cfg)
    tr_images, tr_caps, tr_owner = read_caption_file(a.data)
    te_images, te_caps, te_owner = read_caption_file(a.eval_data)
    patches = a.image_head == "attn"
    train_views = _views(vision, tr_images, a.flip, patches, "train")
    fa = _fashion(a) if a.fashion else None
    test_feats = _views(vision, te_images, False, patches, "eval")[0]
    tr_txt = torch.from_numpy(text_features(text, tr_caps, desc="train captions"))
    te_txt = text_features(text, te_caps, desc="eval captions")
    if a.val_images >= len(tr_images):
        raise ValueError(f"align.val_images={a.val_images} leaves no training images in {a.data}")
    # Hold out the last val_images training images to choose the epoch.
    n_train = len(tr_images) - a.val_images
    val_caps = np.flatnonzero(tr_owner >= n_train)
    val_feats, val_txt, val_owner = (
        train_views[0][n_train:],
        tr_txt[val_caps].numpy(),
        tr_owner[val_caps] - n_train,
    )
    tr_images = tr_images[:n_train]
    keep = np.flatnonzero(tr_owner < n_train)
    tr_txt, tr_owner = tr_txt[keep], tr_owner[keep]
    train_views = [v[:n_train] for v in train_views]
    if fa is not None:
        # product photos join the scenes: one unmirrored view (products face a fixed way)
        f_feats = _views(vision, fa["train_images"], False, patches, "fashion")[0]
        f_txt = torch.from_numpy(text_features(text, fa["train_caps"], desc="fashion titles"))
        train_views = [torch.cat([v, f_feats]) for v in train_views]
        tr_txt = torch.cat([tr_txt, f_txt])
        tr_owner = np.concatenate([tr_owner, fa["train_owner"] + len(tr_images)])
        tr_images = tr_images + fa["train_images"]
        log(f"training on {n_train} Flickr8k images and {len(fa['train_images'])} product photos")

    head = AlignmentHead(a, vision.feature_dim, text.dim)
    params = list(head.parameters())
    disc = None
    if a.mode == "adversarial":
        disc = ModalityDiscriminator(a.dim)
        params += list(disc.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay)
    caps_of = [np.flatnonzero(tr_owner == i) for i in range(len(tr_images))]
    steps_per_epoch = math.ceil(len(tr_images) / a.batch_size)
    total = steps_per_epoch * a.epochs
    warmup = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )

    best, best_epoch, step = -1.0, 0, 0
    metrics_file = (out / "metrics.jsonl").open("a")
    start = time.perf_counter()
    bar = tqdm(total=total, desc="train align", unit="step", file=sys.stderr)
    eval_every = max(1, a.epochs // 10)
    for epoch in range(1, a.epochs + 1):
        head.train()
        order = rng.permutation(len(tr_images))
        running = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * a.batch_size : (b + 1) * a.batch_size]
            view = train_views[rng.integers(len(train_views))]
            cap = np.array([rng.choice(caps_of[i]) for i in idx])
            img = head.encode_image(view[torch.from_numpy(idx)])
            txt = head.encode_text(tr_txt[torch.from_numpy(cap)])
            loss = contrastive_loss(
                img, txt, head.logit_scale, a.hard_negative_weight if epoch > a.epochs // 3 else 0
            )
            if disc is not None:
                loss = loss + a.adv_weight * disc(img, txt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", epoch=epoch)
        record = {
            "epoch": epoch,
            "step": step,
            "loss": running / steps_per_epoch,
            "lr": sched.get_last_lr()[0],
        }
        if epoch % eval_every == 0 or epoch == a.epochs:
            img_e, txt_e = embed_all(head, val_feats, val_txt)
            m = recall_metrics(img_e, txt_e, val_owner)
            record.update({f"val_{k}": v for k, v in m.items() if "@" in k or "medr" in k})
            rsum = sum(v for k, v in m.items() if "@" in k)
            if rsum > best:
                best, best_epoch = rsum, epoch
                head.save(
                    out / "head", extra={"vision": cfg.vision.name, "text": text.name}, half=a.save_half
                )
        record["elapsed_s"] = round(time.perf_counter() - start, 1)
        metrics_file.write(json.dumps(record) + "\n")
        metrics_file.flush()
        if "val_i2t_R@1" in record:
            log(
                f"epoch {epoch}: loss {record['loss']:.3f}  val i2t R@1 {record['val_i2t_R@1']:.1f}  "
                f"val t2i R@1 {record['val_t2i_R@1']:.1f}  ({record['elapsed_s']:.0f} s)"
            )
    bar.close()
    train_seconds = round(time.perf_counter() - start, 1)
    best_head, _ = AlignmentHead.load(out / "head")
    test = recall_metrics(*embed_all(best_head, test_feats, te_txt), te_owner)
    final = {
        **test,
        "eval_data": str(a.eval_data),
        "epoch": best_epoch,
        "val_rsum": round(best, 2),
        "train_seconds": train_seconds,
    }
    (out / "head" / "metrics.json").write_text(json.dumps(final, indent=2))
    with (out / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"final_test": final}) + "\n")
    if fa is not None:
        f_test = _views(vision, fa["test_images"], False, patches, "fashion held-out")[0]
        f_txt = text_features(text, fa["test_titles"], desc="held-out titles")
        fm = recall_metrics(*embed_all(best_head, f_test, f_txt), np.arange(len(fa["test_titles"])))
        final["fashion_held_out"] = {"items": len(fa["test_titles"]), **fm}
        (out / "head" / "metrics.json").write_text(json.dumps(final, indent=2))
        log(
            f"fashion held-out ({len(fa['test_titles'])} items): title->image R@10 {fm['t2i_R@10']:.1f}, "
            f"image->title R@10 {fm['i2t_R@10']:.1f}"
        )
    log(f"chosen epoch {best_epoch}: test i2t R@1 {test['i2t_R@1']:.1f}  t2i R@1 {test['t2i_R@1']:.1f}")
    return out / "head"
