"""What the VLM sees in a product photo: each catalogue field's value, with a calibrated confidence.

The reader scores the catalogue's own values for each field instead of letting the LM write
free text, and combines three sources, SmallCap-style (copy from neighbours, correct with
what the model sees):

- ``head``: the VLM's attribute heads over its projected image tokens (:mod:`vlrec.adapters.heads`);
- ``tail``: the VLM's fine-tuned copy of the vision encoder's last stage, with a classifier per
  field (:mod:`vlrec.adapters.tail`), when the model has one;
- ``probe``: a softmax regression over the photo's foreground colour in CIELAB
  (:mod:`vlrec.adapters.colour_probe`), for the fields it reads (the colour), when the model has one;
- ``knn``: a vote of the image's ``k`` nearest catalogue items in a datastore (a Chroma
  collection of image vectors, or an in-memory copy of one for training and evaluation);
  the datastore is configuration, so a user swaps in their own catalogue without retraining;
- ``lm``: the LM's log-probability of each candidate value as the answer to the field's
  question, with the neighbours' titles in the prompt (:meth:`AttributeReader.lm_scores`),
  for the few values the other two sources rank highest.

Per field, ``p(value) = softmax(w_head * log p_head + w_tail * log p_tail + w_probe * log p_probe
+ w_knn * log(p_knn + eps) + w_lm * lm)``;
the weights are fitted on the dev split by log-loss (which also calibrates the confidence), and
a gate is set there too: the lowest confidence at which at most ``max_wrong`` of the stated
answers are wrong, with 90 % confidence (:func:`fit_gate`). Answers below the gate are not
stated (the agent then lets the image vector alone drive retrieval).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vlrec.data.vlm_tasks import ATTRIBUTES

FIELDS = ATTRIBUTES
"""The catalogue fields the shipped heads read (the fashion Q&A attributes)."""
KNN_EPS = 0.02
"""Added to the neighbour vote before its log: a value no neighbour has is unlikely, not impossible."""


@dataclass
class Guess:
    """One field's reading of one image."""

    value: str
    confidence: float
    stated: bool
    """Whether the confidence reaches the field's gate."""
    top: list[tuple[str, float]] = field(default_factory=list)


# --- datastores --------------------------------------------------------------------------------


class ArrayDatastore:
    """Exact cosine neighbours over vectors held in memory (a copy of a catalogue collection)."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]):
        if not (len(ids) == len(vectors) == len(metadatas)):
            raise ValueError(f"{len(ids)} ids, {len(vectors)} vectors, {len(metadatas)} metadata rows")
        self.ids = [str(i) for i in ids]
        v = np.asarray(vectors, dtype=np.float32)
        self.vectors = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        self.metadatas = list(metadatas)

    def neighbours(
        self, vectors: np.ndarray, k: int, exclude: Sequence[str | None] | None = None
    ) -> list[list[dict]]:
        """Metadata of the ``k`` nearest items to each vector, skipping ``exclude[i]``'s id."""
        q = np.asarray(vectors, dtype=np.float32)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        sims = q @ self.vectors.T  # [B, N]
        out = []
        for i, row in enumerate(sims):
            order = np.argpartition(-row, min(k + 1, len(row) - 1))[: k + 1]
            order = order[np.argsort(-row[order])]
            skip = exclude[i] if exclude else None
            out.append([self.metadatas[j] | {"id": self.ids[j]} for j in order if self.ids[j] != skip][:k])
        return out


def knn_vote(neighbours: list[list[dict]], name: str, vocab: list[str]) -> np.ndarray:
    """Share of each image's neighbours holding each value of ``vocab`` ``[B, V]``."""
    index = {v: i for i, v in enumerate(vocab)}
    out = np.zeros((len(neighbours), len(vocab)), np.float32)
    for b, hood in enumerate(neighbours):
        for meta in hood:
            j = index.get(meta.get(name))
            if j is not None:
                out[b, j] += 1.0
        out[b] /= max(len(hood), 1)
    return out


# --- fusion --------------------------------------------------------------------------------------


