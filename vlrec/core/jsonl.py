"""The one JSON-lines reader: every ``.jsonl`` file vlrec reads goes through :func:`read_jsonl`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def read_jsonl(path: str | Path, strict: bool = True) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line number, row, problem)`` for each non-blank line of a JSON-lines file.

    A line that is not a JSON object raises ``ValueError`` naming the file and line when
    ``strict``; otherwise it comes back as ``(number, None, problem)`` so the caller can
    report it and go on (a catalogue loses no good row to one bad line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"'{path}' does not exist")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
                row = json.loads(line)
                problem = None if isinstance(row, dict) else "a line must hold a JSON object"
            except UnicodeDecodeError as exc:
                row, problem = None, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            except json.JSONDecodeError as exc:
                row, problem = None, f"malformed JSON ({exc.msg} at column {exc.colno})"
            if problem is not None:
                if strict:
                    raise ValueError(f"{path}:{number}: {problem}")
                yield number, None, problem
            else:
                yield number, row, None
