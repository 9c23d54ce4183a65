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
    cfg,
    vlm,
    train_file,
    eval_file,
    log=print,
    grid=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 100.0),
    align_grid=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0),
) -> dict:
    """The caption weights with the best BLEU-4 on the dev split, in order: the shared-space
    similarity's against consensus (no LM), then the VLM's on the candidates that leaves; sets
    ``vlm.fusion['caption']``."""
    from vlrec.adapters.align import alignment_head
    from vlrec.adapters.captioner import captioner_for, shared_space_texts
    from vlrec.core.metrics import caption_scores
    from vlrec.models.text import load_text_embedder

    store, vectorizer, images, refs, vectors, inputs = caption_setup(cfg, vlm, train_file, eval_file, "dev")
    head = alignment_head(cfg.retrieval.head)
    texts = shared_space_texts(load_text_embedder(cfg.text, "cpu"), head)
    cap = captioner_for(vlm, store, vectorizer, head, text_vectors=texts, k=90, rerank=5, pool=50)
    first = {w: caption_scores(refs, cap.choose(cap.candidates(vectors, images, align_weight=w), None))
             for w in align_grid}  # fmt: skip
    cap.align_weight = max(align_grid, key=lambda w: (first[w]["BLEU-4"], -w))
    for w in align_grid:
        log(f"vlrec: dev captions, similarity weight {w:g} (no LM): BLEU-4 {first[w]['BLEU-4']:.2f}, "
            f"CIDEr {first[w]['CIDEr']:.2f}")  # fmt: skip
    cands = cap.candidates(vectors, images)
    lm = cap.lm_scores(inputs, [c for c, _ in cands])
    scores = {w: caption_scores(refs, cap.choose(cands, lm, w)) for w in grid}
    best = max(grid, key=lambda w: (scores[w]["BLEU-4"], -w))
    for w in grid:
        log(
            f"vlrec: dev captions, VLM weight {w:g}: BLEU-4 {scores[w]['BLEU-4']:.2f}, CIDEr {scores[w]['CIDEr']:.2f}"
        )
    vlm.fusion["caption"] = {"lm_weight": best, "k": cap.k, "rerank": cap.rerank, "pool": cap.pool,
                             "align_weight": cap.align_weight}  # fmt: skip
    return {
        "lm_weight": best, "align_weight": cap.align_weight,
        "dev": {str(w): scores[w] for w in grid}, "dev_similarity": {str(w): first[w] for w in align_grid},
    }  # fmt: skip