def fuse(parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Log-linear pool of the sources' distributions ``[B, V]`` -> probabilities ``[B, V]``."""
    z = 0.0
    if weights.get("head"):
        z = z + weights["head"] * np.log(np.clip(parts["head"], 1e-6, 1.0))
    if weights.get("tail") and "tail" in parts:
        z = z + weights["tail"] * np.log(np.clip(parts["tail"], 1e-6, 1.0))
    if weights.get("probe") and "probe" in parts:
        z = z + weights["probe"] * np.log(np.clip(parts["probe"], 1e-6, 1.0))
    if weights.get("knn") and "knn" in parts:
        z = z + weights["knn"] * np.log(parts["knn"] + KNN_EPS)
    if weights.get("lm") and "lm" in parts:
        z = z + weights["lm"] * parts["lm"]
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 0:  # no source weighted: uniform
        z = np.zeros_like(parts["head"], dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


GRID = {
    "head": (0.0, 0.5, 0.75, 1.0, 1.5, 2.0),
    "tail": (0.0, 0.5, 0.75, 1.0, 1.5, 2.0),
    "knn": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
    "probe": (0.0, 0.1, 0.15, 0.2, 0.3, 0.5),
    "lm": (0.0,),
}


def fit_fusion(
    parts: dict[str, np.ndarray], truth: np.ndarray, grid: dict | None = None, slack: float = 0.005
) -> dict[str, float]:
    """Source weights for :func:`fuse` fitted on ``truth`` (indices into the vocabulary).

    A grid over the weights' ratios picks the most accurate combination (among those within
    ``slack`` of the best accuracy, the one with the least log-loss); then one common scale (a
    temperature), searched finely for the least log-loss, calibrates the confidence.
    """
    grid = {**GRID, **(grid or {})}
    names = [n for n in ("head", "tail", "probe", "knn", "lm") if n in parts]
    rows = np.arange(len(truth))

    def scores(w: dict[str, float]) -> tuple[float, float]:
        p = fuse(parts, w)
        return float((p.argmax(1) == truth).mean()), -float(
            np.mean(np.log(np.clip(p[rows, truth], 1e-9, 1.0)))
        )

    tried = [
        (w, *scores(w))
        for w in (dict(zip(names, combo)) for combo in itertools.product(*[grid[n] for n in names]))
        if any(w.values())
    ]
    if not tried:
        return {"head": 1.0}
    top = max(acc for _, acc, _ in tried)
    best = min((t for t in tried if t[1] >= top - slack), key=lambda t: t[2])[0]
    scaled = [{k: round(float(v * s), 4) for k, v in best.items()} for s in np.geomspace(0.25, 4.0, 49)]
    return min([best, *scaled], key=lambda w: scores(w)[1])


def fit_gate(
    confidence: np.ndarray,
    correct: np.ndarray,
    max_wrong: float = 0.05,
    min_stated: int = 20,
    level: float = 0.9,
) -> float:
    """The lowest confidence above which the answers' wrong rate stays at most ``max_wrong``
    (1.0 = never state this field).

    ``level``: how sure the rate must be to hold on new photos: the one-sided Clopper-Pearson
    upper bound at this level of the wrong rate among the answers above the gate, not the rate
    seen, must stay within ``max_wrong`` (0 = the rate seen; a gate at the rate seen exceeds it on
    about every other new sample of the same size)."""
    order = np.argsort(-confidence)
    wrong = np.cumsum(~correct[order])
    count = np.arange(1, len(order) + 1)
    if level > 0:
        from scipy.stats import beta

        bound = beta.ppf(level, wrong + 1, count - wrong)
    else:
        bound = wrong / count
    ok = (bound <= max_wrong) & (count >= min_stated)
    if not ok.any():
        return 1.0
    last = int(np.nonzero(ok)[0].max())
    return float(confidence[order][last])


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of top-1 confidences (equal-width bins), in [0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (confidence > lo) & (confidence <= hi)
        if m.any():
            total += m.mean() * abs(float(correct[m].mean()) - float(confidence[m].mean()))
    return total


# --- the reader ----------------------------------------------------------------------------------


class AttributeReader:
    """Reads catalogue fields off photos with a VLM that has attribute heads.

    Args:
        vlm: A :class:`vlrec.adapters.vlm.VisionLanguageModel` with ``heads`` (and ``fusion``).
        datastore: Where neighbours come from (:class:`ChromaDatastore`, :class:`ArrayDatastore`);
            None = heads (and LM) only.
        image_vectors: Maps the vision encoder's output (``VisionFeatures``) to the datastore's
            vectors (the retrieval embedder's :meth:`image_vectors`); needed to query a datastore
            from images (:meth:`read`). Callers that pass vectors to :meth:`parts` need none.
        k: Neighbours per image.
    """

    def __init__(self, vlm, datastore=None, image_vectors=None, k: int = 10):
        if vlm.heads is None:
            raise ValueError(
                "this VLM has no attribute heads (heads.safetensors); train them with a "
                "`train.stage: heads` config (configs/train/stage3_heads.yaml)"
            )
        self.vlm, self.datastore, self.image_vectors, self.k = vlm, datastore, image_vectors, k
        self.fields = [f for f in FIELDS if f in vlm.heads.fields] + [
            f for f in vlm.heads.fields if f not in FIELDS
        ]

    def vocab(self, name: str) -> list[str]:
        return self.vlm.heads.fields[name]

    @torch.inference_mode()
    def head_probs(self, pooled_inputs: torch.Tensor) -> dict[str, np.ndarray]:
        """``[B, T, C]`` pooled projector inputs -> ``{field: [B, V]}`` head probabilities."""
        tokens = self.vlm.projector.project(pooled_inputs.to(self.vlm.device))  # [B, T, D]
        return {f: lg.float().softmax(-1).cpu().numpy() for f, lg in self.vlm.heads(tokens).items()}

    @torch.inference_mode()
    def tail_probs(self, mid: torch.Tensor, hist: torch.Tensor, chunk: int = 128) -> dict[str, np.ndarray]:
        """The fine-tuned tail's ``{field: [B, V]}`` probabilities from the encoder's ``mid``
        activations ``[B, C', h', w']`` and colour histograms ``[B, H]``."""
        tail = self.vlm.tail.eval()
        outs = [tail(mid[i : i + chunk], hist[i : i + chunk]) for i in range(0, len(mid), chunk)]
        return {f: torch.cat([o[f] for o in outs]).float().softmax(-1).cpu().numpy() for f in tail.fields}

    @torch.inference_mode()
    def probe_probs(self, desc: torch.Tensor) -> dict[str, np.ndarray]:
        """The colour probe's ``{field: [B, V]}`` probabilities from Lab descriptors ``[B, D]``."""
        return {f: lg.float().softmax(-1).cpu().numpy() for f, lg in self.vlm.probe.eval()(desc).items()}

    def parts(
        self,
        pooled_inputs: torch.Tensor,
        vectors: np.ndarray | None = None,
        exclude: Sequence[str | None] | None = None,
        neighbours: list[list[dict]] | None = None,
        tail: tuple[torch.Tensor, torch.Tensor] | None = None,
        probe: torch.Tensor | None = None,
    ) -> tuple[dict[str, dict[str, np.ndarray]], list[list[dict]]]:
        """Each source's distribution per field, and the neighbours used. ``tail``: the
        encoder's ``mid`` activations and the colour histograms, for a VLM with a tail; ``probe``:
        the photos' Lab descriptors (:func:`vlrec.models.colour.colour_lab`), for one with a probe."""
        heads = self.head_probs(pooled_inputs)
        tails = self.tail_probs(*tail) if tail is not None and self.vlm.tail is not None else {}
        probes = self.probe_probs(probe) if probe is not None and self.vlm.probe is not None else {}
        if neighbours is None and self.datastore is not None and vectors is not None:
            neighbours = self.datastore.neighbours(vectors, self.k, exclude)
        out = {}
        for f in self.fields:
            parts = {"head": heads[f]}
            if f in tails:
                parts["tail"] = tails[f]
            if f in probes:
                parts["probe"] = probes[f]
            if neighbours is not None:
                parts["knn"] = knn_vote(neighbours, f, self.vocab(f))
            out[f] = parts
        return out, neighbours or []

    def guesses(self, parts: dict[str, dict[str, np.ndarray]]) -> list[dict[str, Guess]]:
        """Fused, gated readings from :meth:`parts`."""
        n = len(next(iter(parts.values()))["head"])
        out: list[dict[str, Guess]] = [{} for _ in range(n)]
        for f, p in parts.items():
            setting = self.vlm.fusion.get(f, {})
            probs = fuse(p, setting.get("weights", {"head": 1.0, "knn": 1.0}))
            gate = float(setting.get("gate", 1.0))
            vocab = self.vocab(f)
            for b in range(n):
                order = np.argsort(-probs[b])[:3]
                top = [(vocab[j], float(probs[b, j])) for j in order]
                out[b][f] = Guess(top[0][0], top[0][1], top[0][1] >= gate, top)
        return out

    def encode(
        self, images: Sequence[Any]
    ) -> tuple[torch.Tensor, np.ndarray | None, tuple | None, torch.Tensor | None]:
        """One vision pass: pooled projector inputs ``[B, T, C]``, datastore vectors ``[B, D]``,
        the tail's inputs (``mid`` activations, colour histograms; None without a tail) and the
        probe's (Lab descriptors; None without a probe)."""
        from vlrec.adapters.projector import with_colour

        with_tail = self.vlm.tail is not None
        feats = self.vlm.vision.encode(list(images), mid=with_tail)
        tail = None
        if with_tail:
            from vlrec.models.colour import colour_histogram

            tail = (feats.mid, colour_histogram(list(images)))
        patches = with_colour(self.vlm.projector, feats.patches, images)
        pooled = self.vlm.projector.pool(patches.float())
        vectors = None
        if self.image_vectors is not None:
            with torch.inference_mode():
                vectors = np.asarray(self.image_vectors(feats))
        probe = None
        if self.vlm.probe is not None:
            from vlrec.models.colour import colour_lab

            probe = colour_lab(list(images))
        return pooled, vectors, tail, probe

    def read(
        self, images: Sequence[Any], exclude: Sequence[str | None] | None = None
    ) -> list[dict[str, Guess]]:
        """Each image's fields: value, confidence, whether it is stated."""
        return self.read_with_vectors(images, exclude)[0]

    def read_with_vectors(
        self, images: Sequence[Any], exclude: Sequence[str | None] | None = None
    ) -> tuple[list[dict[str, Guess]], np.ndarray | None]:
        """:meth:`read`, and each image's datastore vector ``[B, D]`` from the same vision pass
        (the agent's search reuses it instead of encoding the photo again)."""
        if not images:
            return [], None
        pooled, vectors, tail, probe = self.encode(images)
        parts, _ = self.parts(pooled, vectors, exclude, tail=tail, probe=probe)
        return self.guesses(parts), vectors


def describe_guesses(guesses: dict[str, Guess], stated_only: bool = True, likely: float = 0.5) -> str:
    """A short description from the stated fields, e.g. ``Blue Tshirts for Men, Casual wear``;
    fields read below their gate but at least ``likely`` follow as a hedge (``Tshirts for Men,
    Casual wear; probably Red``): the shopper sees what the photo probably shows without the
    agent filtering on it."""
    g = {f: x.value for f, x in guesses.items() if x.stated or not stated_only}
    words = " ".join(v for v in (g.get("baseColour"), g.get("articleType")) if v)
    if not words and g:
        words = "An item"
    if g.get("gender"):
        words += f" for {g['gender']}"
    if g.get("usage"):
        words += f", {g['usage']} wear"
    unsure = [x.value for f, x in guesses.items() if f not in g and x.value and x.confidence >= likely]
    if unsure:
        words = f"{words}; probably {', '.join(unsure)}" if words else f"Probably {', '.join(unsure)}"
    return words.strip()
