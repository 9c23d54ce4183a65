"""``vlrec eval vqa``: what the VLM reads off held-out product photos, beside the plain baselines.

One run, the same test items for every row:

- ``majority``: the most common value among the training items;
- ``kNN vote``: the 10 nearest catalogue items in the datastore (the item itself excluded);
- ``probe (Lite0 pooled)``: logistic regression on the frozen pooled vision features;
- ``probe (VLM inputs)``: the same on everything the VLM's projector is given (pooled
  features, per-cell colour statistics, colour histogram);
- ``VLM heads``: the attribute heads over the projector's tokens;
- ``VLM tail``: the fine-tuned copy of the encoder's last stage with its classifiers
  (:mod:`vlrec.adapters.tail`), for a VLM that has one;
- ``colour probe``: the reader's softmax regression over the photo's CIELAB colour
  (:mod:`vlrec.adapters.colour_probe`), for a VLM that has one (colour only);
- ``VLM reader``: heads + tail + probe + neighbours, the answer the agent uses;
- optionally ``VLM generated`` (``--generate``): the LM writing the answer as free text.

For the reader it also reports calibration: expected calibration error (ECE), the share of
answers it states (confidence at or above the field's gate, fitted on the dev split), and the
share of stated answers that are wrong. Test items are the ``test`` half of the held-out split
(:func:`vlrec.data.vlm_tasks.split_of`); nothing here is fitted on them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from vlrec.data.vlm_tasks import read_fashion, split_of


def _probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scale = StandardScaler().fit(x_train)
    model = LogisticRegression(max_iter=300, C=0.5).fit(scale.transform(x_train), y_train)
    probs = np.zeros((len(x_test), n), np.float32)
    probs[:, model.classes_] = model.predict_proba(scale.transform(x_test))
    return probs


def eval_attributes(
    cfg,
    vlm,
    catalog: str | Path,
    split: str = "test",
    limit: int = 0,
    datastore=None,
    datastore_items: str = "all",
    generate: bool = False,
    log=print,
) -> tuple[dict, list[dict]]:
    """Accuracy per field and calibration on ``split`` items of ``catalog``; see the module doc.

    Args:
        datastore: A datastore to read neighbours from (e.g. :class:`vlrec.adapters.retrieval.datastore.ChromaDatastore`);
            None = an in-memory copy of the catalogue's image vectors.
        datastore_items: ``all`` catalogue items, or ``heldout``: only items no vlrec model was
            trained on (a datastore the adapter has never seen).
    """
    from vlrec.adapters.reader import AttributeReader, ece, fuse
    from vlrec.adapters.train.heads import catalogue_datastore, catalogue_features, reader_parts

    rows = read_fashion(catalog)
    splits = np.array([split_of(r["id"]) for r in rows])
    test = [i for i in np.nonzero(splits == split)[0]]
    test = sorted(test, key=lambda i: rows[i]["id"])
    if limit > 0:
        test = test[:limit]
    test = np.array(test, dtype=int)
    train = np.nonzero(splits == "train")[0]
    feats = catalogue_features(cfg, vlm, rows)
    memory, head = catalogue_datastore(cfg, rows, feats["pooled"])
    if datastore_items == "heldout":
        keep = [i for i in range(len(rows)) if splits[i] != "train"]
        from vlrec.adapters.reader import ArrayDatastore

        memory = ArrayDatastore(
            [memory.ids[i] for i in keep], memory.vectors[keep], [memory.metadatas[i] for i in keep]
        )
    store = datastore or memory
    reader = AttributeReader(vlm, store, k=10)
    ids = [rows[i]["id"] for i in test]
    started = time.perf_counter()
    with torch.no_grad():
        vectors = head.encode_image(feats["pooled"][test]).numpy()  # the test photos in the datastore's space
    parts = reader_parts(reader, feats, test, vectors, ids)
    read_s = time.perf_counter() - started
    # the colour channels the projector is given (the same in every token for the histogram)
    extra = (
        feats["inputs"][:, :, vlm.projector.in_dim :].float().mean(1).numpy()
        if vlm.projector.extra_dim
        else None
    )
    pooled = feats["pooled"].numpy()
    generated = _generated(vlm, rows, test) if generate else None

    table: dict[str, dict[str, float]] = {}
    calib: dict[str, dict[str, float]] = {}
    detail = [{"id": i} for i in ids]
    for f, p in parts.items():
        vocab = reader.vocab(f)
        index = {v: i for i, v in enumerate(vocab)}
        y_all = np.array([index.get(str(r.get(f)), -1) for r in rows])
        y = y_all[test]
        tr = train[y_all[train] >= 0]
        rows_f = {
            "majority": np.eye(len(vocab))[np.bincount(y_all[tr], minlength=len(vocab)).argmax()][
                None
            ].repeat(len(test), 0),
            "kNN vote (k=10)": p["knn"],
            "probe (Lite0 pooled)": _probe(pooled[tr], y_all[tr], pooled[test], len(vocab)),
        }
        if extra is not None:
            both = np.concatenate([pooled, extra], axis=1)
            rows_f["probe (VLM inputs)"] = _probe(both[tr], y_all[tr], both[test], len(vocab))
        rows_f["VLM heads"] = p["head"]
        if "tail" in p:
            rows_f["VLM tail (fine-tuned last stage)"] = p["tail"]
        if "probe" in p:
            rows_f["colour probe (Lab histogram)"] = p["probe"]
        setting = vlm.fusion.get(f, {})
        fused = fuse(p, setting.get("weights", {"head": 1.0, "knn": 1.0}))
        rows_f["VLM reader"] = fused
        for name, probs in rows_f.items():
            table.setdefault(name, {})[f] = 100 * float((probs.argmax(1) == y).mean())
        if generated is not None:
            table.setdefault("VLM generated (free text)", {})[f] = 100 * float(
                np.mean([_norm(a) == _norm(str(rows[i][f])) for a, i in zip(generated[f], test)])
            )
        conf, correct = fused.max(1), fused.argmax(1) == y
        gate = float(setting.get("gate", 1.0))
        stated = conf >= gate
        calib[f] = {
            "ECE": 100 * ece(conf, correct),
            "gate": gate,
            "stated %": 100 * float(stated.mean()),
            "wrong among stated %": 100 * float((~correct[stated]).mean()) if stated.any() else 0.0,
            "stated and wrong, of all %": 100 * float((stated & ~correct).mean()),
        }
        for d, j, c, i in zip(detail, fused.argmax(1), conf, test):
            truth = str(rows[i][f])
            d[f] = {"answer": vocab[j], "confidence": float(c), "truth": truth, "ok": vocab[j] == truth}
    result = {
        "items": len(test),
        "split": split,
        "datastore": "given"
        if datastore is not None
        else f"in-memory catalogue copy ({datastore_items} items)",
        "reader_ms_per_image": 1000 * read_s / max(len(test), 1),
        "accuracy": table,
        "calibration": calib,
    }
    return result, detail


def refit_gates(cfg, rows: list[dict], log=print) -> Path:
    """Each field's gate refitted on the reader's answers in ``rows`` (what :func:`eval_attributes`
    returns for the dev split) by :func:`vlrec.adapters.reader.fit_gate` with the training
    config's ``max_wrong`` and ``gate_level``, written into the VLM folder's ``config.json``
    (the fusion weights stay). Returns that file."""
    import json

    from vlrec.adapters.reader import fit_gate
    from vlrec.adapters.vlm_load import vlm_folder

    path = vlm_folder(cfg.vlm.adapter) / "config.json"
    meta = json.loads(path.read_text())
    t = cfg.train
    for f, setting in meta.get("fusion", {}).items():
        got = [r[f] for r in rows if f in r]
        if not got or "weights" not in setting:
            continue
        conf = np.array([g["confidence"] for g in got])
        correct = np.array([g["ok"] for g in got])
        old, setting["gate"] = (
            setting.get("gate", 1.0),
            fit_gate(conf, correct, t.max_wrong, level=t.gate_level),
        )
        stated = conf >= setting["gate"]
        wrong = float((~correct[stated]).mean()) if stated.any() else 0.0
        log(f"{f}: gate {old:.3f} -> {setting['gate']:.3f}, states {100 * stated.mean():.0f} % "
            f"of {len(got)} answers, {100 * wrong:.1f} % of them wrong")  # fmt: skip
    meta["gates_fitted_on"] = f"{len(rows)} dev items, max_wrong {t.max_wrong}, level {t.gate_level}"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(path)
    return path


def _norm(text: str) -> str:
    from vlrec.core.metrics import ptb_tokenize

    return ptb_tokenize(text)


def _generated(vlm, rows, test) -> dict[str, list[str]]:
    """The LM's free-text answer to each field's question (the old path, for comparison)."""
    from vlrec.adapters.reader import FIELDS
    from vlrec.data.vlm_tasks import QUESTIONS
    from vlrec.eval.common import _batched_ask

    return {
        f: _batched_ask(vlm, [(rows[i]["image"], QUESTIONS[f][0]) for i in test], 8, f"generate {f}")
        for f in FIELDS
    }


def format_table(result: dict) -> str:
    """The accuracy and calibration tables as Markdown."""
    acc = result["accuracy"]
    fields = list(next(iter(acc.values())).keys())
    lines = [
        f"fashion attributes, {result['items']} {result['split']} items, datastore: {result['datastore']}",
        "",
        "| row | " + " | ".join(fields) + " |",
        "| --- |" + " ---: |" * len(fields),
    ]
    for name in sorted(acc, key=lambda n: n.startswith("VLM reader")):  # the reader last (stable)
        scores = acc[name]
        lines.append(
            f"| {name} | " + " | ".join(f"{scores[f]:.1f}" if f in scores else "–" for f in fields) + " |"
        )
    lines += ["", "| VLM reader | " + " | ".join(fields) + " |", "| --- |" + " ---: |" * len(fields)]
    keys = list(next(iter(result["calibration"].values())).keys())
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(f"{result['calibration'][f][k]:.2f}" for f in fields) + " |")
    lines.append(f"\nreader: {result['reader_ms_per_image']:.1f} ms per image on cached features")
    return "\n".join(lines)
