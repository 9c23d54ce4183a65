"""Chroma vector store: collections keyed by item id, with how their vectors were made.

vlrec always passes its own embeddings (``embedding_function=None``): Chroma's
default embedder downloads a model and fails offline. Each collection records
the embedder's name and config in its metadata, and opening it with another
embedder fails with a clear message rather than returning meaningless hits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vlrec.core.config import check
from vlrec.core.runtime import data_dir

Space = Literal["cosine", "l2", "ip"]
EMBEDDER_KEY = "vlrec_embedder"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


@dataclass
class StoreConfig:
    """Vector store settings."""

    path: str | None = None
    """Folder of the embedded Chroma store; null means <user data dir>/vlrec/chroma."""
    url: str | None = None
    """http://host:port of a Chroma server; when set, ``path`` is ignored."""
    space: Space = "cosine"
    """HNSW distance: cosine, l2 (squared Euclidean) or ip (inner product)."""
    ef_search: int = 100
    ef_construction: int = 200
    max_neighbors: int = 16
    """HNSW M: links per node."""
    sync_threshold: int = 1000
    """Records Chroma keeps in its write log before it writes the HNSW segment files (Chroma's default)."""

    def __post_init__(self) -> None:
        for key in ("ef_search", "ef_construction", "max_neighbors", "sync_threshold"):
            check(getattr(self, key) >= 2, f"store.{key}", "must be >= 2")

    def resolved_path(self) -> Path:
        return Path(self.path).expanduser() if self.path else data_dir() / "chroma"


class StoreError(RuntimeError):
    """The store refused an operation; the message says why and what to do."""


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the Chroma server could not be reached."""
    try:
        import httpx

        transport: tuple[type, ...] = (httpx.TransportError,)
    except ImportError:  # pragma: no cover - chromadb's HTTP client brings httpx
        transport = ()
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (ConnectionError, TimeoutError, *transport)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


@dataclass
class Hit:
    id: str
    score: float
    """Higher is closer: 1 - distance for cosine and ip, -distance for l2."""
    distance: float
    metadata: dict[str, Any] = field(default_factory=dict)
    document: str | None = None
    """The record's document: the item's text in a catalogue's text collection, None elsewhere."""


