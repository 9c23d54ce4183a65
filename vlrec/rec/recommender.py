"""The history recommender: a blend of components fitted on interactions, its tuning and its files.

:class:`HistoryRecommender` fits every component (:mod:`vlrec.rec.models`) on training
interactions, tunes the blend weights on validation, and saves / loads itself;
:mod:`vlrec.rec.experiment` runs split → fit → tune → test, :mod:`vlrec.rec.profiles`
applies a trained model to known users.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from vlrec.core.config import check, to_dict
from vlrec.data.interactions import Interactions
from vlrec.rec.metrics import rank_metrics, user_item_matrix
from vlrec.rec.models import BPRMF, EASE, Content, Popularity, Transition, zscore

COMPONENTS = ("pop", "cooc", "mf", "content", "transition")


@dataclass
class RecConfig:
    """History-based recommendation (``vlrec train rec`` / ``eval rec`` / ``recommend --user``)."""

    data: str = "../shared/data/movielens-100k"
    """RecBole-format folder: NAME.inter, optional NAME.item and posters/<item_id>.jpg."""
    split: Literal["loo", "random"] = "loo"
    seed: int = 0
    components: list[str] = field(default_factory=lambda: list(COMPONENTS))
    ease_lambda: float = 250.0
    mf_dim: int = 64
    mf_epochs: int = 30
    mf_lr: float = 0.01
    half_life: float = 20.0
    """Recency weighting of the content profile: an interaction n steps back weighs 0.5**(n/half_life)."""
    grid: list[float] = field(default_factory=lambda: [0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
    """Blend weights tried per component (coordinate ascent on validation NDCG@k)."""
    cold_max: int = 5
    """Cold-start slice: test items with at most this many training interactions. The same
    threshold marks the items the cold boost lifts."""
    cold_grid: list[float] = field(default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    """Cold boost values tried: items with at most ``cold_max`` interactions in the history the
    model sees get ``boost × std`` of the user's blended scores added (0 turns it off)."""
    cold_tradeoff: float = 0.1
    """The boost is tuned on validation to maximise NDCG@k + cold_tradeoff × cold-slice HR@k
    (0 = overall accuracy only; larger values trade more of it for new-item exposure)."""
    k: int = 10
    out: str = "runs/rec/ml-100k"

    def __post_init__(self) -> None:
        unknown = [c for c in self.components if c not in COMPONENTS]
        check(not unknown, "rec.components", f"unknown {unknown}; allowed: {', '.join(COMPONENTS)}")
        check(bool(self.components), "rec.components", "needs at least one component")
        check(1 <= self.k <= 100, "rec.k", "must be in [1, 100]")


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Context:
    """A user's history as the scorers need it: binary matrix, recency weights, last items."""

    def __init__(self, parts: list[Interactions], half_life: float):
        ref = parts[0]
        self.matrix = user_item_matrix(*parts)
        u = np.concatenate([p.user for p in parts])
        i = np.concatenate([p.item for p in parts])
        t = np.concatenate([p.time for p in parts])
        order = np.lexsort((t, u))
        u, i = u[order], i[order]
        starts = np.r_[0, np.flatnonzero(u[1:] != u[:-1]) + 1]
        ends = np.r_[starts[1:], len(u)]
        age = np.empty(len(u), np.float32)
        self.recent: list[list[int]] = [[] for _ in range(ref.n_users)]
        for s, e in zip(starts, ends):
            age[s:e] = np.arange(e - s)[::-1]
            self.recent[u[s]] = i[s:e].tolist()
        w = 0.5 ** (age / half_life)
        self.recency = sp.csr_matrix((w, (u, i)), shape=(ref.n_users, ref.n_items))
        self.counts = np.bincount(i, minlength=ref.n_items)

    def cold(self, cold_max: int) -> np.ndarray:
        """``[n_items]`` bool: items with at most ``cold_max`` interactions in this history."""
        return self.counts <= cold_max


