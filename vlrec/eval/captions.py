"""``vlrec eval caption``: captions of held-out photos, beside the kNN-consensus baseline.

One run, the same images for every row (BLEU-1..4 and CIDEr-D, the COCO caption code):

- ``kNN consensus``: Devlin et al. (2015): among the captions of the 90 training images nearest
  in the shared space, the one most similar to the others (:mod:`vlrec.adapters.captioner`);
- ``+ shared-space similarity``: the best of the top consensus candidates once each is also scored
  by how close it lies to the image in the shared space (no LM): the baseline the VLM must beat;
- ``oracle``: the best of the candidates the VLM chooses from (what a perfect chooser would get);
- ``VLM rerank``: the VLM scores those candidates; the caption the agent and ``vlrec caption`` give;
- optionally ``VLM generated`` (``--generate``): the LM writing a caption freely.

Splits: ``test`` is the caption file's own images (Flickr8k test); ``dev`` is the last 500
images of the training file (never trained on by the alignment head, which kept them to choose
its epoch), with each image's own captions left out of the datastore. The similarity and VLM
weights are fitted on ``dev`` (:func:`fit_caption_weight`).
"""

from __future__ import annotations

import time

import numpy as np


def eval_captions(
    cfg, vlm, train_file, eval_file, split: str = "test", limit: int = 0, generate: bool = False, log=print
) -> tuple[dict, list[dict]]:
    from vlrec.adapters.align import alignment_head
    from vlrec.adapters.captioner import captioner_for
    from vlrec.adapters.train.captions import caption_setup
    from vlrec.core.metrics import caption_scores

    store, vectorizer, images, refs, vectors, inputs = caption_setup(
        cfg, vlm, train_file, eval_file, split, limit
    )
    cap = captioner_for(vlm, store, vectorizer, alignment_head(cfg.retrieval.head), cfg.text)
    exclude = images if split == "dev" else None
    started = time.perf_counter()
    consensus_only = cap.candidates(vectors, exclude, align_weight=0.0)
    knn_s = time.perf_counter() - started
    started = time.perf_counter()
    cands = cap.candidates(vectors, exclude) if cap.align_weight else consensus_only
    align_s = time.perf_counter() - started
    started = time.perf_counter()
    lm = cap.lm_scores(inputs, [c for c, _ in cands])
    lm_s = time.perf_counter() - started
    rows = {
        "kNN consensus (Devlin et al. 2015)": cap.choose(consensus_only, None),
        **(
            {
                f"kNN consensus + shared-space similarity (weight {cap.align_weight:g}, no LM)": cap.choose(
                    cands, None
                )
            }
            if cap.align_weight
            else {}
        ),
        f"oracle: best of the top-{cap.rerank} candidates": _oracle(cands, refs),
        "VLM rerank": cap.choose(cands, lm),
    }
    if generate:
        from vlrec.data.vlm_tasks import CAPTION_QUESTION
        from vlrec.eval.common import _batched_ask

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
        "align_weight": cap.align_weight,
        "scores": table,
        "ms_per_image": {
            "candidates": 1000 * knn_s / len(images),
            "similarity": 1000 * align_s / len(images),
            "vlm_scoring": 1000 * lm_s / len(images),
        },  # fmt: skip
    }
    return result, detail


def _oracle(cands, refs) -> list[str]:
    from vlrec.core.extras import need

    need("pycocoevalcap", "eval", "vlrec eval caption")
    from pycocoevalcap.bleu.bleu import Bleu

    from vlrec.core.metrics import ptb_tokenize

    out = []
    for (caps, _), rs in zip(cands, refs):
        gts = {j: [ptb_tokenize(r) for r in rs] for j in range(len(caps))}
        res = {j: [ptb_tokenize(c) or "empty"] for j, c in enumerate(caps)}
        _, per = Bleu(4).compute_score(gts, res, verbose=0)
        out.append(caps[int(np.argmax(per[3]))])
    return out


def format_captions(result: dict) -> str:
    lines = [
        f"captions, {result['images']} {result['split']} images (similarity weight "
        f"{result.get('align_weight', 0):g}, VLM weight {result['lm_weight']:g})",
        "",
        "| row | BLEU-1 | BLEU-4 | CIDEr-D |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, s in result["scores"].items():
        lines.append(f"| {name} | {s['BLEU-1']:.1f} | {s['BLEU-4']:.1f} | {s['CIDEr']:.1f} |")
    ms = result["ms_per_image"]
    lines.append(
        f"\ncandidates {ms['candidates']:.1f} ms per image, shared-space similarity {ms.get('similarity', 0):.1f} ms, "
        f"VLM scoring {ms['vlm_scoring']:.0f} ms per image"
    )
    return "\n".join(lines)
