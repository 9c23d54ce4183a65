"""Checkpoints and run logs shared by the training recipes.

A checkpoint is a folder of safetensors and JSON, never a pickle: ``weights.safetensors``
(the trainable tensors), ``optimizer.safetensors`` (the optimizer's per-parameter tensors),
``state.json`` (step or epoch, the optimizer's parameter groups and scalars, the scheduler's
state) and one ``rng-R.json`` per process (Python, NumPy and torch generator states). Loading it
runs no code from the file (``torch.load`` with ``weights_only=False`` did). The VLM recipe's
folder ``step-N`` is written under a temporary name and renamed, so a run killed mid-write leaves
the previous checkpoint intact. ``metrics.jsonl`` is trimmed back to the resumed step so that a
resumed run logs each step once.

Why not accelerate's ``save_state``: it writes the whole prepared model (the frozen base LM too:
a gigabyte a checkpoint for Gemma-3-270M, where the trainable part is 5 MB) and reloads its RNG
states and custom objects with ``weights_only=False`` (accelerate 1.16, ``checkpointing.py``).
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import sys
from pathlib import Path

import numpy as np
import torch


def rss_mb() -> float:
    """Peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latest_checkpoint(folder: Path, prefix: str = "step") -> Path | None:
    """The newest complete ``{prefix}-N`` folder under ``folder``, or None."""
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob(f"{prefix}-*") if (p / "state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def write_checkpoint(folder: Path, name: str, keep: int, weights: dict, optimizer, scheduler, **meta) -> Path:
    """One process's checkpoint ``folder/name`` written atomically by :func:`write_state` (under a
    temporary name, then renamed); only the newest ``keep`` of the same prefix are kept."""
    prefix = name.split("-")[0]
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    write_state(tmp, weights, optimizer, scheduler, **meta)
    final = folder / name
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(folder.glob(f"{prefix}-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def rng_state() -> dict:
    """Every generator's state as JSON-ready lists."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(mt), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def write_state(folder: Path, weights: dict, optimizer=None, scheduler=None, **meta) -> None:
    """Write ``weights`` (name -> tensor), the optimizer and scheduler states and ``meta``
    (JSON values) into ``folder`` as safetensors + ``state.json``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(
        {n: t.detach().cpu().contiguous().clone() for n, t in weights.items()}, folder / "weights.safetensors"
    )
    state: dict = {"meta": meta}
    if optimizer is not None:
        sd = optimizer.state_dict()
        tensors, scalars = {}, {}
        for pid, per_param in sd["state"].items():
            for key, value in per_param.items():
                if torch.is_tensor(value):
                    tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous().clone()
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        save_file(tensors, folder / "optimizer.safetensors")
        state["optimizer"] = {"param_groups": sd["param_groups"], "scalars": scalars,
                              "params": sorted(int(p) for p in sd["state"])}  # fmt: skip
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    (folder / "state.json").write_text(json.dumps(state))


def read_state(folder: Path, optimizer=None, scheduler=None) -> tuple[dict, dict]:
    """The weights and ``meta`` written by :func:`write_state`; restores the optimizer and
    scheduler given. Raises ``ValueError`` naming the folder when a part is missing."""
    from safetensors.torch import load_file

    try:
        state = json.loads((folder / "state.json").read_text())
        weights = load_file(folder / "weights.safetensors")
    except (OSError, ValueError) as e:
        raise ValueError(f"checkpoint {folder} cannot be read: {e}") from None
    if optimizer is not None:
        if "optimizer" not in state:
            raise ValueError(f"checkpoint {folder} holds no optimizer state")
        saved = state["optimizer"]
        tensors = load_file(folder / "optimizer.safetensors")
        per_param: dict[int, dict] = {p: dict(saved["scalars"].get(str(p), {})) for p in saved["params"]}
        for name, value in tensors.items():
            pid, key = name.split(".", 1)
            per_param[int(pid)][key] = value
        groups = [g | {"betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
        optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    return weights, state["meta"]


def save_checkpoint(folder: Path, step: int, trainable: dict, optimizer, scheduler, acc, keep: int) -> None:
    """Write ``step-N`` atomically (rank 0: weights + optimizer; every rank: its RNG); keep the newest ``keep``."""
    final = folder / f"step-{step:07d}"
    tmp = folder / f".step-{step:07d}.tmp"
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    acc.wait_for_everyone()
    (tmp / f"rng-{acc.process_index}.json").write_text(json.dumps(rng_state()))
    acc.wait_for_everyone()
    if acc.is_main_process:
        write_state(tmp, trainable, optimizer, scheduler, step=step)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        old = sorted(folder.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
    acc.wait_for_everyone()


def load_checkpoint(path: Path, trainable: dict, optimizer, scheduler, rank: int) -> int:
    """Restore ``trainable``, the optimizer, the scheduler and this rank's RNG; returns the step."""
    weights, meta = read_state(path, optimizer, scheduler)
    missing = set(trainable) - set(weights)
    if missing:
        raise ValueError(
            f"checkpoint {path} lacks {len(missing)} trainable tensors (e.g. {sorted(missing)[0]})"
        )
    with torch.no_grad():
        for n, p in trainable.items():
            p.copy_(weights[n])
    rng = path / f"rng-{rank}.json"
    if rng.is_file():
        set_rng_state(json.loads(rng.read_text()))
    return int(meta["step"])


def resume_epochs(out: Path, optimizer, scheduler, resume: bool, log=print) -> tuple[dict | None, int]:
    """For an epoch-checkpointed run in ``out``: the newest ``checkpoints/epoch-N`` weights (the
    optimizer, scheduler and RNG states restored in place, ``metrics.jsonl`` cut back to epoch N)
    and N; ``(None, 0)`` for a fresh run."""
    latest = latest_checkpoint(out / "checkpoints", "epoch")
    if not resume or latest is None:
        return None, 0
    weights, meta = read_state(latest, optimizer, scheduler)
    set_rng_state(meta["rng"])
    log(f"vlrec: resuming {out} after epoch {meta['epoch']}")
    truncate_metrics(out / "metrics.jsonl", meta["epoch"], key="epoch")
    return weights, meta["epoch"]


def truncate_metrics(path: Path, upto: int, key: str = "step") -> None:
    """Drop metric lines written after the checkpoint being resumed (``record[key] > upto``)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)[key] <= upto]
    path.write_text("".join(line + "\n" for line in keep))


def append_metrics(path: Path, record: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


_said_no_plot: list[bool] = []


def plot_metrics(jsonl: Path, png: Path) -> None:
    """Training loss and held-out loss against step (skipped, once said, without matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        if not _said_no_plot:
            _said_no_plot.append(True)
            print(f"vlrec: no {png.name}: pip install 'vlrec[train]' for loss plots", file=sys.stderr)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    tr = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    if tr:
        ax.plot(*zip(*tr), label="train loss")
    keys = sorted({k for r in rows for k in r if k.startswith("eval_loss")})
    for key in keys:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot(*zip(*pts), marker="o", label=key.replace("eval_loss", "eval") or key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
