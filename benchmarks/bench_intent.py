"""What the shopper means: the intent LM and the full agent beside keyword rules and plain MiniLM search.

    python benchmarks/bench_intent.py                 # dev split (300 requests), full catalogue (~10 min)
    python benchmarks/bench_intent.py --split test    # the 100 test requests: report once, never tune on it
    python benchmarks/bench_intent.py intent.model=runs/intent/default/intent

Runs, on the same requests (``benchmarks/data/freeform_requests.jsonl``, written in shoppers'
everyday words and never used for training):

- ``vlrec eval intent``: constraint exact match and per-field accuracy, keyword rules vs the intent LM,
  and the intent step's latency;
- ``vlrec eval freeform``: P@10 and success@10 of keyword rules, plain MiniLM search, the LM intent
  filtering that search, and the full agent; hub skew of the returned lists; turn latency;
- ``vlrec eval chat``: 100 simulated shoppers (words only), success@10 by turn and ungrounded items,
  to check the intent LM keeps the scripted conversations working.

Each table is printed with the command that made it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = "../shared/data/fashion/catalog.jsonl"  # relative to the repository, as the configs write it


def run(args: list[str]) -> str:
    print("$ vlrec " + " ".join(args), flush=True)
    out = subprocess.run([sys.executable, "-m", "vlrec", *args], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    print(out, flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", default="dev", choices=["dev", "test"])
    p.add_argument("--only", choices=["intent", "freeform", "chat"])
    p.add_argument("overrides", nargs="*", metavar="key=value")
    a = p.parse_args()
    if a.only in (None, "intent"):
        run(["eval", "intent", "--split", a.split, "--catalog", CATALOG, *a.overrides])
    if a.only in (None, "freeform"):
        run(["eval", "freeform", "--split", a.split, "--catalog", CATALOG, "--name", "fashion", *a.overrides])
    if a.only in (None, "chat"):
        run(["eval", "chat", "--catalog", CATALOG, "--name", "fashion", "--n", "100", *a.overrides])
    return 0


if __name__ == "__main__":
    sys.exit(main())
