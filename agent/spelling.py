"""Shoppers' misspellings of the words the agent reads ("jeanz", "snekers", "sunglases", "tshrit",
"perfum gift set", "braclet"), put right before the request is read.

Only a word that is no English word (symspellpy's own frequency list of 82,765 words), no word of
the catalogue's titles (brands: "Fastrack", "Puma") and no word of the agent's vocabulary is
changed, and only into a word that names a kind or an audience (the intent LM's training lexicon,
:mod:`vlrec.data.lexicon`, and the catalogue's own values; not the lexicon's other words for a
colour, nor kinds a shop may not carry: "mochi" is no "mocha", "kajol" no "kajal"), or into
"except" ("any colour exept pink"):
- within one edit (two for words of nine letters or more; a swap of two letters is one edit);
- keeping its first letter ("jandals" are no "sandals");
- never shortening a word under six letters, and a word of four letters only by a swap of two ("blet");
- never a capitalised word inside a sentence (a brand or a name: "Lavie", "Kajol"), a word made of
  two common ones ("schoolbag"), or one with letters outside English's ("fiancé").
Of two candidates, a swap of letters wins ("hoodei": hoodie, not hooded), then the one keeping more
of the word's first letters ("perfum": perfume, not parfum), then the one as long as the word
("shortz": shorts). The lookup is symspellpy's (symmetric delete), over that vocabulary alone.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE = re.compile(r"(?:^|[.!?]\s+|\n)$")
# People the shopper buys for: the agent reads who an item is for from these.
_PEOPLE = ("girl girls boy boys woman women man men lady ladies gents son daughter husband wife boyfriend "
           "girlfriend mum mom mother dad father sister brother niece nephew grandma grandpa teenager "
           "toddler baby kids children")  # fmt: skip
# Words that rule something out ("any colour exept pink"): the agent reads negations from these.
_CONSTRAINTS = "except"


@functools.lru_cache(maxsize=1)
def _english() -> dict[str, int]:
    """Each English word of symspellpy's frequency list → its count (Google Books n-grams)."""
    from importlib.resources import files

    with (files("symspellpy") / "frequency_dictionary_en_82_765.txt").open(encoding="utf-8") as f:
        return {w: int(n) for w, n in (line.split() for line in f if line.strip())}


_COMMON = 10_000_000
"""A part of a run-together word counts where English uses it this often ("school", "bag"; not "fum")."""


def _words(phrases: Iterable[str]) -> set[str]:
    return {w.lower() for p in phrases for w in _WORD.findall(str(p))}


@functools.lru_cache(maxsize=1)
def _lexicon_words() -> tuple[frozenset[str], frozenset[str]]:
    """The lexicon's words a misspelling may become (kinds, audiences), and its other words (colours,
    ranges, body parts, kinds not carried), which are only never changed."""
    from vlrec.data import lexicon

    targets = _words(
        [
            _PEOPLE,
            _CONSTRAINTS,
            *(p for table in (lexicon.NAMES, lexicon.GENDER) for ps in table.values() for p in ps),
        ]
    )
    others = _words([*(p for ps in lexicon.COLOURS.values() for p in ps), *lexicon.COLOUR_FAMILIES])
    others |= _words([*lexicon.BODY_PARTS, *(w for names, _ in lexicon.UNCARRIED.values() for w in names)])
    return frozenset(targets), frozenset(others)


class Speller:
    """Puts right the misspelt words of a request (:meth:`respell`), for one catalogue's words."""

    def __init__(self, values: dict[str, Iterable[str]], titles: Iterable[str] = ()):
        from symspellpy import SymSpell

        targets, others = _lexicon_words()
        vocab = set(targets)
        for field_values in values.values():
            vocab |= _words(field_values)
        self.words = frozenset(vocab)
        self.names = _kind_names(values.get("articleType", ()))  # what a word of four letters may become
        self.colours = frozenset(w for w in _words(values.get("baseColour", ())) if len(w) == 5)
        vocab |= {_singular(w) for w in vocab if len(w) > 4}  # "tshirt"
        english = _english()
        self.common = frozenset(w for w, n in english.items() if n >= _COMMON)
        self.known = set(english) | vocab | others | _words(titles)
        self._sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for w in sorted(vocab):
            if len(w) >= 3:
                self._sym.create_dictionary_entry(w, 1)

    def correct(self, word: str) -> str | None:
        """The vocabulary word a misspelt ``word`` stands for, or ``None`` (a known word, a short
        one, none near enough, or two equally near that are not forms of one word)."""
        from symspellpy import Verbosity

        low = word.lower()
        if len(low) < 4 or not low.isascii() or low in self.known or self._compound(low):
            return None
        found = self._sym.lookup(low, Verbosity.CLOSEST, max_edit_distance=1 if len(low) < 9 else 2)
        found = [s.term for s in found if s.term[0] == low[0] and (len(low) >= 6 or len(s.term) >= len(low))]
        if len(low) == 4:  # a word of four letters only by a swap of two into a kind's name ("blet": belt),
            found = [  # or by one letter left out of a colour's ("blck": black, "gren": green)
                t
                for t in found
                if (t in self.names and sorted(t) == sorted(low))
                or (t in self.colours and _one_left_out(low, t))
            ]
        if not found:
            return None

        def rank(term: str) -> tuple:
            return (
                sorted(term) != sorted(low),
                -len(os.path.commonprefix([low, term])),  # the letters kept at its start
                abs(len(term) - len(low)),
                term not in self.words,
            )

        best = min(rank(t) for t in found)
        terms = sorted((t for t in found if rank(t) == best), key=len)
        return terms[0] if len({_singular(t) for t in terms}) == 1 else None  # "watchs": watch(es)

    def _compound(self, low: str) -> bool:
        """Whether the word is two common English words run together ("schoolbag")."""
        return any(low[:i] in self.common and low[i:] in self.common for i in range(3, len(low) - 2))

    def respell(self, text: str) -> str:
        """``text`` with each misspelt word put right (see :meth:`correct`); the rest unchanged."""

        def fix(m: re.Match) -> str:
            word = m.group(0)
            if word[:1].isupper() and not _SENTENCE.search(text[: m.start()]):
                return word  # "a bag like Lavie's": a name
            return self.correct(word) or word

        return _WORD.sub(fix, text)


def _one_left_out(word: str, term: str) -> bool:
    """Whether ``term`` is ``word`` with one letter put back ("blck": black)."""
    return len(term) == len(word) + 1 and any(term[:i] + term[i + 1 :] == word for i in range(len(term)))


def _kind_names(kinds: Iterable[str]) -> frozenset[str]:
    """The one-word names of kinds (the catalogue's own, singular and plural, and the lexicon's:
    "belt", "belts", "tee", "cap"; not the words of longer names: "mist", "pair", "hair")."""
    from vlrec.data import lexicon

    out = set()
    for phrase in [*kinds, *(p for ps in lexicon.NAMES.values() for p in ps)]:
        words = re.sub(r"^(?:a|an)\s+", "", str(phrase).lower()).split()
        if len(words) == 1:
            out |= {words[0], _singular(words[0])}
    return frozenset(out)


def _singular(word: str) -> str:
    """ "tshirts" → "tshirt", "watches" → "watch", "sunglasses" → "sunglass"; "dress", "jeans",
    "ladies" stay."""
    if word.endswith("ies"):
        return word
    if re.search(r"(?:sses|xes|ches|shes)$", word):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith(("ss", "us", "ns")) else word
