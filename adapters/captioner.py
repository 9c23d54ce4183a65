"""Retrieval-augmented captions: copy from neighbours, let the VLM choose.

For a photo, the captions of its ``k`` nearest training images (a datastore of image vectors
in the shared space, :class:`vlrec.adapters.reader.ArrayDatastore`) are the candidates. Each gets a
*consensus* score, as in Devlin et al. (2015, "Exploring nearest neighbor approaches for image
captioning"): its mean tf-idf n-gram (1-4) cosine similarity to the other candidates (the
CIDEr idea). The plain baseline returns the top-consensus caption. The ``pool`` best by
consensus are then scored again by how close each caption lies to the image in the shared
space (the alignment head's text vector of the caption against the image's vector), and the
``rerank`` best by the weighted sum (``align_weight``) go on. The VLM scores those by their mean
token log-probability as its caption of the image (:meth:`VisionLanguageModel.answer_logprobs`),
and the caption with the best weighted sum of the two (per-image standardised scores) wins. Both
weights are fitted on a dev split by BLEU-4. Scoring five candidates costs a few forward passes;
the LM never generates free text.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import torch

CAPTION_K = 90


def fit_vectorizer(captions: Sequence[str]):
    """A tf-idf n-gram (1-4) vectorizer over the datastore's captions (its document frequencies)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from vlrec.core.metrics import ptb_tokenize

    return TfidfVectorizer(ngram_range=(1, 4), preprocessor=ptb_tokenize, sublinear_tf=True, min_df=1).fit(
        captions
    )


def consensus(captions: list[str], vectorizer) -> np.ndarray:
    """Each caption's mean cosine similarity to the others ``[len(captions)]``."""
    if len(captions) < 2:
        return np.ones(len(captions), np.float32)
    x = vectorizer.transform(captions)  # rows are L2-normalised
    sims = (x @ x.T).toarray()
    np.fill_diagonal(sims, 0.0)
    return (sims.sum(1) / (len(captions) - 1)).astype(np.float32)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-6)


def _unit(x) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def shared_space_texts(text_embedder, head, memo: int = 100_000):
    """``captions -> [N, D]``: each caption's sentence vector through the alignment head's text
    side (the space the image vectors live in); a caption seen before is not embedded again
    (neighbouring images share most of their candidates)."""
    cache: dict[str, np.ndarray] = {}

    def encode(captions: list[str]) -> np.ndarray:
        new = [c for c in dict.fromkeys(captions) if c not in cache]
        if new:
            if len(cache) + len(new) > memo:
                cache.clear()
            with torch.no_grad():
                vecs = head.encode_text(
                    torch.as_tensor(np.asarray(text_embedder.embed(new)), dtype=torch.float32)
                )
            cache.update(zip(new, vecs.float().numpy()))
        return np.stack([cache[c] for c in captions])

    return encode


class RetrievalCaptioner:
    """Captions from a datastore of captioned images, optionally reranked by the VLM.

    Args:
        vlm: A :class:`vlrec.adapters.vlm.VisionLanguageModel` (None: consensus only).
        datastore: :class:`vlrec.adapters.reader.ArrayDatastore` whose metadata rows hold ``captions``.
        vectorizer: :func:`fit_vectorizer` over the datastore's captions.
        k: Neighbour images whose captions are candidates.
        rerank: How many top-consensus candidates the VLM scores.
        lm_weight: Weight of the VLM's standardised score against the first stage's (0: no VLM).
        pool: How many top-consensus candidates the shared-space similarity scores again.
        align_weight: Weight of that similarity against consensus (0: consensus alone).
        text_vectors: ``captions -> [N, D]`` vectors in the image vectors' space (e.g.
            :func:`shared_space_texts`); needed when ``align_weight`` is not 0.
    """

    def __init__(
        self, vlm, datastore, vectorizer, k: int = CAPTION_K, rerank: int = 5, lm_weight: float = 1.0,
        pool: int = 50, align_weight: float = 0.0, text_vectors=None,
    ):  # fmt: skip
        if align_weight and text_vectors is None:
            raise ValueError("align_weight needs text_vectors (the captions' vectors in the shared space)")
        self.vlm, self.datastore, self.vectorizer = vlm, datastore, vectorizer
        self.k, self.rerank, self.lm_weight = k, rerank, lm_weight
        self.pool, self.align_weight, self.text_vectors = pool, align_weight, text_vectors

    def candidates(
        self,
        vectors: np.ndarray,
        exclude: Sequence[str | None] | None = None,
        align_weight: float | None = None,
    ):
        """Per image: the ``rerank`` best candidates and their first-stage scores (consensus,
        plus the weighted shared-space similarity), best first."""
        w = self.align_weight if align_weight is None else align_weight
        out = []
        images = _unit(vectors) if w else None
        for b, hood in enumerate(self.datastore.neighbours(vectors, self.k, exclude)):
            caps = list(dict.fromkeys(c for meta in hood for c in meta["captions"]))
            score = consensus(caps, self.vectorizer)
            if w and len(caps) > 1:
                pool = np.argsort(-score)[: self.pool]
                sims = _unit(self.text_vectors([caps[i] for i in pool])) @ images[b]
                stage = _z(score[pool]) + w * _z(sims)
                best = np.argsort(-stage)[: self.rerank]
                out.append(([caps[pool[i]] for i in best], stage[best]))
                continue
            order = np.argsort(-score)[: self.rerank]
            out.append(([caps[i] for i in order], score[order]))
        return out

    def lm_scores(self, pooled: torch.Tensor, cands: list[list[str]]) -> list[np.ndarray]:
        """Mean token log-probability of each candidate as the VLM's caption of its image."""
        from tqdm import tqdm

        from vlrec.data.vlm_tasks import CAPTION_QUESTION, _clean_caption

        prompt = self.vlm.render(CAPTION_QUESTION)
        out = []
        for b, caps in enumerate(
            tqdm(cands, desc="VLM caption scores", unit="img", file=sys.stderr, disable=len(cands) < 8)
        ):
            texts = [_clean_caption(c) for c in caps]
            total = self.vlm.answer_logprobs(
                [prompt] * len(texts), texts, pooled[b : b + 1].expand(len(texts), -1, -1)
            )
            n = torch.tensor([len(self.vlm.answer_ids(t)) for t in texts], dtype=torch.float32)
            out.append((total / n).numpy())
        return out

    def choose(self, cands, lm: list[np.ndarray] | None, lm_weight: float | None = None) -> list[str]:
        w = self.lm_weight if lm_weight is None else lm_weight
        chosen = []
        for b, (caps, cons) in enumerate(cands):
            score = _z(cons) + (w * _z(lm[b]) if lm is not None and w else 0.0)
            chosen.append(caps[int(np.argmax(score))])
        return chosen


