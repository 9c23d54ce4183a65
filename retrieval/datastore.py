"""Neighbours for the attribute reader, read from a served catalogue's Chroma image collection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class ChromaDatastore:
    """Neighbours from a catalogue's Chroma image collection (what the agent serves)."""

    def __init__(self, store, collection):
        self.store, self.collection = store, collection

    def neighbours(
        self, vectors: np.ndarray, k: int, exclude: Sequence[str | None] | None = None
    ) -> list[list[dict]]:
        out = []
        for i, vector in enumerate(np.asarray(vectors, dtype=np.float32)):
            skip = exclude[i] if exclude else None
            hits = self.store.query(self.collection, vector, k=k + 1)
            out.append([h.metadata | {"id": h.id} for h in hits if h.id != skip][:k])
        return out
