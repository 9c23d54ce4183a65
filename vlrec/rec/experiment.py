"""``vlrec train rec`` / ``vlrec eval rec``: split, fit, tune on validation, evaluate on test.

:func:`run`: split → fit every component on training → tune blend weights on validation
(history = training) → test (history = training + validation) over a full ranking →
cold-start slice (test items with at most ``cold_max`` training interactions).
:func:`evaluate_external` ranks another system's scores with the same protocol.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from vlrec.data.interactions import Interactions, Split, load_interactions, split, write_split
from vlrec.rec.metrics import rank_metrics
from vlrec.rec.recommender import Context, HistoryRecommender, RecConfig, progress
from vlrec.retrieval.catalogue import CatalogueSections


class RecSections(CatalogueSections, Protocol):
    """The config sections a history-recommender run reads (the catalogue's, for item vectors)."""

    rec: RecConfig


def item_vectors(root_cfg: RecSections, data: Interactions, folder: Path) -> np.ndarray:
    """Fused poster + title + genre vectors of every item, indexed into (and read from) Chroma."""
    from vlrec.data.catalog import CatalogItem
    from vlrec.retrieval.catalogue import Catalogue

    catalogue = Catalogue.open(root_cfg, f"rec-{folder.name}"[:60])
    embedder = catalogue.embedder
    items = []
    for tok in data.items:
        fields = data.item_fields.get(tok, {})
        title = fields.get("movie_title") or fields.get("title") or f"item {tok}"
        year = fields.get("release_year", "")
        poster = folder / "posters" / f"{tok}.jpg"
        items.append(
            CatalogItem(
                id=tok,
                title=f"{title} ({year})" if year else title,
                description=fields.get("class", "").replace(" ", ", "),
                image=poster if poster.is_file() else None,
                metadata={"genres": fields.get("class", "")},
            )
        )
    summary = catalogue.index(items, report=lambda _m: None, rebuild=True)
    progress(f"rec: item vectors in collection {catalogue.name}.fused: {summary}")
    got = catalogue.vectors(data.items, "fused")
    out = np.zeros(
        (len(data.items), embedder.dim * (2 if embedder.cfg.fusion == "concat" else 1)), np.float32
    )
    for i, tok in enumerate(data.items):
        if tok in got:
            out[i] = got[tok]
    return out


def run(root_cfg: RecSections, save: bool = True) -> dict:
    """Split, fit, tune on validation, evaluate on test; returns the metrics."""
    cfg: RecConfig = root_cfg.rec
    folder = Path(cfg.data)
    data = load_interactions(folder)
    sp_ = split(data, cfg.split, cfg.seed)
    progress(
        f"rec: {data.n_users} users, {data.n_items} items, {len(data.user)} interactions; "
        f"{cfg.split} split {len(sp_.train.user)}/{len(sp_.valid.user)}/{len(sp_.test.user)}"
    )
    vectors = item_vectors(root_cfg, data, folder) if "content" in cfg.components else None
    model = HistoryRecommender(cfg, sp_.train, vectors)
    valid_ctx = Context([sp_.train], cfg.half_life)
    model.tune(valid_ctx, sp_.valid)
    test_ctx = Context([sp_.train, sp_.valid], cfg.half_life)
    result = evaluate(model, test_ctx, sp_, cfg)
    if save:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        name = folder.name or "data"
        write_split(sp_, out / "split" / name, name)  # RecBole reads data_path/NAME/NAME.train.inter
        (out / "metrics.json").write_text(json.dumps(result, indent=2))
        model.save(out, data)
    return result


def _test_metrics(score, ctx: Context, sp_: Split, cfg: RecConfig) -> dict:
    """Test metrics of a ``score(users) -> [B, n_items]`` function, plus the cold-start slice."""
    counts = np.bincount(sp_.train.item, minlength=sp_.train.n_items)
    cold = counts <= cfg.cold_max
    result = rank_metrics(score, ctx.matrix, sp_.test, cfg.k)
    cold_m = rank_metrics(score, ctx.matrix, sp_.test, cfg.k, item_filter=cold)
    result.update({f"cold_{k}": v for k, v in cold_m.items()})
    return result


def evaluate(model: HistoryRecommender, ctx: Context, sp_: Split, cfg: RecConfig) -> dict:
    result = _test_metrics(lambda u: model.score(u, ctx), ctx, sp_, cfg)
    result["weights"] = model.weights
    result["cold_boost"] = model.cold_boost
    return result


def evaluate_external(cfg: RecConfig, users: list[str], items: list[str], scores: np.ndarray) -> dict:
    """Rank another system's test scores with exactly vlrec's protocol (same split, same masking,
    same metrics, same cold-start slice). ``scores[r, c]`` scores item token ``items[c]`` for user
    token ``users[r]``; items it does not score rank last."""
    data = load_interactions(Path(cfg.data))
    sp_ = split(data, cfg.split, cfg.seed)
    ctx = Context([sp_.train, sp_.valid], cfg.half_life)
    col = {tok: c for c, tok in enumerate(items)}
    cols = np.array([col.get(tok, -1) for tok in data.items])
    row = {tok: r for r, tok in enumerate(users)}
    full = np.full((len(data.users), len(data.items)), -np.inf, np.float32)
    have = [u for u, tok in enumerate(data.users) if tok in row]
    known = cols >= 0
    full[np.ix_(have, np.flatnonzero(known))] = scores[
        np.ix_([row[data.users[u]] for u in have], cols[known])
    ]
    # RecBole masks history with -inf; rank_metrics masks it again. Items tied at -inf would be
    # "ranked" arbitrarily: push them below everything instead.
    full = np.where(np.isfinite(full), full, np.float32(-3e38))
    return _test_metrics(lambda u: full[u], ctx, sp_, cfg)
