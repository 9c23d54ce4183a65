"""What a request is *for*: a bank of everyday phrases per article type ("something to hold my
trousers up": Belts; "for the pool": Flip Flops), and the vote of the phrases nearest to a request.

The bank (``vlrec/assets/intent/needs.json``, article type -> phrases) was written by two helper
sessions from the catalogue's type list alone, never from the evaluation requests. A request is
split into its clauses (commas, full stops, "and"); its negated clauses are dropped, and what is
left and each remaining clause are embedded with the words index's sentence encoder; the phrases
nearest to them vote for their types, weighed by how far their cosine similarity clears ``floor``.
The vote joins the intent LM's reading like the vote of the nearest catalogue items
(:func:`vlrec.adapters.intent.with_vote`)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

from vlrec.core.paths import ASSETS

BANK = ASSETS / "intent" / "needs.json"  # inside the wheel too
_CLAUSE = re.compile(r"[,.;:!?()\u2014\u2013]|\s-\s|\band\b")


@functools.lru_cache(maxsize=4)
def load_bank(path: str = str(BANK)) -> dict[str, list[str]]:
    """The phrase bank, article type -> phrases; a clear error names a malformed file."""
    try:
        bank = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"needs bank {path}: {exc}") from exc
    if not isinstance(bank, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v)
        for k, v in bank.items()
    ):
        raise ValueError(f"needs bank {path}: expected an object of article type -> list of phrases")
    return bank


def clauses(text: str, min_words: int = 3, most: int = 16) -> list[str]:
    """The request without its negated clauses ("no shorts", "anything but heels for work": what
    the shopper does not want says nothing of what they do), then each remaining clause of at least
    ``min_words`` words, ``most`` in all (a long conversation costs no more than that many
    embeddings). A request that is all negation is kept whole."""
    from vlrec.agent.vocabulary import NEGATION, with_negations

    parts = [" ".join(p.split()) for p in _CLAUSE.split(text)]
    kept = [
        p
        for p in parts
        if p and not set(re.findall(r"[a-z]+", with_negations(p).lower().replace("'", ""))) & NEGATION
    ]
    whole = " ".join(kept) if kept else " ".join(text.split())
    return [whole] + [p for p in dict.fromkeys(kept) if len(p.split()) >= min_words and p != whole][
        : most - 1
    ]


class Needs:
    """The phrase bank embedded once (cached on disk by :func:`vlrec.models.features.text_features`),
    kept to the article types the served catalogue has."""

    def __init__(self, embedder, kinds, path: str | Path | None = None):
        bank = load_bank(str(path or BANK))
        self.embedder = embedder
        self.allowed = frozenset(kinds)
        self.kinds: list[str] = []
        phrases: list[str] = []
        for kind, said in sorted(bank.items()):
            if kind in kinds:
                for p in said:
                    phrases.append(p)
                    self.kinds.append(kind)
        self.phrases = phrases
        self._vectors: np.ndarray | None = None

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            from vlrec.models.features import text_features

            self._vectors = text_features(self.embedder, self.phrases, desc="needs bank")
        return self._vectors

    def vote(self, text: str, k: int = 5, floor: float = 0.45, ruled=()) -> dict[str, float]:
        """Article type -> summed margin over ``floor`` of the ``k`` phrases nearest to any clause;
        kinds the shopper ``ruled`` out do not vote."""
        if not self.phrases or not text.strip():
            return {}
        queries = clauses(text)
        sims = self.embedder.embed(queries) @ self.vectors.T  # [clauses, phrases]
        best = sims.max(axis=0)
        if ruled:  # a ruled-out kind takes no voting place
            best = np.where([kind in ruled for kind in self.kinds], -np.inf, best)
        votes: dict[str, float] = {}
        for j in np.argsort(-best)[:k]:
            if best[j] > floor:
                votes[self.kinds[j]] = votes.get(self.kinds[j], 0.0) + float(best[j] - floor)
        return votes
