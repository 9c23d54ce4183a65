"""Full-ranking top-K metrics: HR, NDCG, Recall and MRR at K.

Every item a user has not interacted with in the history (training, plus
validation when testing) is a candidate; history items are masked out. A user
is evaluated when they have at least one target item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from vlrec.data.interactions import Interactions


def user_item_matrix(*parts: Interactions) -> sp.csr_matrix:
    """Binary users × items matrix of the given interaction sets."""
    ref = parts[0]
    u = np.concatenate([p.user for p in parts])
    i = np.concatenate([p.item for p in parts])
    m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(ref.n_users, ref.n_items))
    m.data[:] = 1.0
    return m


def rank_metrics(
    score: Callable[[np.ndarray], np.ndarray],
    history: sp.csr_matrix,
    target: Interactions,
    k: int = 10,
    item_filter: np.ndarray | None = None,
    batch: int = 256,
) -> dict[str, float]:
    """HR@k, NDCG@k, Recall@k and MRR@k over users with target items.

    Args:
        score: Maps a batch of user indices ``[B]`` to scores ``[B, n_items]``.
        history: Users × items matrix of items to mask (already seen).
        target: The held-out interactions to find.
        k: Cut-off.
        item_filter: ``[n_items]`` bool; only target items where it is true count
            (users with none are skipped) — the cold-start slice.
    """
    if item_filter is not None:
        target = target.subset(np.asarray(item_filter)[target.item])
    gt = user_item_matrix(target)
    users = np.flatnonzero(np.diff(gt.indptr) > 0)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hr = ndcg = recall = mrr = 0.0
    for start in range(0, len(users), batch):
        ub = users[start : start + batch]
        s = np.asarray(score(ub), dtype=np.float64)
        seen = history[ub]
        s[seen.nonzero()] = -np.inf
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.take_along_axis(s, top, axis=1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, axis=1)  # [B, k] best first
        truth = gt[ub]
        for row, u_top in enumerate(top):
            relevant = truth.indices[truth.indptr[row] : truth.indptr[row + 1]]
            hits = np.isin(u_top, relevant)
            if hits.any():
                hr += 1
                mrr += 1.0 / (np.argmax(hits) + 1)
            recall += hits.sum() / len(relevant)
            idcg = discounts[: min(k, len(relevant))].sum()
            ndcg += (hits * discounts).sum() / idcg
    n = max(len(users), 1)
    return {
        f"HR@{k}": hr / n,
        f"NDCG@{k}": ndcg / n,
        f"Recall@{k}": recall / n,
        f"MRR@{k}": mrr / n,
        "users": int(len(users)),
    }
