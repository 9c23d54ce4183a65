"""Queries over an indexed catalogue: text, image, image+text, and item → similar items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from vlrec.core.images import ImageInput
from vlrec.retrieval.indexer import open_collections
from vlrec.retrieval.store import Hit, Store, StoreError

Target = Literal["auto", "fused", "image", "text"]


def parse_where(clauses: Sequence[str]) -> dict[str, Any] | None:
    """``["baseColour=Black", "year>=2012"]`` → a Chroma ``where`` filter (all must hold)."""
    ops = {">=": "$gte", "<=": "$lte", "!=": "$ne", ">": "$gt", "<": "$lt", "=": "$eq"}
    parts = []
    for clause in clauses:
        m = re.match(r"^\s*([\w.\-]+)\s*(>=|<=|!=|>|<|=)\s*(.*?)\s*$", clause)
        if not m or not m.group(3):
            raise ValueError(f"--where '{clause}' is not of the form key=value (or !=, >, >=, <, <=)")
        key, op, raw = m.groups()
        value: Any = raw
        if op not in ("=", "!="):
            try:
                value = float(raw) if "." in raw else int(raw)
            except ValueError:
                raise ValueError(f"--where '{clause}': {op} needs a number") from None
        parts.append({key: {ops[op]: value}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class Searcher:
    """Answers queries against ``<catalog>.{fused,image,text}`` with one embedder."""

    def __init__(self, store: Store, embedder, catalog: str):
        self.store, self.embedder, self.catalog = store, embedder, catalog
        self.cols = open_collections(store, catalog, embedder)
        if self.cols["fused"].count() == 0:
            raise StoreError(f"catalogue '{catalog}' is empty or not indexed; run `vlrec index` first")

    def records(self, ids: Sequence[str] | None = None) -> dict[str, dict]:
        """``{id: metadata}`` of every item, or of those ``ids`` that exist (read through the store)."""
        return self.store.records(self.cols["fused"], ids)

    def query_vector(
        self,
        text: str | None = None,
        image: ImageInput | None = None,
        image_weight=None,
        target="fused",
        image_vector=None,
    ):
        """``image_vector``: the image's shared-space vector when the caller already has it."""
        if text is None and image is None:
            raise ValueError("a query needs text, an image, or both")
        txt = self.embedder.texts([text]) if text is not None else None
        img = None
        if image is not None:
            img = (
                np.asarray(image_vector)[None] if image_vector is not None else self.embedder.images([image])
            )
        if target == "text":
            return (txt if txt is not None else img)[0]
        if target == "image":
            return (img if img is not None else txt)[0]
        return self.embedder.fused(img, txt, image_weight=image_weight)[0]

    def search(
        self,
        text: str | None = None,
        image: ImageInput | None = None,
        item_id: str | None = None,
        k: int = 10,
        where: dict[str, Any] | None = None,
        image_weight: float | None = None,
        target: Target = "auto",
        exclude: Sequence[str] = (),
        image_vector=None,
    ) -> list[Hit]:
        """The ``k`` best items for a text, image, image+text or item query.

        Args:
            text: Query text.
            image: Query image (path, bytes or PIL image).
            item_id: Find items similar to this catalogue item (its fused vector).
            k: Number of hits.
            where: Chroma metadata filter, e.g. ``{"baseColour": "Black"}``.
            image_weight: Image share when fusing an image+text query (default: config).
            target: Which item vectors to search: ``auto`` (text-only queries the items' text
                vectors, image-only their image vectors, image+text and item queries the fused
                vectors), or ``fused``, ``image``, ``text``.
            exclude: Item ids never to return (already shown, rejected, the query item).
            image_vector: ``image``'s vector in the shared space, when already computed (the
                agent's reader computes it in the same vision pass that reads the photo).
        """
        exclude = set(exclude)
        if target == "auto":
            if item_id is None and image is None:
                target = "text"
            elif item_id is None and text is None:
                target = "image"
            else:
                target = "fused"
        col = self.cols[target]
        if item_id is not None:
            got = self.store.vectors(col, [item_id])
            if item_id not in got:
                raise KeyError(f"item '{item_id}' is not in catalogue '{self.catalog}'")
            vector = got[item_id]
            exclude.add(item_id)
        else:
            vector = self.query_vector(text, image, image_weight, target, image_vector)
        hits = self.store.query(col, vector, k=k + len(exclude), where=where)
        return [h for h in hits if h.id not in exclude][:k]
