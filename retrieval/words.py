"""Text-to-text retrieval: a request against each item's own words, dense and lexical, fused by rank.

The aligned image-text space is built for photos; a request in words is matched best against
words. Each item's *document* is its title and catalogue fields ("Turtle Check Men Navy Blue
Shirt. Shirts, Navy Blue, Men, Casual, Topwear, Apparel"), searched two ways:

- dense: the text embedder's own sentence vectors (all-MiniLM-L6-v2, not the alignment head's
  projection), kept in the Chroma collection ``<catalog>.words``;
- lexical: BM25 over the same documents (``bm25s``, in memory, rebuilt in well under a second).

:func:`rrf` fuses ranked lists by reciprocal rank (Cormack et al. 2009), which needs no score
calibration between paths. The words collection is derived from the catalogue's fused records
and kept in step by :meth:`WordsIndex.sync`, which embeds only items whose document is new or
changed (so an interrupted sync resumes where it stopped).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from vlrec.retrieval.store import Hit, Store

DOC_FIELDS = ("articleType", "baseColour", "gender", "usage", "subCategory", "masterCategory", "genres")
"""Catalogue fields appended to an item's title in its document (those it has)."""


def item_document(meta: dict[str, Any]) -> str:
    """An item's words: its title, then its catalogue field values."""
    values = [str(meta[f]) for f in DOC_FIELDS if meta.get(f) not in (None, "", "NA")]
    title = str(meta.get("title", "")).strip()
    return f"{title}. {', '.join(values)}" if values else title


_TOKEN = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """A light plural stemmer: shoes -> shoe, watches -> watch, dresses -> dress, jeans -> jean."""
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    low = text.lower().replace("t-shirt", "tshirt").replace("t shirt", "tshirt")
    return [_stem(w) for w in _TOKEN.findall(low)]


def rrf(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = 60
) -> dict[str, float]:
    """Reciprocal-rank fusion: ``sum_i w_i / (k + rank_i(d))`` over the lists that hold ``d``."""
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    out: dict[str, float] = {}
    for w, ranking in zip(weights, rankings):
        for rank, item in enumerate(ranking, 1):
            out[item] = out.get(item, 0.0) + w / (k + rank)
    return out


def passes(meta: dict, where: dict | None) -> bool:
    """Whether metadata satisfies a Chroma ``where`` filter ($eq, $ne, $in, $nin, $lt, $and)."""
    if not where:
        return True
    if "$and" in where:
        return all(passes(meta, part) for part in where["$and"])
    for key, cond in where.items():
        value = meta.get(key)
        cond = cond if isinstance(cond, dict) else {"$eq": cond}
        if "$eq" in cond and value != cond["$eq"]:
            return False
        if "$ne" in cond and value == cond["$ne"]:
            return False
        if "$in" in cond and value not in cond["$in"]:
            return False
        if "$nin" in cond and value in cond["$nin"]:
            return False
        if "$lt" in cond and not (isinstance(value, (int, float)) and value < cond["$lt"]):
            return False
    return True


class WordsIndex:
    """Dense (Chroma ``<catalog>.words``) and BM25 search over the items' documents."""

    def __init__(self, store: Store, catalog: str, text_embedder, progress: bool = True):
        self.store, self.catalog, self.text = store, catalog, text_embedder
        self.progress = progress
        self.col = store.collection(f"{catalog}.words", {"text": text_embedder.name, "kind": "words"})
        self.ids: list[str] = []
        self.metas: list[dict] = []
        self._bm25 = None

    def sync(self, items: dict[str, dict], ids: Sequence[str] | None = None, batch: int = 256) -> int:
        """Bring the words collection in line with ``items`` (id -> metadata, which it stores for
        ``where`` filters); ``ids``: only these items changed (deleted ones are absent from
        ``items``). Returns how many items were embedded (new or changed)."""
        docs = {i: item_document(m) for i, m in items.items()}
        stored: dict[str, tuple] = {}
        if ids is not None:
            for b in range(0, len(ids), self.store.max_batch):
                got = self.col.get(
                    ids=list(ids[b : b + self.store.max_batch]), include=["documents", "metadatas"]
                )
                stored.update((i, (d, m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]))
            gone = [i for i in stored if i not in docs]
            check = [i for i in ids if i in docs]
        else:
            offset = 0
            while True:
                got = self.col.get(
                    include=["documents", "metadatas"], limit=self.store.max_batch, offset=offset
                )
                stored.update((i, (d, m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]))
                if len(got["ids"]) < self.store.max_batch:
                    break
                offset += self.store.max_batch
            gone = [i for i in stored if i not in docs]
            check = list(docs)
        for b in range(0, len(gone), self.store.max_batch):
            self.col.delete(ids=gone[b : b + self.store.max_batch])
        todo = [i for i in check if stored.get(i) != (docs[i], items[i])]
        if todo:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=f"words {self.catalog}", unit="item", file=sys.stderr,
                       disable=not self.progress or len(todo) < 2 * batch)  # fmt: skip
            for b in range(0, len(todo), batch):
                chunk = todo[b : b + batch]
                texts = [docs[i] for i in chunk]
                self.store.upsert(self.col, chunk, self.text.embed(texts), [items[i] for i in chunk], texts)
                bar.update(len(chunk))
            bar.close()
        self.ids = list(docs)
        self.metas = [items[i] for i in self.ids]
        self._docs = [docs[i] for i in self.ids]
        self._bm25 = None
        return len(todo)

    def _lexical(self):
        if self._bm25 is None:
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index([tokens(d) for d in self._docs], show_progress=False)
        return self._bm25

    def lexical(self, text: str, k: int, where: dict | None = None, exclude: Sequence[str] = ()) -> list[str]:
        """Item ids by BM25 score of ``text`` (only items with a shared word), best first."""
        if not self.ids:
            return []
        q = [t for t in tokens(text) if t]
        if not q:
            return []
        scores = self._lexical().get_scores(q)
        order = np.argsort(-scores, kind="stable")
        skip = set(exclude)
        out = []
        for j in order:
            if scores[j] <= 0 or len(out) >= k:
                break
            i = self.ids[j]
            if i not in skip and passes(self.metas[j], where):
                out.append(i)
        return out

    def dense(self, text: str, k: int, where: dict | None = None, exclude: Sequence[str] = ()) -> list[Hit]:
        """Items whose document's sentence vector is nearest to ``text``'s."""
        vector = self.text.embed([text])[0]
        hits = self.store.query(self.col, vector, k=k + len(exclude), where=where)
        skip = set(exclude)
        return [h for h in hits if h.id not in skip][:k]
