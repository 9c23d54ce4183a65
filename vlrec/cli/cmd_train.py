"""Training commands: `vlrec train align | vlm | intent | rec CONFIG`."""

from __future__ import annotations

import json

from vlrec.cli.common import _load


def cmd_train_align(args) -> int:
    from vlrec.adapters.train.align import train_align

    folder = train_align(_load(args))
    print(f"alignment head written to {folder}")
    print((folder / "metrics.json").read_text())
    return 0


def cmd_train_vlm(args) -> int:
    from vlrec.adapters.train.heads import train_calibrate, train_heads
    from vlrec.adapters.train.tail import train_probe, train_tail
    from vlrec.adapters.train.vlm import train_vlm

    cfg = _load(args)
    run = {"heads": train_heads, "tail": train_tail, "probe": train_probe, "calibrate": train_calibrate}.get(
        cfg.train.stage, train_vlm
    )
    folder = run(cfg)
    print(f"vision-language model written to {folder}")
    return 0


def cmd_train_intent(args) -> int:
    from vlrec.adapters.train.intent import train_intent

    folder = train_intent(_load(args))
    print(f"intent model written to {folder}")
    return 0


def cmd_train_rec(args) -> int:
    from vlrec.rec.experiment import run

    cfg = _load(args)
    result = run(cfg, save=True)
    print(f"recommender written to {cfg.rec.out}")
    print(json.dumps(result, indent=2))
    return 0
