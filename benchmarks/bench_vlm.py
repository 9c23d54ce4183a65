"""VLM benchmark: training cost per stage (QLoRA vs fp32 LoRA) and caption latency.

    python benchmarks/bench_vlm.py                 # both tables
    python benchmarks/bench_vlm.py --only train    # or: --only caption

Training rows run ``vlrec train vlm`` for a few steps in a fresh process each (so
peak RSS is that run's own), on 64 Flickr8k training images, batch 8, 16 image
tokens; samples/s is the median over steps after the first. Caption rows time the
shipped VLM (``vlrec/assets/vlm/default``) on the bundled sample photos, greedy, batch 1 and 8.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLICKR = REPO.parent / "shared" / "data" / "flickr8k" / "train.jsonl"

RUNS = [
    ("stage 1: projector, LM nf4 (frozen)", "configs/train/stage1_align.yaml", []),
    ("stage 2: projector + QLoRA (nf4 base)", "configs/train/stage2_qlora.yaml", []),
    ("stage 2: projector + LoRA (fp32 base)", "configs/train/stage2_qlora.yaml", ["lm.quantization=none"]),
]


def train_rows(steps: int) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-vlm-"))
    lines = FLICKR.read_text().splitlines()[:64]
    caps = tmp / "train64.jsonl"
    caps.write_text(
        "".join(
            json.dumps({**json.loads(x), "image": str(FLICKR.parent / json.loads(x)["image"])}) + "\n"
            for x in lines
        )
    )
    rows = []
    for label, config, extra in RUNS:
        out = tmp / f"run{len(rows)}"
        cmd = [
            sys.executable, "-m", "vlrec", "train", "vlm", config, *extra,
            "train.init=", f"train.caption_data={caps}", f"train.caption_eval={caps}", "train.captions=-1",
            "train.vqa=0", "train.intents=0", "train.redial=0", "train.batch_size=8",
            f"train.max_steps={steps}", "train.log_every=1", "train.eval_samples=8",
            f"train.checkpoint_every={steps + 1}", f"train.out={out}",
        ]  # fmt: skip
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        summary = json.loads((out / "summary.json").read_text())
        rates = [json.loads(x)["samples_per_s"] for x in (out / "metrics.jsonl").read_text().splitlines()]
        rows.append(
            {
                "run": label,
                "trainable M": summary["trainable_params"] / 1e6,
                "total M": summary["total_params"] / 1e6,
                "samples/s": statistics.median(rates[1:]) if len(rates) > 1 else rates[0],
                "peak RSS MB": summary["peak_rss_mb"],
            }
        )
        print(rows[-1], file=sys.stderr)
    return rows


def caption_rows(repeats: int) -> list[dict]:
    from vlrec.adapters.vlm_load import load_vlm
    from vlrec.config import load_config
    from vlrec.data.vlm_tasks import CAPTION_QUESTION

    cfg = load_config()
    vlm = load_vlm(cfg)
    photos = sorted((REPO / "vlrec" / "samples" / "fashion" / "images").glob("*.jpg"))[:8]
    rows = []
    for batch in (1, 8):
        imgs = photos[:batch]
        vlm.ask(imgs, [CAPTION_QUESTION] * batch, max_new_tokens=4)  # warm-up
        times, tokens = [], 0
        for _ in range(repeats):
            start = time.perf_counter()
            patches = vlm.image_patches(imgs)
            texts = vlm.generate([vlm.render(CAPTION_QUESTION)] * batch, patches=patches, max_new_tokens=32)
            times.append(time.perf_counter() - start)
            tokens += sum(
                len(vlm.tokenizer(" " + t, add_special_tokens=False)["input_ids"]) + 1 for t in texts
            )
        wall = sum(times)
        rows.append(
            {
                "batch": batch,
                "s / batch (p50)": statistics.median(times),
                "captions/s": batch * repeats / wall,
                "tokens/s": tokens / wall,
            }
        )
        print(rows[-1], file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["train", "caption"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# {' '.join(['python', *sys.argv])}  ({os.cpu_count()} CPUs)")
    if args.only in (None, "train"):
        print(table(train_rows(args.steps)))
    if args.only in (None, "caption"):
        print(table(caption_rows(args.repeats)))


if __name__ == "__main__":
    main()
