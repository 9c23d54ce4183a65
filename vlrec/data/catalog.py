"""Catalogue files: JSONL or CSV, one item a line, into :class:`CatalogItem`.

Fields: ``id`` and ``title`` (required), ``description`` and ``image`` (optional;
``image`` is a path relative to the catalogue file); every other field becomes
metadata. A bad line never stops the read: it comes back as a
:class:`CatalogProblem` naming the line, the id where known, and the reason.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vlrec.core.jsonl import read_jsonl

MAX_FIELD_CHARS = 10_000
"""Longest accepted title, description or metadata value."""
RESERVED_PREFIX = "vlrec_"
"""Metadata keys vlrec writes itself (content hash, image path); a catalogue may not set them."""


@dataclass
class CatalogItem:
    id: str
    title: str
    description: str = ""
    image: Path | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)

    def text(self) -> str:
        """The item's text as embedded: title, then description."""
        return f"{self.title}. {self.description}".strip() if self.description else self.title


@dataclass
class CatalogProblem:
    line: int
    item_id: str | None
    reason: str

    def __str__(self) -> str:
        who = f"item '{self.item_id}'" if self.item_id else "an item"
        return f"line {self.line}: {who} skipped: {self.reason}"


def _rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
            reader = csv.DictReader(handle)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # e.g. a NUL byte: this row only
                    yield reader.line_num, None, f"malformed CSV ({exc})"
                    continue
                problem = None
                if None in row:
                    problem = f"{len(reader.fieldnames or []) + len(row[None])} fields; the header has {len(reader.fieldnames or [])}"
                elif any(
                    isinstance(v, str) and any(0xDC80 <= ord(c) <= 0xDCFF for c in v) for v in row.values()
                ):
                    problem = "not valid UTF-8"
                yield reader.line_num, None if problem else row, problem
        return
    yield from read_jsonl(path, strict=False)


def read_catalog(path: str | Path, images_anywhere: bool = False) -> Iterator[CatalogItem | CatalogProblem]:
    """Yield the items of a JSONL or CSV catalogue, and a problem for each bad line.

    An image path must stay inside the catalogue's folder once resolved (``../``, absolute paths
    and symlinks out are problems) unless ``images_anywhere`` (``vlrec index --images-anywhere``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"catalogue '{path}' does not exist")
    seen: set[str] = set()
    for number, row, error in _rows(path):
        if error is not None:
            yield CatalogProblem(number, None, error)
            continue
        yield parse_row(row, number, path.parent, seen, images_anywhere)


def parse_row(
    row: dict, number: int, base: Path, seen: set[str], images_anywhere: bool = False
) -> CatalogItem | CatalogProblem:
    """One catalogue record (a parsed line, or an item sent to the API) checked into an item.

    ``image`` resolves against ``base``; ``seen`` collects the ids accepted so far
    (a repeated id is a problem, the first one is kept).
    """
    item_id = row.get("id")
    item_id = None if item_id is None else str(item_id).strip()
    if not item_id:
        return CatalogProblem(number, None, "missing 'id'")
    if len(item_id) > 256:
        return CatalogProblem(number, item_id[:40] + "...", "id longer than 256 characters")
    if item_id in seen:
        return CatalogProblem(number, item_id, "duplicate id (the first one is kept)")
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        return CatalogProblem(number, item_id, "missing or empty 'title'")
    description = row.get("description") or ""
    image = row.get("image") or None
    metadata = {}
    for key, value in row.items():
        if key in ("id", "title", "description", "image"):
            continue
        if value is None or value == "":
            continue
        if not isinstance(value, (str, int, float, bool)):
            value = json.dumps(value)
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return CatalogProblem(number, item_id, f"field '{key}' longer than {MAX_FIELD_CHARS} characters")
        if str(key).startswith(RESERVED_PREFIX):
            return CatalogProblem(
                number, item_id, f"field '{key}': names starting '{RESERVED_PREFIX}' are vlrec's own"
            )
        metadata[str(key)] = value
    if len(title) > MAX_FIELD_CHARS or len(str(description)) > MAX_FIELD_CHARS:
        return CatalogProblem(
            number, item_id, f"title or description longer than {MAX_FIELD_CHARS} characters"
        )
    image_path = None
    if image:
        if not isinstance(image, str) or "\0" in image or len(image) > 4096:
            return CatalogProblem(number, item_id, "'image' must be a path (a string)")
        image_path = base / image
        if not images_anywhere and not image_path.resolve().is_relative_to(base.resolve()):
            return CatalogProblem(
                number, item_id,
                f"image '{image[:200]}' is outside the catalogue's folder (../, an absolute path or a "
                "link out); move it in, or index with --images-anywhere",
            )  # fmt: skip
    seen.add(item_id)
    return CatalogItem(
        id=item_id,
        title=title.strip(),
        description=str(description).strip(),
        image=image_path,
        metadata=metadata,
    )


def catalog_name(path: str | Path) -> str:
    """The default catalogue name of a file: its stem, or its folder's name for catalog.jsonl."""
    p = Path(path)
    base = p.parent.name if p.stem in ("catalog", "catalogue", "items") else p.stem
    return re.sub(r"[^A-Za-z0-9._-]", "-", base).strip("-._") or "catalog"
