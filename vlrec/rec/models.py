"""Candidate scorers from a user's history, and their blend.

- ``pop``: training popularity.
- ``cooc``: item–item co-occurrence, as EASE (a ridge-regularised item–item model
  over the co-occurrence Gram matrix, Steck 2019): scores = history @ B.
- ``mf``: matrix factorisation trained in torch with the BPR loss.
- ``content``: the user's recency-weighted mean of the items' fused image+text
  vectors (from Chroma), cosine against every item: carries the cold start.
- ``transition``: first-order item→next-item counts from time-ordered histories,
  applied to the user's last few items with decay (the sequential signal).

Each scorer returns ``[B, n_items]``; the blend z-normalises each per user and
sums them with weights tuned on validation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from vlrec.data.interactions import Interactions
from vlrec.rec.metrics import user_item_matrix


class _ArrayState:
    """A scorer whose fitted state is a few named numpy arrays (saved as safetensors)."""

    _state: tuple[str, ...] = ()

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self._state}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]):
        obj = cls.__new__(cls)
        for name in cls._state:
            setattr(obj, name, a[name])
        return obj


class Popularity(_ArrayState):
    _state = ("counts",)

    def __init__(self, train: Interactions):
        self.counts = np.bincount(train.item, minlength=train.n_items).astype(np.float32)

    def __call__(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts))).copy()


class EASE(_ArrayState):
    _state = ("b",)

    def __init__(self, train: Interactions, lam: float = 250.0):
        x = user_item_matrix(train)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += lam
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.b = b.astype(np.float32)

    def __call__(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray(history[users] @ self.b)


class BPRMF(_ArrayState):
    _state = ("u", "v")

    def __init__(
        self,
        train: Interactions,
        dim: int = 64,
        epochs: int = 40,
        lr: float = 0.01,
        reg: float = 1e-4,
        seed: int = 0,
    ):
        gen = torch.Generator().manual_seed(seed)
        self.user = torch.nn.Embedding(train.n_users, dim)
        self.item = torch.nn.Embedding(train.n_items, dim)
        torch.nn.init.normal_(self.user.weight, std=0.1, generator=gen)
        torch.nn.init.normal_(self.item.weight, std=0.1, generator=gen)
        opt = torch.optim.Adam([self.user.weight, self.item.weight], lr=lr)
        u_all = torch.from_numpy(train.user)
        i_all = torch.from_numpy(train.item)
        seen = user_item_matrix(train)
        rng = np.random.default_rng(seed)
        self.losses = []
        for _ in range(epochs):
            perm = torch.from_numpy(rng.permutation(len(u_all)))
            neg = rng.integers(0, train.n_items, size=len(u_all))
            # resample negatives the user has seen (a few passes suffice)
            users_in_order = train.user[perm.numpy()]
            for _ in range(3):
                bad = np.asarray(seen[users_in_order, neg]).ravel() > 0
                if not bad.any():
                    break
                neg[bad] = rng.integers(0, train.n_items, size=bad.sum())
            neg = torch.from_numpy(neg)
            total = 0.0
            for s in range(0, len(perm), 4096):
                idx = perm[s : s + 4096]
                u, i, j = self.user(u_all[idx]), self.item(i_all[idx]), self.item(neg[s : s + 4096])
                diff = (u * i).sum(-1) - (u * j).sum(-1)
                loss = -torch.nn.functional.logsigmoid(diff).mean() + reg * (
                    u.pow(2).sum() + i.pow(2).sum() + j.pow(2).sum()
                ) / len(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self.losses.append(total / len(perm))
        self.u = self.user.weight.detach().numpy()
        self.v = self.item.weight.detach().numpy()

    def __call__(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        return self.u[users] @ self.v.T


class Content(_ArrayState):
    _state = ("v",)

    def __init__(self, item_vectors: np.ndarray):
        v = item_vectors / np.maximum(np.linalg.norm(item_vectors, axis=1, keepdims=True), 1e-12)
        self.v = v.astype(np.float32)

    def __call__(
        self, users: np.ndarray, history: sp.csr_matrix, recency: sp.csr_matrix | None = None
    ) -> np.ndarray:
        w = recency[users] if recency is not None else history[users]
        profile = np.asarray(w @ self.v)  # [B, D]
        profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
        return profile @ self.v.T


class Transition:
    def __init__(self, train: Interactions, last: int = 3, decay: float = 0.5):
        order = np.lexsort((train.time, train.user))
        u, i = train.user[order], train.item[order]
        same = u[1:] == u[:-1]
        t = sp.csr_matrix(
            (np.ones(same.sum(), np.float32), (i[:-1][same], i[1:][same])),
            shape=(train.n_items, train.n_items),
        )
        rows = np.asarray(t.sum(axis=1)).ravel()
        self.t = (sp.diags(1.0 / np.maximum(rows, 1.0)) @ t).tocsr()  # row-normalised next-item distribution
        self.last, self.decay = last, decay

    def arrays(self) -> dict[str, np.ndarray]:
        coo = self.t.tocoo()
        shape = np.array(self.t.shape, np.int64)
        return {
            "row": coo.row.astype(np.int64),
            "col": coo.col.astype(np.int64),
            "data": coo.data.astype(np.float32),
            "shape": shape,
            "last": np.array([self.last], np.int64),
            "decay": np.array([self.decay], np.float32),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Transition:
        obj = cls.__new__(cls)
        obj.t = sp.csr_matrix((a["data"], (a["row"], a["col"])), shape=tuple(a["shape"]))
        obj.last, obj.decay = int(a["last"][0]), float(a["decay"][0])
        return obj

    def __call__(
        self, users: np.ndarray, history: sp.csr_matrix, recent: list[list[int]] | None = None
    ) -> np.ndarray:
        # W[b, i] = decay**age of item i among user b's last items; scores = W @ T.
        rows, cols, vals = [], [], []
        for row, u in enumerate(users):
            for age, item in enumerate(reversed(recent[u][-self.last :])):
                rows.append(row)
                cols.append(item)
                vals.append(self.decay**age)
        w = sp.csr_matrix((vals, (rows, cols)), shape=(len(users), self.t.shape[0]), dtype=np.float32)
        return (w @ self.t).toarray().astype(np.float32)


def zscore(s: np.ndarray) -> np.ndarray:
    mu = s.mean(axis=1, keepdims=True)
    sd = s.std(axis=1, keepdims=True)
    return (s - mu) / np.maximum(sd, 1e-9)


SCORERS = {"pop": Popularity, "cooc": EASE, "mf": BPRMF, "content": Content, "transition": Transition}