class HistoryRecommender:
    def __init__(self, cfg: RecConfig, train: Interactions, item_vectors: np.ndarray | None):
        self.cfg = cfg
        self.models = {}
        for name in cfg.components:
            start = time.perf_counter()
            if name == "pop":
                self.models[name] = Popularity(train)
            elif name == "cooc":
                self.models[name] = EASE(train, cfg.ease_lambda)
            elif name == "mf":
                self.models[name] = BPRMF(train, cfg.mf_dim, cfg.mf_epochs, cfg.mf_lr, seed=cfg.seed)
            elif name == "content":
                if item_vectors is None:
                    continue
                self.models[name] = Content(item_vectors)
            elif name == "transition":
                self.models[name] = Transition(train)
            progress(f"rec: fitted {name} in {time.perf_counter() - start:.1f} s")
        self.weights = {name: 1.0 for name in self.models}
        self.cold_boost = 0.0

    def component_scores(self, users: np.ndarray, ctx: Context) -> dict[str, np.ndarray]:
        out = {}
        for name, model in self.models.items():
            if name == "content":
                s = model(users, ctx.matrix, ctx.recency)
            elif name == "transition":
                s = model(users, ctx.matrix, ctx.recent)
            else:
                s = model(users, ctx.matrix)
            out[name] = zscore(s)
        return out

    def score(self, users: np.ndarray, ctx: Context, weights: dict[str, float] | None = None) -> np.ndarray:
        weights = self.weights if weights is None else weights
        parts = self.component_scores(users, ctx)
        s = sum(weights[n] * parts[n] for n in parts if weights.get(n, 0.0))
        return self.boost_cold(s, ctx)

    def boost_cold(self, s: np.ndarray, ctx: Context, boost: float | None = None) -> np.ndarray:
        """Lift items with at most ``cold_max`` interactions in ``ctx`` by ``boost`` × the
        per-user standard deviation of the scores (new-item exposure; 0 = unchanged)."""
        boost = self.cold_boost if boost is None else boost
        if not boost:
            return s
        return s + boost * s.std(axis=1, keepdims=True) * ctx.cold(self.cfg.cold_max)[None, :]

    def tune(self, ctx: Context, valid: Interactions) -> dict[str, float]:
        """Coordinate ascent over ``cfg.grid`` for each weight, on validation NDCG@k."""
        key = f"NDCG@{self.cfg.k}"
        gt_users = np.unique(valid.user)
        cache = {}
        for start in range(0, len(gt_users), 512):
            ub = gt_users[start : start + 512]
            for name, s in self.component_scores(ub, ctx).items():
                cache.setdefault(name, []).append(s)
        comp = {n: np.concatenate(v) for n, v in cache.items()}
        row = {u: r for r, u in enumerate(gt_users)}

        def evaluate(weights):
            def score(users):
                rows = [row[u] for u in users]
                return sum(weights[n] * comp[n][rows] for n in comp if weights[n])

            if not any(weights.values()):
                return -1.0
            return rank_metrics(score, ctx.matrix, valid, self.cfg.k)[key]

        weights = {n: 1.0 for n in comp}
        best = evaluate(weights)
        for _ in range(2):
            for name in comp:
                for w in self.cfg.grid:
                    trial = {**weights, name: w}
                    value = evaluate(trial)
                    if value > best + 1e-6:
                        best, weights = value, trial
        self.weights = weights
        progress(f"rec: blend weights {weights} (validation {key} {best:.4f})")
        self.cold_boost = 0.0
        blended = sum(weights[n] * comp[n] for n in comp if weights[n])
        cold = ctx.cold(self.cfg.cold_max)
        trials = []
        for b in self.cfg.cold_grid:
            boosted = self.boost_cold(blended, ctx, b)

            def score(users, boosted=boosted):
                return boosted[[row[u] for u in users]]

            allm = rank_metrics(score, ctx.matrix, valid, self.cfg.k)[key]
            coldm = rank_metrics(score, ctx.matrix, valid, self.cfg.k, item_filter=cold)[f"HR@{self.cfg.k}"]
            trials.append((allm + self.cfg.cold_tradeoff * coldm, b, allm, coldm))
        _obj, self.cold_boost, allm, coldm = max(trials, key=lambda t: (t[0], -t[1]))
        progress(
            f"rec: cold boost {self.cold_boost:g} (validation {key} {allm:.4f}, cold-slice "
            f"HR@{self.cfg.k} {coldm:.4f}; tradeoff {self.cfg.cold_tradeoff:g})"
        )
        return weights

    def save(self, folder: Path, data: Interactions) -> None:
        """Write ``model.json`` (weights, ids) and ``model.safetensors`` (every scorer's arrays)."""
        from safetensors.numpy import save_file

        arrays = {
            f"{n}.{k}": np.ascontiguousarray(v) for n, m in self.models.items() for k, v in m.arrays().items()
        }
        save_file(arrays, str(folder / "model.safetensors"))
        meta = {
            "config": to_dict(self.cfg),
            "weights": self.weights,
            "cold_boost": self.cold_boost,
            "components": list(self.models),
            "users": data.users,
            "items": data.items,
        }
        (folder / "model.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> tuple[HistoryRecommender, dict]:
        from safetensors.numpy import load_file

        from vlrec.core.config import from_dict
        from vlrec.rec.models import SCORERS

        if not (folder / "model.json").is_file():
            raise FileNotFoundError(
                f"no trained recommender in '{folder}'; run `vlrec train rec CONFIG` first"
            )
        meta = json.loads((folder / "model.json").read_text())
        arrays = load_file(str(folder / "model.safetensors"))
        obj = cls.__new__(cls)
        obj.cfg = from_dict(RecConfig, meta["config"])
        obj.models = {
            n: SCORERS[n].from_arrays(
                {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(n + ".")}
            )
            for n in meta["components"]
        }
        obj.weights = meta["weights"]
        obj.cold_boost = float(meta.get("cold_boost", 0.0))
        return obj, meta