def grouped_captions(path) -> tuple[list[str], list[list[str]]]:
    """A Flickr8k-style file's image paths and each image's captions."""
    from vlrec.data.captions import read_caption_file

    images, captions, owner = read_caption_file(path)
    grouped: list[list[str]] = [[] for _ in images]
    for c, i in zip(captions, owner.tolist()):
        grouped[i].append(c)
    return [str(p) for p in images], grouped


def captioner_from_file(
    vision_cfg, head_folder: str | None, vlm, caption_file, text_cfg=None
) -> RetrievalCaptioner:
    """A captioner whose datastore is a Flickr8k-style file of captioned images (their image
    features are cached on disk once), weighted as ``vlm.fusion['caption']`` says.

    ``vision_cfg``: the :class:`~vlrec.models.vision.VisionConfig` (used when ``vlm`` carries no
    encoder); ``head_folder``: the alignment head folder (``retrieval.head``; ``None``: the shipped one);
    ``text_cfg``: the :class:`~vlrec.models.text.TextConfig` of the captions' sentence vectors (``None``:
    the default), loaded only when the model weighs the shared-space similarity."""
    from vlrec.adapters.align import alignment_head
    from vlrec.adapters.reader import ArrayDatastore
    from vlrec.models.features import image_features
    from vlrec.models.vision import load_vision_encoder

    paths, grouped = grouped_captions(caption_file)
    vision = vlm.vision or load_vision_encoder(vision_cfg, "cpu")
    pooled = image_features(vision, paths, keep_patches=False, desc="caption datastore")["pooled"]
    head = alignment_head(head_folder)
    with torch.no_grad():
        vectors = head.encode_image(pooled.float()).numpy()
    cap = captioner_for(vlm, ArrayDatastore(paths, vectors, [{"captions": g} for g in grouped]),
                        fit_vectorizer([c for g in grouped for c in g]), head, text_cfg)  # fmt: skip
    cap.head = head
    return cap


def captioner_for(
    vlm, datastore, vectorizer, head, text_cfg=None, text_vectors=None, **override
) -> RetrievalCaptioner:
    """A :class:`RetrievalCaptioner` weighted as ``vlm.fusion['caption']`` says (``override``
    replaces any of its settings), with the captions' shared-space vectors when it weighs them
    (``text_vectors``, else :func:`shared_space_texts` of the ``text_cfg`` MiniLM and ``head``)."""
    known = {"k": CAPTION_K, "rerank": 5, "lm_weight": 1.0, "pool": 50, "align_weight": 0.0}
    setting = {**known, **vlm.fusion.get("caption", {}), **override}
    setting = {key: setting[key] for key in known}
    if setting["align_weight"] and text_vectors is None:
        from vlrec.models.text import TextConfig, load_text_embedder

        text_vectors = shared_space_texts(load_text_embedder(text_cfg or TextConfig(), "cpu"), head)
    return RetrievalCaptioner(vlm, datastore, vectorizer, text_vectors=text_vectors, **setting)


def caption_images(cap: RetrievalCaptioner, images) -> list[str]:
    """Captions of photos (paths, bytes or PIL images): one vision pass each, then neighbours,
    consensus and the VLM's scores of the best candidates."""
    from vlrec.adapters.projector import with_colour

    feats = cap.vlm.vision.encode(list(images))
    pooled = cap.vlm.projector.pool(with_colour(cap.vlm.projector, feats.patches, images).float())
    with torch.no_grad():
        vectors = cap.head.encode_image(feats.pooled.float()).numpy()
    cands = cap.candidates(vectors)
    return cap.choose(cands, cap.lm_scores(pooled, [c for c, _ in cands]))
