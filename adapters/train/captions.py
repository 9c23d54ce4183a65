"""Fitting the retrieval captioner on the dev split: how much the VLM's own likelihood reranks
the neighbours' captions (``vlm.fusion['caption']``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from vlrec.adapters.train.heads import HeadsSections

DEV_IMAGES = 500


def caption_setup(cfg: HeadsSections, vlm, train_file, eval_file, split: str = "test", limit: int = 0):
    """Datastore, vectorizer, the split's images with references, their vectors and projector inputs."""
    from vlrec.adapters.align import alignment_head
    from vlrec.adapters.captioner import fit_vectorizer, grouped_captions
    from vlrec.adapters.reader import ArrayDatastore
    from vlrec.adapters.train.vlm_data import FeatureBank
    from vlrec.models.features import image_features
    from vlrec.models.vision import load_vision_encoder

    train_imgs, train_caps = grouped_captions(train_file)
    eval_imgs, eval_caps = grouped_captions(eval_file)
    vision = load_vision_encoder(cfg.vision, "cpu")
    groups = [train_imgs, eval_imgs]
    bank = FeatureBank(vision, vlm.projector, groups)
    pooled = {
        "train": image_features(vision, train_imgs, keep_patches=False, desc="image features")["pooled"],
        "test": image_features(vision, eval_imgs, keep_patches=False, desc="image features")["pooled"],
    }
    head = alignment_head(cfg.retrieval.head)
    with torch.no_grad():
        vec = {k: head.encode_image(v.float()).numpy() for k, v in pooled.items()}
    store = ArrayDatastore(train_imgs, vec["train"], [{"captions": c} for c in train_caps])
    vectorizer = fit_vectorizer([c for caps in train_caps for c in caps])
    if split == "dev":
        idx = np.arange(len(train_imgs) - DEV_IMAGES, len(train_imgs))
        images, refs, vectors = [train_imgs[i] for i in idx], [train_caps[i] for i in idx], vec["train"][idx]
    else:
        images, refs, vectors = eval_imgs, eval_caps, vec["test"]
    n = len(images) if limit <= 0 else min(limit, len(images))
    inputs = bank.get(images[:n])
    return store, vectorizer, images[:n], refs[:n], vectors[:n], inputs


def fit_caption_weight(
    cfg, vlm, train_file, eval_file, log=print, grid=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 100.0)
) -> dict:
    """The VLM rerank weight with the best BLEU-4 on the dev split; sets ``vlm.fusion['caption']``."""
    from vlrec.adapters.captioner import RetrievalCaptioner
    from vlrec.core.metrics import caption_scores

    store, vectorizer, images, refs, vectors, inputs = caption_setup(cfg, vlm, train_file, eval_file, "dev")
    cap = RetrievalCaptioner(vlm, store, vectorizer)
    cands = cap.candidates(vectors, images)
    lm = cap.lm_scores(inputs, [c for c, _ in cands])
    scores = {w: caption_scores(refs, cap.choose(cands, lm, w)) for w in grid}
    best = max(grid, key=lambda w: (scores[w]["BLEU-4"], -w))
    for w in grid:
        log(
            f"vlrec: dev captions, VLM weight {w:g}: BLEU-4 {scores[w]['BLEU-4']:.2f}, CIDEr {scores[w]['CIDEr']:.2f}"
        )
    vlm.fusion["caption"] = {"lm_weight": best, "k": cap.k, "rerank": cap.rerank}
    return {"lm_weight": best, "dev": {str(w): scores[w] for w in grid}}
