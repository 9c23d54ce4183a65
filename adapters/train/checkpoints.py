"""Checkpoints and run logs shared by the training recipes.

A checkpoint folder ``step-N`` holds the trainable tensors, the optimizer and
scheduler states (``state.pt``, written by rank 0) and one RNG state per process
(``rng-R.pt``); it is written under a temporary name and renamed, so a run killed
mid-write leaves the previous checkpoint intact. ``metrics.jsonl`` is trimmed back
to the resumed step so that a resumed run logs each step once.
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


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``step-N`` folder under ``folder``, or None."""
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("step-*") if (p / "state.pt").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(folder: Path, step: int, trainable: dict, optimizer, scheduler, acc, keep: int) -> None:
    """Write ``step-N`` atomically (rank 0: weights + optimizer; every rank: its RNG); keep the newest ``keep``."""
    final = folder / f"step-{step:07d}"
    tmp = folder / f".step-{step:07d}.tmp"
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    acc.wait_for_everyone()
    torch.save(rng_state(), tmp / f"rng-{acc.process_index}.pt")
    acc.wait_for_everyone()
    if acc.is_main_process:
        weights = {n: p.detach().cpu().clone() for n, p in trainable.items()}
        torch.save(
            {
                "step": step,
                "weights": weights,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            tmp / "state.pt",
        )
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        old = sorted(folder.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
    acc.wait_for_everyone()


def load_checkpoint(path: Path, trainable: dict, optimizer, scheduler, rank: int) -> int:
    """Restore ``trainable``, the optimizer, the scheduler and this rank's RNG; returns the step."""
    state = torch.load(path / "state.pt", weights_only=False, map_location="cpu")
    missing = set(trainable) - set(state["weights"])
    if missing:
        raise ValueError(
            f"checkpoint {path} lacks {len(missing)} trainable tensors (e.g. {sorted(missing)[0]})"
        )
    with torch.no_grad():
        for n, p in trainable.items():
            p.copy_(state["weights"][n])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng = path / f"rng-{rank}.pt"
    if rng.is_file():
        set_rng_state(torch.load(rng, weights_only=False))
    return int(state["step"])


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
