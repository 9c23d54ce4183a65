"""What the commands share: loading the root config, printing results, catalogue names."""

from __future__ import annotations

import json
import re

from vlrec.core.paths import REPO_ROOT

FREEFORM = REPO_ROOT / "benchmarks" / "data" / "freeform_requests.jsonl"


def _load(args):
    from vlrec.config import load_config

    return load_config(args.config, args.overrides)


def _save_rows(args, rows) -> None:
    if getattr(args, "save", None):
        with open(args.save, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


def _catalog_name(path: str, name: str | None) -> str:
    from vlrec.data.catalog import catalog_name

    return name or catalog_name(path)


def _print_result(result: dict, as_json: bool, digits: int) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(
            f"{key:>{width}}  {value:.{digits}f}" if isinstance(value, float) else f"{key:>{width}}  {value}"
        )


def _print_reply(reply, as_json: bool) -> None:
    print(json.dumps(reply.to_dict()) if as_json else reply.text)


_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")
