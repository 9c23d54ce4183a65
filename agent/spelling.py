"""Shoppers' misspellings of the words the agent reads ("jeanz", "snekers", "sunglases", "tshrit",
"perfum gift set", "braclet"), put right before the request is read.

Only a word that is no English word (symspellpy's own frequency list of 82,765 words), no word of
the catalogue's titles (brands: "Fastrack", "Puma") and no word of the agent's vocabulary is
changed, and only into a word of that vocabulary (the intent LM's training lexicon of kinds,
colours and audiences, :mod:`vlrec.data.lexicon`, and the catalogue's own values) within one edit
(two for words of nine letters or more; a swap of two letters is one edit; a word under six
letters is never shortened: "sando" is no "sand"), and never a word made of two known ones
("schoolbag") or one with letters outside English's ("fiancé"). The lookup is symspellpy's (symmetric delete), over that vocabulary alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+")
# People the shopper buys for: the agent reads who an item is for from these.
_PEOPLE = ("girl girls boy boys woman women man men lady ladies gents son daughter husband wife boyfriend "
           "girlfriend mum mom mother dad father sister brother niece nephew grandma grandpa teenager "
           "toddler baby kids children")  # fmt: skip


@functools.lru_cache(maxsize=1)
def _english() -> dict[str, int]:
    """Each English word of symspellpy's frequency list → its count (Google Books n-grams)."""
    from importlib.resources import files

    with (files("symspellpy") / "frequency_dictionary_en_82_765.txt").open(encoding="utf-8") as f:
        return {w: int(n) for w, n in (line.split() for line in f if line.strip())}


_COMMON = 10_000_000
"""A part of a run-together word counts where English uses it this often ("school", "bag"; not "fum")."""


@functools.lru_cache(maxsize=1)
def _lexicon_words() -> frozenset[str]:
    from vlrec.data import lexicon

    phrases: list[str] = [_PEOPLE]
    for table in (lexicon.NAMES, lexicon.COLOURS, lexicon.GENDER):
        phrases += [p for ps in table.values() for p in ps]
    phrases += list(lexicon.COLOUR_FAMILIES) + list(lexicon.BODY_PARTS)
    phrases += [w for names, _ in lexicon.UNCARRIED.values() for w in names]
    return frozenset(w.lower() for p in phrases for w in _WORD.findall(p))


class Speller:
    """Puts right the misspelt words of a request (:meth:`respell`), for one catalogue's words."""

    def __init__(self, values: dict[str, Iterable[str]], titles: Iterable[str] = ()):
        from symspellpy import SymSpell

        vocab = set(_lexicon_words())
        for field_values in values.values():
            vocab |= {w.lower() for v in field_values for w in _WORD.findall(str(v))}
        self.words = frozenset(vocab)
        vocab |= {_singular(w) for w in vocab if len(w) > 4}  # "tshirt"
        english = _english()
        self.common = frozenset(w for w, n in english.items() if n >= _COMMON)
        self.known = set(english) | vocab | {w.lower() for t in titles for w in _WORD.findall(str(t))}
        self._sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for w in sorted(vocab):
            if len(w) >= 3:
                self._sym.create_dictionary_entry(w, 1)

    def correct(self, word: str) -> str | None:
        """The vocabulary word a misspelt ``word`` stands for, or ``None`` (a known word, a short
        one, or none near enough; of the nearest, those that keep more of its first letters, and
        of two such only forms of one word, "wallet" and "wallets")."""
        from symspellpy import Verbosity

        low = word.lower()
        if len(low) < 5 or not low.isascii() or low in self.known or self._compound(low):
            return None
        found = self._sym.lookup(low, Verbosity.CLOSEST, max_edit_distance=1 if len(low) < 9 else 2)
        if len(low) < 6:
            found = [s for s in found if len(s.term) >= len(low)]
        if not found:
            return None
        lead = max(_shared(low, s.term) for s in found)  # "perfum": perfume, not parfum
        terms = sorted(
            {s.term for s in found if _shared(low, s.term) == lead},
            key=lambda t: (t not in self.words, len(t)),
        )  # the lexicon's own form first
        return terms[0] if len({_singular(t) for t in terms}) == 1 else None  # "wallett": wallet(s)

    def _compound(self, low: str) -> bool:
        """Whether the word is two common English words run together ("schoolbag")."""
        return any(low[:i] in self.common and low[i:] in self.common for i in range(3, len(low) - 2))

    def respell(self, text: str) -> str:
        """``text`` with each misspelt word put right (see :meth:`correct`); the rest unchanged."""

        def fix(m: re.Match) -> str:
            return self.correct(m.group(0)) or m.group(0)

        return _WORD.sub(fix, text)


def _shared(a: str, b: str) -> int:
    """How many letters two words share at their start."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _singular(word: str) -> str:
    """ "tshirts" → "tshirt", "watches" → "watch", "sunglasses" → "sunglass"; "dress", "jeans" stay."""
    if re.search(r"(?:sses|xes|ches|shes)$", word):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "ns")) else word
