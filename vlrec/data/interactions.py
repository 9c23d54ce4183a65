"""Interaction data in RecBole's atomic format, and the two evaluation splits.

``DIR/NAME.inter`` (``user_id:token item_id:token rating:float timestamp:float``)
and optionally ``DIR/NAME.item`` (``item_id:token movie_title:token_seq ...``)
and ``DIR/posters/<item_id>.jpg``. Splits are written back as atomic files
``NAME.train.inter`` / ``NAME.valid.inter`` / ``NAME.test.inter`` so any other
library (RecBole's ``benchmark_filename``) can be run on exactly the same split.

- ``loo``: per user, interactions sorted by time; the last one is test, the one
  before it validation, the rest training (users with fewer than 3 are train only).
- ``random``: per user, a seeded shuffle split 8:1:1 (at least one train item).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Interactions:
    """Interactions with contiguous integer ids (``users[i]``, ``items[j]`` map back to tokens)."""

    user: np.ndarray  # [N] int
    item: np.ndarray  # [N] int
    time: np.ndarray  # [N] float
    users: list[str]
    items: list[str]
    item_fields: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def subset(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.user[mask], self.item[mask], self.time[mask], self.users, self.items, self.item_fields
        )


def _read_atomic(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        names = [h.split(":")[0] for h in header]
        return names, [row for row in reader if row]


def find_dataset(folder: str | Path) -> tuple[Path, str]:
    """The folder and dataset name of the one ``*.inter`` file (not a split file) in it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder '{folder}' does not exist")
    inters = [
        p
        for p in folder.glob("*.inter")
        if not p.name.endswith((".train.inter", ".valid.inter", ".test.inter"))
    ]
    if len(inters) != 1:
        raise FileNotFoundError(
            f"expected one NAME.inter file in '{folder}', found {[p.name for p in inters]}"
        )
    return folder, inters[0].name[: -len(".inter")]


def load_interactions(folder: str | Path) -> Interactions:
    """Read ``NAME.inter`` (and ``NAME.item`` if present) from a RecBole-format folder."""
    folder, name = find_dataset(folder)
    cols, rows = _read_atomic(folder / f"{name}.inter")
    for needed in ("user_id", "item_id"):
        if needed not in cols:
            raise ValueError(f"{name}.inter has no '{needed}' column (columns: {cols})")
    iu, ii = cols.index("user_id"), cols.index("item_id")
    it = cols.index("timestamp") if "timestamp" in cols else None
    item_fields: dict[str, dict[str, str]] = {}
    item_path = folder / f"{name}.item"
    items: list[str] = []
    if item_path.is_file():
        icols, irows = _read_atomic(item_path)
        for row in irows:
            fields = dict(zip(icols, row))
            item_fields[fields["item_id"]] = fields
            items.append(fields["item_id"])
    users: list[str] = []
    uidx: dict[str, int] = {}
    iidx = {tok: i for i, tok in enumerate(items)}
    u, i, t = [], [], []
    for number, row in enumerate(rows, start=2):
        if len(row) < len(cols):
            raise ValueError(f"{name}.inter line {number}: expected {len(cols)} columns, got {len(row)}")
        user_tok, item_tok = row[iu], row[ii]
        if user_tok not in uidx:
            uidx[user_tok] = len(users)
            users.append(user_tok)
        if item_tok not in iidx:
            iidx[item_tok] = len(items)
            items.append(item_tok)
        u.append(uidx[user_tok])
        i.append(iidx[item_tok])
        t.append(float(row[it]) if it is not None else float(number))
    return Interactions(np.array(u), np.array(i), np.array(t), users, items, item_fields)


@dataclass
class Split:
    train: Interactions
    valid: Interactions
    test: Interactions


def split(data: Interactions, how: str = "loo", seed: int = 0) -> Split:
    """Split per user: ``loo`` by time, or ``random`` 8:1:1."""
    if how not in ("loo", "random"):
        raise ValueError(f"unknown split '{how}'; expected loo or random")
    rng = np.random.default_rng(seed)
    part = np.zeros(len(data.user), dtype=np.int8)  # 0 train, 1 valid, 2 test
    order = np.lexsort((np.arange(len(data.user)), data.time, data.user))
    starts = np.flatnonzero(np.r_[True, data.user[order][1:] != data.user[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends):
        idx = order[s:e]  # this user's interactions, oldest first
        n = len(idx)
        if how == "loo":
            if n >= 3:
                part[idx[-1]] = 2
                part[idx[-2]] = 1
        else:
            idx = rng.permutation(idx)
            n_test = int(round(n * 0.1))
            n_valid = int(round(n * 0.1))
            if n - n_test - n_valid < 1:
                n_test = n_valid = 0
            part[idx[:n_test]] = 2
            part[idx[n_test : n_test + n_valid]] = 1
    return Split(data.subset(part == 0), data.subset(part == 1), data.subset(part == 2))


def write_split(sp: Split, folder: str | Path, name: str) -> list[Path]:
    """Write the split as RecBole atomic files ``NAME.{train,valid,test}.inter``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for part_name, part in (("train", sp.train), ("valid", sp.valid), ("test", sp.test)):
        path = folder / f"{name}.{part_name}.inter"
        with path.open("w") as handle:
            handle.write("user_id:token\titem_id:token\ttimestamp:float\n")
            for u, i, t in zip(part.user, part.item, part.time):
                handle.write(f"{part.users[u]}\t{part.items[i]}\t{t:.0f}\n")
        paths.append(path)
    return paths
