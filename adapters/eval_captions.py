"""``vlrec eval caption``: captions of held-out photos, beside the kNN-consensus baseline.

One run, the same images for every row (BLEU-1..4 and CIDEr-D, the COCO caption code):

- ``kNN consensus``: Devlin et al. (2015): among the captions of the 90 training images nearest
  in the shared space, the one most similar to the others (:mod:`adapters.captioner`);
- ``oracle``: the best of the candidates the VLM chooses from (what a perfect chooser would get);
- ``VLM rerank``: the VLM scores those candidates; the caption the agent and ``vlrec caption`` give;
- optionally ``VLM generated`` (``--generate``): the LM writing a caption freely.

Splits: ``test`` is the caption file's own images (Flickr8k test); ``dev`` is the last 500
images of the training file (never trained on by the alignment head, which kept them to choose
its epoch), with each image's own captions left out of the datastore. The VLM rerank weight is
fitted on ``dev`` (:func:`fit_caption_weight`).
"""

from __future__ import annotations

import time

import numpy as np
import torch

DEV_IMAGES = 500


def caption_setup(cfg, vlm, train_file, eval_file, split: str = "test", limit: int = 0):
    """Datastore, vectorizer, the split's images with references, their vectors and projector inputs."""
    from adapters.captioner import fit_vectorizer, grouped_captions
    from adapters.reader import ArrayDatastore
    from adapters.train_vlm import FeatureBank
    from adapters.vision import load_vision_encoder
    from retrieval.embedder import alignment_head
    from retrieval.features import image_features

    train_imgs, train_caps = grouped_captions(train_file)
    eval_imgs, eval_caps = grouped_captions(eval_file)
    vision = load_vision_encoder(cfg.vision, "cpu")
    groups = [train_imgs, eval_imgs]
    bank = FeatureBank(vision, vlm.projector, groups)
    pooled = {
        "train": image_features(vision, train_imgs, keep_patches=False, desc="image features")["pooled"],
        "test": image_features(vision, eval_imgs, keep_patches=False, desc="image features")["pooled"],
    }
    head = alignment_head(cfg)
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


def eval_captions(
    cfg, vlm, train_file, eval_file, split: str = "test", limit: int = 0, generate: bool = False, log=print
) -> tuple[dict, list[dict]]:
    from adapters.captioner import RetrievalCaptioner
    from adapters.eval_vlm import caption_scores

    store, vectorizer, images, refs, vectors, inputs = caption_setup(
        cfg, vlm, train_file, eval_file, split, limit
    )
    setting = vlm.fusion.get("caption", {})
    cap = RetrievalCaptioner(
        vlm, store, vectorizer, k=setting.get("k", 90), rerank=setting.get("rerank", 5),
        lm_weight=setting.get("lm_weight", 1.0),
    )  # fmt: skip
    exclude = images if split == "dev" else None
    started = time.perf_counter()
    cands = cap.candidates(vectors, exclude)
    knn_s = time.perf_counter() - started
    started = time.perf_counter()
    lm = cap.lm_scores(inputs, [c for c, _ in cands])
    lm_s = time.perf_counter() - started
    rows = {
        "kNN consensus (Devlin et al. 2015)": cap.choose(cands, None),
        f"oracle: best of the top-{cap.rerank} candidates": _oracle(cands, refs),
        "VLM rerank": cap.choose(cands, lm),
    }
    if generate:
        from adapters.eval_vlm import _batched_ask
        from adapters.vlm import CAPTION_QUESTION

        rows["VLM generated (free text)"] = _batched_ask(
            vlm, [(i, CAPTION_QUESTION) for i in images], 8, "captions"
        )
    table = {name: caption_scores(refs, hyps) for name, hyps in rows.items()}
    detail = [
        {"image": img, "consensus": rows["kNN consensus (Devlin et al. 2015)"][i], "vlm": rows["VLM rerank"][i],
         "references": refs[i]}
        for i, img in enumerate(images)
    ]  # fmt: skip
    result = {
        "images": len(images),
        "split": split,
        "lm_weight": cap.lm_weight,
        "scores": table,
        "ms_per_image": {"candidates": 1000 * knn_s / len(images), "vlm_scoring": 1000 * lm_s / len(images)},
    }
    return result, detail


def _oracle(cands, refs) -> list[str]:
    from pycocoevalcap.bleu.bleu import Bleu

    from adapters.eval_vlm import ptb_tokenize

    out = []
    for (caps, _), rs in zip(cands, refs):
        gts = {j: [ptb_tokenize(r) for r in rs] for j in range(len(caps))}
        res = {j: [ptb_tokenize(c) or "empty"] for j, c in enumerate(caps)}
        _, per = Bleu(4).compute_score(gts, res, verbose=0)
        out.append(caps[int(np.argmax(per[3]))])
    return out


def fit_caption_weight(
    cfg, vlm, train_file, eval_file, log=print, grid=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 100.0)
) -> dict:
    """The VLM rerank weight with the best BLEU-4 on the dev split; sets ``vlm.fusion['caption']``."""
    from adapters.captioner import RetrievalCaptioner
    from adapters.eval_vlm import caption_scores

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


def format_captions(result: dict) -> str:
    lines = [
        f"captions, {result['images']} {result['split']} images (VLM weight {result['lm_weight']:g})",
        "",
        "| row | BLEU-1 | BLEU-4 | CIDEr-D |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, s in result["scores"].items():
        lines.append(f"| {name} | {s['BLEU-1']:.1f} | {s['BLEU-4']:.1f} | {s['CIDEr']:.1f} |")
    ms = result["ms_per_image"]
    lines.append(
        f"\ncandidates {ms['candidates']:.1f} ms per image, VLM scoring {ms['vlm_scoring']:.0f} ms per image"
    )
    return "\n".join(lines)
