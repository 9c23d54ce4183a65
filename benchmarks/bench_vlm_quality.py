"""What the VLM sees and says, beside the plain baselines it must beat, in one run each.

    python benchmarks/bench_vlm_quality.py                   # all three tables (about 40 min on 2 cores)
    python benchmarks/bench_vlm_quality.py --only vqa        # or: caption, chat
    python benchmarks/bench_vlm_quality.py vlm.adapter=runs/vlm/stage3c_calibrate/vlm

- ``vqa``: ``vlrec eval vqa``: fashion attributes on the held-out test half (460 items):
  majority, kNN vote, two linear probes, the VLM's heads, the VLM reader; calibration.
- ``caption``: ``vlrec eval caption``: Flickr8k test (1,000 images): kNN consensus
  (Devlin et al. 2015), consensus + shared-space similarity (no LM), the oracle among the VLM's
  candidates, the VLM rerank.
- ``chat``: ``vlrec eval chat --image``: 100 simulated shoppers on the full fashion catalogue
  (indexed first), turn 1 with a photo of a similar item; success@10 by turn, ungrounded items,
  photo-turn latency; the same with ``agent.describe_images=false`` (the image vector alone)
  as its baseline.

Each table is printed with the command that made it. Nothing here is tuned: every weight,
gate and threshold was fitted on dev splits by ``vlrec train vlm configs/train/stage3c_calibrate.yaml``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(
    "../shared/data"
)  # relative to the repository, as the configs write it (feature caches key on paths)


def run(args: list[str]) -> str:
    cmd = [sys.executable, "-m", "vlrec", *args]
    print("$ vlrec " + " ".join(args), flush=True)
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout
    print(out, flush=True)
    return out


def chat_table(overrides: list[str], n: int) -> None:
    rows = []
    for name, extra in (
        ("VLM reader + image vector", []),
        ("image vector alone", ["agent.describe_images=false"]),
    ):
        out = run([
            "eval", "chat", "--catalog", str(DATA / "fashion" / "catalog.jsonl"), "--name", "fashion",
            "--n", str(n), "--image", "--k", "10", "--json", *overrides, *extra,
        ])  # fmt: skip
        rows.append((name, json.loads(out[out.index("{") :])))
    print("| agent, photo at turn 1 | success@10 turn 1 | turn 2 | turn 3 | ungrounded | photo turn p50 s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        print(
            f"| {name} | {r['success@10_turn1']:.2f} | {r['success@10_turn2']:.2f} | {r['success@10_turn3']:.2f} "
            f"| {r['ungrounded_items']} | {r.get('latency_photo_p50_s', float('nan')):.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["vqa", "caption", "chat"])
    ap.add_argument("--n", type=int, default=100, help="simulated shoppers for the chat table")
    ap.add_argument("overrides", nargs="*", help="config overrides, e.g. vlm.adapter=DIR")
    args = ap.parse_args()
    if args.only in (None, "vqa"):
        run(["eval", "vqa", "--catalog", str(DATA / "fashion" / "catalog.jsonl"), *args.overrides])
    if args.only in (None, "caption"):
        run(["eval", "caption", "--data", str(DATA / "flickr8k" / "test.jsonl"),
             "--train-data", str(DATA / "flickr8k" / "train.jsonl"), *args.overrides])  # fmt: skip
    if args.only in (None, "chat"):
        chat_table(args.overrides, args.n)


if __name__ == "__main__":
    main()
