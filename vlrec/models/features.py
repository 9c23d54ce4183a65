"""Frozen features cached on disk: image features per vision encoder, text vectors per embedder.

Features are written in parts of ``PART`` images (safetensors), so an interrupted
extraction resumes at the first missing part. The cache key is the encoder config
plus the exact list of image paths, so a different list never reads stale parts.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from vlrec.core.runtime import cache_dir

PART = 512


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def image_features(
    vision,
    paths: list[str | Path],
    flip: bool = False,
    keep_patches: bool = True,
    desc: str = "features",
    mid: bool = False,
) -> dict[str, torch.Tensor]:
    """Patch ``[N, P, C]`` (fp16) and pooled ``[N, C]`` (fp32) features of ``paths``; with ``mid``
    also the activations entering the encoder's last stage ``[N, C', h', w']`` (fp16; a separate
    cache, 44 KB an image for Lite0).

    Args:
        vision: A :class:`vlrec.models.vision.VisionEncoder`.
        paths: Image files.
        flip: Encode horizontally mirrored images (a cheap augmentation view).
        keep_patches: Also return patch features (large: N x P x C).
        desc: Progress-bar label.
    """
    from PIL import ImageOps

    from vlrec.core.images import load_image

    paths = [str(p) for p in paths]
    variant = (["mid"] if mid else []) + (["int8"] if getattr(vision.config, "int8", False) else [])
    variant += ["openvino"] if getattr(vision, "runtime", None) == "openvino" else []
    key = _key(vision.config.name, vision.config.crop_pct, vision.config.pretrained, flip, paths, *variant)
    folder = cache_dir() / "features" / f"{vision.config.name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    n_parts = (len(paths) + PART - 1) // PART
    bar = tqdm(total=len(paths), desc=desc, unit="img", file=sys.stderr)
    pooled, patches, mids = [], [], []
    for part in range(n_parts):
        file = folder / f"part{part:05d}.safetensors"
        chunk = paths[part * PART : (part + 1) * PART]
        if not file.is_file():
            feats_p, feats_q, feats_m = [], [], []
            for start in range(0, len(chunk), vision.config.batch_size):
                imgs = [load_image(p) for p in chunk[start : start + vision.config.batch_size]]
                if flip:
                    imgs = [ImageOps.mirror(im) for im in imgs]
                with torch.inference_mode():
                    out = vision(vision.preprocess(imgs), mid)
                feats_p.append(out.patches.half())
                feats_q.append(out.pooled)
                if mid:
                    feats_m.append(out.mid.half())
                bar.update(len(imgs))
            tmp = file.with_suffix(".tmp")
            data = {"patches": torch.cat(feats_p), "pooled": torch.cat(feats_q)}
            save_file(data | ({"mid": torch.cat(feats_m)} if mid else {}), str(tmp))
            tmp.rename(file)
        else:
            bar.update(len(chunk))
        data = load_file(str(file))
        pooled.append(data["pooled"])
        if keep_patches:
            patches.append(data["patches"])
        if mid:
            mids.append(data["mid"])
    bar.close()
    out = {"pooled": torch.cat(pooled)}
    if keep_patches:
        out["patches"] = torch.cat(patches)
    if mid:
        out["mid"] = torch.cat(mids)
    return out


def colour_features(paths: list[str | Path], side: int) -> torch.Tensor:
    """:func:`vlrec.models.colour.colour_grid` of every image ``[N, side*side, 6]``, cached once."""
    from vlrec.models.colour import GRID_DIM, colour_grid

    return _cached_rows(
        "colour",
        (side,),
        paths,
        lambda chunk: colour_grid(chunk, side),
        (side * side, GRID_DIM),
        "colour statistics",
    )


def colour_histograms(paths: list[str | Path]) -> torch.Tensor:
    """:func:`vlrec.models.colour.colour_histogram` of every image ``[N, HIST_DIM]``, cached once."""
    from vlrec.models.colour import HIST_DIM, colour_histogram

    return _cached_rows("hist", (), paths, colour_histogram, (HIST_DIM,), "colour histograms")


def colour_labs(paths: list[str | Path]) -> torch.Tensor:
    """:func:`vlrec.models.colour.colour_lab` of every image ``[N, LAB_DIM]``, cached once."""
    from vlrec.models.colour import LAB_DIM, colour_lab

    return _cached_rows("lab", (), paths, colour_lab, (LAB_DIM,), "colour (Lab)")


def _cached_rows(kind: str, params: tuple, paths, fn, shape: tuple, desc: str) -> torch.Tensor:
    """``fn`` over ``paths`` in chunks, cached in one safetensors file keyed by kind, params, paths."""
    paths = [str(p) for p in paths]
    key = _key(*params, paths) if params else _key(kind, paths)
    file = cache_dir() / "features" / f"{kind}-{key}.safetensors"
    if file.is_file():
        return load_file(str(file))[kind]
    step = 256
    parts = [
        fn(paths[i : i + step])
        for i in tqdm(range(0, len(paths), step), desc=desc, unit="x256", file=sys.stderr)
    ]
    out = torch.cat(parts) if parts else torch.zeros(0, *shape)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    save_file({kind: out.contiguous()}, str(tmp))
    tmp.rename(file)
    return out


def text_features(embedder, texts: list[str], desc: str = "texts") -> np.ndarray:
    """Embed ``texts`` once and cache the vectors ``[N, D]``."""
    key = _key(
        embedder.get_config(),
        texts,
        *(["openvino"] if getattr(embedder, "runtime", None) == "openvino" else []),
    )
    file = cache_dir() / "features" / f"text-{embedder.name}-{key}.npy"
    if file.is_file():
        return np.load(file)
    out = []
    step = 1024
    for start in tqdm(range(0, len(texts), step), desc=desc, unit="k", file=sys.stderr):
        out.append(embedder.embed(texts[start : start + step]))
    vectors = np.concatenate(out) if out else np.zeros((0, embedder.dim), np.float32)
    file.parent.mkdir(parents=True, exist_ok=True)
    np.save(file.with_suffix(".tmp.npy"), vectors)
    file.with_suffix(".tmp.npy").rename(file)
    return vectors
