"""Known users' tastes for the agent and ``vlrec recommend``: a trained history recommender
applied to each user's whole history."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from vlrec.data.interactions import load_interactions
from vlrec.rec.recommender import Context, HistoryRecommender, RecConfig


class ProfileSections(Protocol):
    rec: RecConfig


class Profiles:
    """Known users' tastes for the agent: the trained recommender in ``rec.out`` applied to each
    user's whole history (every interaction in the data folder), as per-item scores."""

    def __init__(self, root_cfg: ProfileSections):
        cfg: RecConfig = root_cfg.rec
        self.model, meta = HistoryRecommender.load(Path(cfg.out))
        self.data = load_interactions(meta["config"]["data"])
        if self.data.items != meta["items"] or self.data.users != meta["users"]:
            raise ValueError(
                f"the data in '{meta['config']['data']}' changed since training; run `vlrec train rec` again"
            )
        self.ctx = Context([self.data], cfg.half_life)
        self.user_index = {u: i for i, u in enumerate(self.data.users)}
        self.item_index = {t: i for i, t in enumerate(self.data.items)}

    def knows(self, user: str) -> bool:
        return str(user) in self.user_index

    def _uid(self, user: str) -> int:
        try:
            return self.user_index[str(user)]
        except KeyError:
            raise KeyError(f"user '{user}' has no interactions in the history data") from None

    def seen(self, user: str) -> list[str]:
        """Item ids the user has interacted with."""
        row = self.ctx.matrix[self._uid(user)]
        return [self.data.items[i] for i in row.indices]

    def raw_scores(self, user: str) -> np.ndarray:
        """The recommender's ``[n_items]`` scores for ``user``; ``-inf`` on their history."""
        uid = self._uid(user)
        s = self.model.score(np.array([uid]), self.ctx)[0].astype(np.float64)
        s[self.ctx.matrix[uid].indices] = -np.inf
        return s

    def scores(self, user: str) -> dict[str, float]:
        """Every unseen item's score for ``user``, standardised over the unseen items
        (mean 0, standard deviation 1), by item id."""
        s = self.raw_scores(user)
        unseen = np.isfinite(s)
        z = (s - s[unseen].mean()) / max(float(s[unseen].std()), 1e-9)
        return {self.data.items[i]: float(z[i]) for i in np.flatnonzero(unseen)}

    def because(self, user: str, item: str) -> str | None:
        """The title of the item in the user's history that most supports ``item`` (co-occurrence
        model), or ``None``."""
        ease = self.model.models.get("cooc")
        if ease is None or item not in self.item_index:
            return None
        hist = self.ctx.matrix[self._uid(user)].indices
        if not len(hist):
            return None
        return self.title(hist[int(np.argmax(ease.b[hist, self.item_index[item]]))])

    def title(self, index: int) -> str:
        fields = self.data.item_fields.get(self.data.items[index], {})
        return fields.get("movie_title") or fields.get("title") or self.data.items[index]

    def history_titles(self, user: str) -> set[str]:
        """Titles of the user's history items (what :meth:`because` may name)."""
        return {self.title(i) for i in self.ctx.matrix[self._uid(user)].indices}


def recommend(root_cfg: ProfileSections, user: str, k: int = 10) -> list[dict]:
    """Top-k unseen items for ``user`` from the trained recommender in ``rec.out``,
    with the user's whole history (every interaction in the data folder) as context."""
    profiles = Profiles(root_cfg)
    scores = profiles.raw_scores(user)
    out = []
    for i in np.argsort(-scores)[:k]:
        tok = profiles.data.items[i]
        fields = profiles.data.item_fields.get(tok, {})
        out.append(
            {
                "id": tok,
                "score": round(float(scores[i]), 4),
                "title": fields.get("movie_title", tok),
                "fields": fields,
            }
        )
    return out
