"""One catalogue in the store: index it, open it, search it, read its records.

Every command that serves or evaluates a catalogue goes through :class:`Catalogue` (the demo,
the server, ``vlrec index | search | chat | eval``, the history recommender, the agent), so
"index the file, then open it" is written once. Indexing is incremental and resumable
(:func:`vlrec.retrieval.indexer.index_catalog`); records are read through the
:class:`~vlrec.retrieval.store.Store`, never from Chroma directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from vlrec.data.catalog import CatalogItem, CatalogProblem, read_catalog
from vlrec.retrieval.embedder import EmbedderSections
from vlrec.retrieval.indexer import IndexSummary, delete_items, index_catalog, open_collections
from vlrec.retrieval.search import Searcher
from vlrec.retrieval.store import Store, StoreConfig


class CatalogueSections(EmbedderSections, Protocol):
    """The config sections a catalogue is opened with (the root config has them all)."""

    store: StoreConfig


class Catalogue:
    """The collections ``<name>.{image,text,fused}`` of one catalogue, with the embedder that fills them."""

    def __init__(self, store: Store, name: str, embedder):
        self.store, self.name, self.embedder = store, name, embedder
        self._searcher: Searcher | None = None

    @classmethod
    def open(cls, cfg: CatalogueSections, name: str, embedder=None) -> Catalogue:
        """The catalogue ``name`` in the configured store (loads the embedder unless given one)."""
        if embedder is None:
            from vlrec.retrieval.embedder import load_embedder

            embedder = load_embedder(cfg)
        return cls(Store(cfg.store), name, embedder)

    def index(self, entries: Iterable[CatalogItem | CatalogProblem], **kwargs) -> IndexSummary:
        """Bring the collections in line with ``entries`` (see :func:`index_catalog` for options)."""
        summary = index_catalog(entries, self.store, self.name, self.embedder, **kwargs)
        self._searcher = None  # collections may have been recreated
        return summary

    def index_file(self, path: str | Path, images_anywhere: bool = False, **kwargs) -> IndexSummary:
        """Index a catalogue file (JSONL or CSV); bad lines are reported and skipped."""
        return self.index(read_catalog(path, images_anywhere), **kwargs)

    def delete(self, ids: Iterable[str], **kwargs) -> tuple[list[str], list[str]]:
        """Delete items from all three collections: (deleted ids, unknown ids)."""
        return delete_items(self.store, self.name, self.embedder, ids, **kwargs)

    def damage(self) -> dict[str, str]:
        """``{collection: what is wrong}`` for each damaged collection of this catalogue (empty: whole)."""
        from vlrec.retrieval.indexer import collection_names

        return {n: d for n in collection_names(self.name).values() if (d := self.store.damage(n))}

    def collections(self) -> dict:
        return open_collections(self.store, self.name, self.embedder)

    @property
    def searcher(self) -> Searcher:
        """Queries over the indexed catalogue (raises if it is empty or not indexed)."""
        if self._searcher is None:
            self._searcher = Searcher(self.store, self.embedder, self.name)
        return self._searcher

    def search(self, **kwargs):
        return self.searcher.search(**kwargs)

    def records(self, ids: Sequence[str] | None = None) -> dict[str, dict]:
        """``{id: metadata}`` of every item, or of those ``ids`` that exist."""
        return self.searcher.records(ids)

    def vectors(self, ids: Sequence[str], kind: str = "fused") -> dict[str, np.ndarray]:
        """``{id: vector}`` from collection ``kind`` (image, text or fused) for those ``ids`` that exist."""
        return self.store.vectors(self.collections()[kind], ids)
