"""Catalogue → vectors → Chroma: image and text collections keyed by item id.

Items already present in a collection are skipped, so a rerun after an
interruption only embeds what is missing. An item whose image cannot be used is
reported with its id and the reason, and still gets its text vector.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from adapters.images import ImageError
from retrieval.catalog import CatalogItem, CatalogProblem
from retrieval.store import Store


@dataclass
class IndexSummary:
    added: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"added {self.added}, unchanged {self.unchanged}, failed {len(self.failed)}"


def collection_names(catalog: str) -> dict[str, str]:
    return {"image": f"{catalog}.image", "text": f"{catalog}.text"}


def item_metadata(item: CatalogItem) -> dict:
    return {"title": item.title, **item.metadata}


def _index_modality(
    store: Store,
    collection,
    items: Sequence[CatalogItem],
    embed: Callable[[list[CatalogItem]], tuple[np.ndarray, list[CatalogItem]]],
    batch_size: int,
    label: str,
    summary: IndexSummary,
) -> None:
    have = store.existing_ids(collection, [it.id for it in items])
    todo = [it for it in items if it.id not in have]
    summary.unchanged += len(items) - len(todo)
    bar = tqdm(total=len(todo), desc=f"index {label}", unit="item", file=sys.stderr, disable=not todo)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        vectors, kept = embed(batch)
        if kept:
            store.upsert(
                collection,
                [it.id for it in kept],
                vectors,
                metadatas=[item_metadata(it) for it in kept],
                documents=[it.text() for it in kept],
            )
            summary.added += len(kept)
        bar.update(len(batch))
    bar.close()


def index_catalog(
    entries: Sequence[CatalogItem | CatalogProblem],
    store: Store,
    catalog: str,
    vision=None,
    text=None,
    report: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> dict[str, IndexSummary]:
    """Index catalogue entries into ``<catalog>.image`` and ``<catalog>.text``.

    Args:
        entries: Items and read problems, as :func:`retrieval.catalog.read_catalog` yields.
        store: The vector store.
        catalog: Catalogue name; prefixes the collection names.
        vision: A :class:`adapters.vision.VisionEncoder`, or None to skip images.
        text: A text embedder, or None to skip text.
        report: Where per-item problems are written.
    """
    items = []
    read_failed = []
    for entry in entries:
        if isinstance(entry, CatalogProblem):
            report(str(entry))
            read_failed.append(entry.item_id or f"line {entry.line}")
        else:
            items.append(entry)
    names = collection_names(catalog)
    out: dict[str, IndexSummary] = {}

    if vision is not None:
        summary = IndexSummary(failed=list(read_failed))
        collection = store.collection(names["image"], {"name": vision.config.name, "features": "pooled"})

        def embed_images(batch):
            pixels, kept = [], []
            for it in batch:
                if it.image is None:
                    continue
                try:
                    pixels.append(vision.preprocess([it.image]))
                    kept.append(it)
                except ImageError as exc:
                    report(f"item '{it.id}': {exc}; image skipped")
                    summary.failed.append(it.id)
            if not kept:
                return np.zeros((0, vision.feature_dim), np.float32), []
            import torch

            with torch.inference_mode():
                pooled = vision(torch.cat(pixels)).pooled  # [B, C]
            return pooled.numpy(), kept

        _index_modality(store, collection, items, embed_images, vision.config.batch_size, "images", summary)
        out["image"] = summary

    if text is not None:
        summary = IndexSummary(failed=list(read_failed))
        collection = store.collection(names["text"], text.get_config())

        def embed_texts(batch):
            return text.embed([it.text() for it in batch]), list(batch)

        _index_modality(store, collection, items, embed_texts, 64, "texts", summary)
        out["text"] = summary
    return out
