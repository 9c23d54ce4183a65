"""``vlrec eval retrieval``: the shared space measured on caption files and catalogues."""

from __future__ import annotations

import numpy as np
import torch

from vlrec.core.metrics import recall_metrics
from vlrec.data.captions import read_caption_file
from vlrec.data.catalog import CatalogItem, read_catalog
from vlrec.models.features import image_features, text_features


@torch.no_grad()
def image_vectors(embedder, paths) -> np.ndarray:
    feats = image_features(
        embedder.vision, paths, keep_patches=embedder.head.uses_patches, desc="eval images"
    )
    x = feats["patches"] if embedder.head.uses_patches else feats["pooled"]
    return torch.cat([embedder.head.encode_image(x[i : i + 512]) for i in range(0, len(x), 512)]).numpy()


@torch.no_grad()
def text_vectors(embedder, texts) -> np.ndarray:
    vectors = text_features(embedder.text, list(texts), desc="eval texts")
    return embedder.head.encode_text(torch.from_numpy(vectors)).numpy()


def evaluate_captions(embedder, path) -> dict:
    """Image→text and text→image R@1/5/10 and median rank on a Flickr8k-style file."""
    images, captions, owner = read_caption_file(path)
    return recall_metrics(image_vectors(embedder, images), text_vectors(embedder, captions), owner)


def evaluate_titles(embedder, catalog) -> dict:
    """Title→image R@1/5/10 and median rank over every item of a catalogue with an image."""
    items = [e for e in read_catalog(catalog) if isinstance(e, CatalogItem) and e.image is not None]
    m = recall_metrics(
        image_vectors(embedder, [it.image for it in items]),
        text_vectors(embedder, [it.title for it in items]),
        np.arange(len(items)),
    )
    return {
        "title2image_R@1": m["t2i_R@1"],
        "title2image_R@5": m["t2i_R@5"],
        "title2image_R@10": m["t2i_R@10"],
        "title2image_medr": m["t2i_medr"],
        "catalog_items": len(items),
    }
