"""Print the alignment-variant table from training runs.

    python benchmarks/align_table.py [runs/align]

Each run folder is one `vlrec train align` run; its head/metrics.json holds the Flickr8k 1k-test
metrics of the epoch chosen on the held-out training images.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/align")
    rows = []
    for metrics_file in sorted(root.glob("*/head/metrics.json")):
        m = json.loads(metrics_file.read_text())
        if "val_rsum" not in m:
            continue  # runs from before the held-out validation protocol
        cfg = json.loads((metrics_file.parent / "config.json").read_text())
        a = cfg["align"]
        rows.append(
            (
                m["i2t_R@1"] + m["t2i_R@1"],
                f"| {metrics_file.parent.parent.name} | {cfg.get('vision', '?').replace('efficientnet-', '')} | "
                f"{a['image_head']} | {a['text_head']} | {a['hidden']} | {a['dropout']:g} | {a['mode']} | {a['hard_negative_weight']:g} | "
                f"{m['i2t_R@1']:.1f} | {m['i2t_R@5']:.1f} | {m['i2t_R@10']:.1f} | {m['i2t_medr']:g} | "
                f"{m['t2i_R@1']:.1f} | {m['t2i_R@5']:.1f} | {m['t2i_R@10']:.1f} | {m['t2i_medr']:g} | "
                f"{m['epoch']}/{a['epochs']} | {m['train_seconds']:.0f} |",
            )
        )
    print(f"Flickr8k 1k test (5,000 captions) — `python benchmarks/align_table.py {root}`\n")
    print(
        "| run | vision | image head | text head | hidden | dropout | mode | hard neg. | i2t R@1 | R@5 | R@10 | medr | "
        "t2i R@1 | R@5 | R@10 | medr | epoch | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for _, row in sorted(rows, reverse=True):
        print(row)


if __name__ == "__main__":
    main()
