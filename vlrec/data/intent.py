"""Shopper conversations generated from a catalogue, labelled with the constraints they imply.

Each example is 1-3 shopper turns in everyday words (synonyms, uses, gifts, negations and
refinements from :mod:`vlrec.data.lexicon`) about a real attribute combination of the
catalogue, so every labelled request has items that fit it. Labels are per catalogue field:
``want`` (acceptable values) and ``avoid`` (excluded values). Training data only: the free-form
evaluation requests are written by people and never generated here.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vlrec.core.jsonl import read_jsonl
from vlrec.data import lexicon as lex

FIELDS = ("articleType", "baseColour", "gender", "usage")
"""Catalogue fields the intent model reads (season is left to the rerank)."""


@dataclass
class Request:
    """A shopper conversation (their turns and the seller's) and what it asks for."""

    turns: list[tuple[str, str]]
    """``(role, text)``, role ``user`` or ``assistant``."""
    want: dict[str, list[str]] = field(default_factory=dict)
    avoid: dict[str, list[str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    id: str = ""
    split: str = ""

    @property
    def text(self) -> str:
        return " / ".join(t for r, t in self.turns if r == "user")


def render(turns: list[tuple[str, str]], max_turns: int = 8) -> str:
    """The intent model's input: the last turns as ``Shopper: ...`` / ``Seller: ...`` lines."""
    lines = [f"{'Shopper' if r == 'user' else 'Seller'}: {t.strip()}" for r, t in turns[-max_turns:] if t]
    return "\n".join(lines) + "\nThe shopper wants:"


def load_requests(path: str | Path, split: str | None = None) -> list[Request]:
    """Labelled free-form requests (JSON lines: ``text`` or ``turns``, ``want``, ``avoid``)."""
    out = []
    path = Path(path)
    for n, row, _ in read_jsonl(path):
        if split is not None and row.get("split") != split:
            continue
        turns = row.get("turns") or [["user", row.get("text", "")]]
        if not any(t for _, t in turns):
            raise ValueError(f"{path}:{n}: a request needs 'text' or 'turns'")
        out.append(
            Request(
                [(r, t) for r, t in turns],
                {f: list(v) for f, v in (row.get("want") or {}).items() if f in FIELDS},
                {f: list(v) for f, v in (row.get("avoid") or {}).items() if f in FIELDS},
                list(row.get("tags") or []),
                str(row.get("id", f"line-{n}")),
                str(row.get("split", "")),
            )
        )
    return out


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _bare(name: str) -> str:
    """A name without its article: "a linen shirt" -> "linen shirt"."""
    return re.sub(r"^(a|an|a pair of) ", "", name)


def _colour_word(value: str, rng: random.Random) -> str:
    return rng.choice(lex.COLOURS.get(value) or [value.lower()])


class Generator:
    """Draws labelled shopper conversations about a catalogue's real attribute combinations."""

    def __init__(self, rows: list[dict]):
        self.rows = [r for r in rows if r.get("articleType")]
        if not self.rows:
            raise ValueError("the catalogue has no items with an articleType")
        self.values = {f: sorted({r[f] for r in self.rows if r.get(f)}) for f in FIELDS}
        by_type: dict[str, list[dict]] = {}
        for r in self.rows:
            by_type.setdefault(r["articleType"], []).append(r)
        self.by_type = by_type
        # Rare kinds are drawn more often than their share (square-root weighting).
        self.types = sorted(by_type)
        self.weights = [len(by_type[t]) ** 0.5 for t in self.types]
        self.colours_of = {t: Counter(r.get("baseColour") for r in rs) for t, rs in by_type.items()}

    def sample(self, rng: random.Random) -> Request:
        t = rng.choices(self.types, self.weights)[0]
        row = rng.choice(self.by_type[t])
        want: dict[str, list[str]] = {}
        avoid: dict[str, list[str]] = {}
        tags: list[str] = []
        # what kind of item: its name, its use, a generic word with a negated kind, or nothing
        mode = rng.choices(["name", "use", "not", "none"], [0.55, 0.3, 0.1, 0.05])[0]
        if mode == "use" and t not in lex.USES:
            mode = "name"
        if mode == "not" and t not in lex.SIBLINGS:
            mode = "name"
        if mode == "name":
            thing = rng.choice(lex.NAMES.get(t) or [t.lower()])
            want["articleType"] = [t]
        elif mode == "use":
            thing = rng.choice(lex.USES[t])
            want["articleType"] = [t]
            tags.append("use")
        elif mode == "not":
            sibs = [s for s in lex.SIBLINGS[t] if s in self.by_type]
            key = (t, *lex.SIBLINGS[t])
            thing = rng.choice(lex.GENERIC.get(key, ["something"]))
            want["articleType"] = sibs or [t]
            avoid["articleType"] = [t]
            neg = rng.choice(lex.TYPE_AVOID).format(t=_bare(rng.choice(lex.NAMES.get(t) or [t.lower()])))
            thing = f"{thing}, {neg}"
            tags.append("negation")
            row = rng.choice(self.by_type[rng.choice(sibs)]) if sibs else row
        else:
            thing = "something"
        colour = row.get("baseColour")
        clauses: list[tuple[str, str]] = []  # (field, phrase) said after the kind
        pre = ""
        r = rng.random()
        if colour and colour in lex.COLOURS and r < 0.45:
            word = _colour_word(colour, rng)
            want["baseColour"] = [colour]
            if rng.random() < 0.4 and mode == "name":
                pre = word + " "
                thing = _bare(thing)
            else:
                clauses.append(("baseColour", rng.choice(lex.COLOUR_WANT).format(c=word)))
            tags.append("colour")
        elif r < 0.65:
            others = [c for c, _ in self.colours_of[row["articleType"]].most_common(8) if c != colour]
            if others and others[0] in lex.COLOURS:
                bad = rng.choice(others[:4])
                if bad in lex.COLOURS:
                    avoid["baseColour"] = [bad]
                    clauses.append(("avoid", rng.choice(lex.COLOUR_AVOID).format(c=_colour_word(bad, rng))))
                    tags.append("negation")
        g = row.get("gender")
        gift = False
        if g in lex.GENDER and (rng.random() < 0.55 or mode == "none"):
            if g != "Unisex" or rng.random() < 0.3:
                phrase = rng.choice(lex.GENDER[g])
                want["gender"] = [g]
                if phrase.endswith(("'s", "'")) and mode == "name" and not pre:
                    pre = phrase + " "
                    thing = _bare(thing)
                elif rng.random() < 0.3 and phrase.startswith("for "):
                    gift = True
                    thing = rng.choice(lex.GIFTS).format(g=phrase) + ", " + thing
                    tags.append("gift")
                else:
                    clauses.append(
                        ("gender", f"in {phrase} sizes" if phrase.endswith(("'s", "'")) else phrase)
                    )
                tags.append("gender")
        u = row.get("usage")
        if u in lex.USAGE and rng.random() < 0.25:
            clauses.append(("usage", rng.choice(lex.USAGE[u])))
            want["usage"] = [u]
        body = pre + thing
        if rng.random() < 0.3 and len(clauses) >= 1:
            # spread over turns: a first request, then refinements after a seller's reply
            first_n = rng.randrange(0, len(clauses))
            first = [body, *[c for _, c in clauses[:first_n]]]
            turns = [("user", self._ask(" ".join(first), rng, gift))]
            for _, c in clauses[first_n:]:
                turns.append(("assistant", rng.choice(lex.SELLER)))
                turns.append(("user", rng.choice(lex.FOLLOW_UPS).format(x=c)))
            if "baseColour" in want and rng.random() < 0.3:
                # a change of mind: the latest colour counts
                alt = [c for c, _ in self.colours_of[row["articleType"]].most_common(6)
                       if c != colour and c in lex.COLOURS]  # fmt: skip
                if alt:
                    new = rng.choice(alt)
                    turns += [("assistant", rng.choice(lex.SELLER)),
                              ("user", rng.choice(lex.FOLLOW_UPS).format(x=f"in {_colour_word(new, rng)}"))]  # fmt: skip
                    want["baseColour"] = [new]
            tags.append("multi-turn")
        else:
            rng.shuffle(clauses)
            turns = [("user", self._ask(" ".join([body, *[c for _, c in clauses]]), rng, gift))]
        if rng.random() < 0.05:
            role, text = turns[0]
            turns[0] = (role, _typo(text, rng))
        return Request(turns, want, avoid, tags)

    def _ask(self, x: str, rng: random.Random, gift: bool) -> str:
        text = rng.choice(lex.OPENERS) + (
            rng.choice(lex.ASKS).format(x=x) if not gift or rng.random() < 0.5 else x
        )
        text = re.sub(r"\s+", " ", text).strip()
        if rng.random() < 0.5:
            text = text[:1].upper() + text[1:]
        return text + rng.choice(["", "", ".", "?", "!", " thanks", " pls"])

    def samples(self, n: int, seed: int = 0) -> list[Request]:
        rng = random.Random(seed)
        return [self.sample(rng) for _ in range(n)]