class Store:
    """One Chroma client (embedded or HTTP) and the collections in it."""

    def __init__(self, cfg: StoreConfig):
        import chromadb
        from chromadb.config import Settings

        self.cfg = cfg
        settings = Settings(anonymized_telemetry=False)
        if cfg.url:
            from urllib.parse import urlparse

            url = urlparse(cfg.url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise StoreError(f"store.url '{cfg.url}' is not an http(s)://host:port URL")
            self.client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        else:
            path = cfg.resolved_path()
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        self.max_batch = int(self.client.get_max_batch_size())

    def collection(self, name: str, embedder: dict[str, Any]):
        """Open or create collection ``name`` for vectors made by ``embedder``.

        Raises:
            StoreError: The collection exists with vectors from another embedder.
        """
        if not _NAME.match(name):
            raise StoreError(
                f"collection name '{name}' is not allowed: use 3-512 characters from "
                "letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
            )
        stamp = json.dumps(embedder, sort_keys=True)
        collection = self.client.get_or_create_collection(
            name=name,
            embedding_function=None,
            metadata={EMBEDDER_KEY: stamp},
            configuration={
                "hnsw": {
                    "space": self.cfg.space,
                    "ef_search": self.cfg.ef_search,
                    "ef_construction": self.cfg.ef_construction,
                    "max_neighbors": self.cfg.max_neighbors,
                    "sync_threshold": self.cfg.sync_threshold,
                    "batch_size": min(100, self.cfg.sync_threshold),
                }
            },
        )
        existing = (collection.metadata or {}).get(EMBEDDER_KEY)
        if existing != stamp:
            raise StoreError(
                f"collection '{name}' holds vectors from embedder {existing}, not {stamp}; "
                "query it with the embedder that built it, or index again with `vlrec index --rebuild` "
                "(or into a new name)"
            )
        return collection

    def damage(self, name: str) -> str | None:
        """What is wrong with collection ``name``, or None when it reads back whole (or is absent).

        Reads what search depends on: the count, a few stored vectors, and one nearest-neighbour
        query with one of them. Chroma reports a damaged segment (a truncated or corrupt HNSW
        file, after a crash or a full disk) as an error on one of these.
        """
        try:
            names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
            if name not in names:
                return None
            col = self.client.get_collection(name)
            if col.count() == 0:
                return None
            got = col.get(limit=3, include=["embeddings"])
            if not got["ids"] or got["embeddings"] is None or len(got["embeddings"]) != len(got["ids"]):
                return "stored vectors cannot be read"
            hits = col.query(query_embeddings=[np.asarray(got["embeddings"][0], np.float32)], n_results=1)
            if not hits["ids"] or not hits["ids"][0]:
                return "a nearest-neighbour query finds nothing"
        except Exception as exc:  # chromadb raises InternalError and others on damaged segments
            if unreachable(exc):
                raise
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None

    def existing_ids(self, collection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), self.max_batch):
            got = collection.get(ids=list(ids[start : start + self.max_batch]), include=[])
            found.update(got["ids"])
        return found

    def records(self, collection, ids: Sequence[str] | None = None) -> dict[str, dict]:
        """``{id: metadata}`` of a collection's records: all of them, or those of ``ids`` that exist."""
        if ids is None:
            got = collection.get(include=["metadatas"])
            return {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])}
        out: dict[str, dict] = {}
        ids = list(ids)
        for start in range(0, len(ids), self.max_batch):
            got = collection.get(ids=ids[start : start + self.max_batch], include=["metadatas"])
            out.update({i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])})
        return out

    def vectors(self, collection, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """``{id: embedding}`` of those ``ids`` that exist in a collection (batched reads)."""
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for start in range(0, len(ids), self.max_batch):
            got = collection.get(ids=ids[start : start + self.max_batch], include=["embeddings"])
            out.update({i: np.asarray(v, np.float32) for i, v in zip(got["ids"], got["embeddings"])})
        return out

    def upsert(
        self,
        collection,
        ids: Sequence[str],
        embeddings: np.ndarray,
        metadatas: Sequence[dict[str, Any]] | None = None,
        documents: Sequence[str] | None = None,
    ) -> int:
        """Write vectors in batches Chroma accepts; returns how many were written."""
        if len(ids) != len(embeddings):
            raise ValueError(f"{len(ids)} ids but {len(embeddings)} embeddings")
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            collection.upsert(
                ids=list(ids[start:end]),
                embeddings=np.asarray(embeddings[start:end], dtype=np.float32),
                metadatas=list(metadatas[start:end]) if metadatas is not None else None,
                documents=list(documents[start:end]) if documents is not None else None,
            )
        return len(ids)

    def query(
        self,
        collection,
        embedding: np.ndarray,
        k: int = 10,
        where: dict[str, Any] | None = None,
    ) -> list[Hit]:
        """The ``k`` nearest items to one query vector, best first."""
        if k < 1:
            raise ValueError("k must be >= 1")
        res = collection.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=k,
            where=where or None,
            include=["distances", "metadatas", "documents"],
        )
        space = (collection.configuration_json or {}).get("hnsw", {}).get("space", self.cfg.space)
        if where and len(res["ids"][0]) < k:
            exact = self._exact_filtered(collection, embedding, k, where, space, len(res["ids"][0]))
            if exact is not None:
                res = exact
        hits = []
        for i, item_id in enumerate(res["ids"][0]):
            distance = float(res["distances"][0][i])
            score = -distance if space == "l2" else 1.0 - distance
            hits.append(
                Hit(
                    id=item_id,
                    score=score,
                    distance=distance,
                    metadata=dict(res["metadatas"][0][i] or {}),
                    document=res["documents"][0][i],
                )
            )
        return hits

    EXACT_FILTER_LIMIT = 20_000
    """Largest filtered set ranked exactly when the index under-returns (see :meth:`_exact_filtered`)."""

    def _exact_filtered(self, collection, embedding, k: int, where: dict, space: str, got: int):
        """Rank the items matching ``where`` exactly, when the HNSW query returned fewer than ``k``.

        A filtered HNSW search can miss items that match the filter (chroma-core/chroma#5367:
        ``get`` finds them, ``query`` does not; seen here with a just-added item). Fewer
        than ``k`` hits means the filtered set is small, or items were missed: count it,
        and if it holds more than the index returned (and at most ``EXACT_FILTER_LIMIT``),
        rank it by brute force with Chroma's own distances. None: nothing was missed.
        """
        ids = collection.get(where=where, include=[], limit=self.EXACT_FILTER_LIMIT + 1)["ids"]
        if len(ids) <= got or len(ids) > self.EXACT_FILTER_LIMIT:
            return None
        rows = collection.get(ids=ids, include=["embeddings", "metadatas", "documents"])
        emb = np.asarray(rows["embeddings"], dtype=np.float32)
        q = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if space == "l2":
            dist = ((emb - q) ** 2).sum(axis=1)  # Chroma's l2 is the squared distance
        elif space == "ip":
            dist = 1.0 - emb @ q
        else:
            norms = np.linalg.norm(emb, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
            dist = 1.0 - (emb @ q) / np.maximum(norms, 1e-12)
        order = np.argsort(dist, kind="stable")[:k]
        return {
            "ids": [[rows["ids"][i] for i in order]],
            "distances": [[float(dist[i]) for i in order]],
            "metadatas": [[rows["metadatas"][i] for i in order]],
            "documents": [[rows["documents"][i] for i in order]],
        }
