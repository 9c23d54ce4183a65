"""What the agent says: recommended items with reasons built from their catalogue records,
the reply text, and :func:`verify`, the grounding check every item passes before it leaves
the agent (id, title and reason must come from the catalogue record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vlrec.agent.vocabulary import FIELDS

_LIKED, _FITS = "; you liked ", "; fits your history"


@dataclass
class Recommendation:
    id: str
    title: str
    reason: str
    score: float
    metadata: dict[str, Any]


@dataclass
class Sight:
    """What the VLM read off a photo."""

    description: str
    attributes: dict[str, str] = field(default_factory=dict)
    """The fields it states (at or above their gate): the ones the agent may use."""
    guesses: dict[str, dict] = field(default_factory=dict)
    """Every field read: ``{value, confidence, stated}`` (empty for a VLM without heads)."""
    likely: dict[str, dict[str, float]] = field(default_factory=dict)
    """The three likeliest values of each field read, with their probabilities."""
    vector: Any = None
    """The photo's vector in the shared space, from the same vision pass (the search reuses it)."""


@dataclass
class Reply:
    text: str
    items: list[Recommendation] = field(default_factory=list)
    answer: str | None = None
    """The VLM's answer when the turn was a question about a photo."""
    constraints: dict[str, str] = field(default_factory=dict)
    query: str = ""
    image_description: str | None = None
    dropped: list[str] = field(default_factory=list)
    avoid: dict[str, list[str]] = field(default_factory=dict)
    """Values the shopper excluded, per field ("anything but black")."""
    options: dict[str, list[str]] = field(default_factory=dict)
    """Fields where several values fit the request ("a bag for my gym kit": duffels or backpacks)."""
    """Items removed by the grounding check (should stay empty)."""
    seconds: float = 0.0
    user: str | None = None
    """The known user whose history ranked the items, if any."""
    seen: dict[str, dict] = field(default_factory=dict)
    """What the VLM read off this turn's photo, per field: value, confidence, stated."""

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "answer": self.answer,
            "items": [
                {"id": r.id, "title": r.title, "reason": r.reason, "score": round(r.score, 4)}
                for r in self.items
            ],
            "constraints": self.constraints,
            "avoid": self.avoid,
            "options": self.options,
            "query": self.query,
            "image_description": self.image_description,
            "dropped": self.dropped,
            "user": self.user,
            "seen": self.seen,
            "seconds": round(self.seconds, 3),
        }


def reason(meta: dict, constraints: dict[str, str]) -> str:
    """One line from the item's own attributes, naming which wishes it meets."""
    desc = " ".join(str(meta[k]).lower() for k in ("baseColour", "articleType") if meta.get(k))
    if not desc and meta.get("genres"):  # a catalogue of films (``vlrec train rec`` indexes them)
        desc = str(meta["genres"]).lower().replace(" ", ", ")
    if meta.get("gender"):
        desc += f" for {str(meta['gender']).lower()}"
    if meta.get("usage"):
        desc += f", {str(meta['usage']).lower()}"
    met = [str(v).lower() for k, v in constraints.items() if k in FIELDS and meta.get(k) == v]
    return desc + (f"; matches {', '.join(met)}" if met else "")


def _split_profile(text: str) -> tuple[str, str | None]:
    """A reason's catalogue part and its history claim: the liked title, "" for a bare
    "fits your history", ``None`` for no claim."""
    if _LIKED in text:
        base, liked = text.rsplit(_LIKED, 1)
        return base, liked
    if text.endswith(_FITS):
        return text[: -len(_FITS)], ""
    return text, None


def verify(
    items: list[Recommendation], catalogue: dict[str, dict], history: set[str] | None = None
) -> tuple[list[Recommendation], list[str]]:
    """Keep only items whose id, title and reason all come from the catalogue record; a claim
    about the user's history ("you liked T") must name an item of ``history`` (their titles)."""
    kept, dropped = [], []
    for r in items:
        meta = catalogue.get(r.id)
        base, claim = _split_profile(r.reason)
        if (
            meta is None
            or str(meta.get("title", "")) != r.title
            or base != reason(meta, _met(meta, base))
            or (claim is not None and (history is None or (claim and claim not in history)))
        ):
            dropped.append(r.id)
            continue
        kept.append(r)
    return kept, dropped


def _met(meta: dict, text: str) -> dict[str, str]:
    """The constraints a reason claims are met, recovered from its text (for :func:`verify`)."""
    if "; matches " not in text:
        return {}
    claimed = text.split("; matches ", 1)[1].split(", ")
    out = {}
    for value in claimed:
        for k in FIELDS:
            if str(meta.get(k, "")).lower() == value and k not in out:
                out[k] = meta[k]
                break
        else:
            out[f"?{value}"] = value  # a claim no field backs: verify() then fails
    return out


def render_reply(
    items: list[Recommendation], constraints: dict, relaxed: list[str], query: str,
    backfill: tuple[int, list[str]] | None = None, photo_kind_missing: str | None = None,
) -> str:  # fmt: skip
    """The reply's text. ``photo_kind_missing``: the kind the photo shows, which none of the items
    is (the catalogue has no more of it under the shopper's other wishes): said, not claimed."""
    if not items:
        return "I found nothing in the catalogue for that yet. Tell me what you are looking for, or send a photo."
    if photo_kind_missing:
        query = query.replace(photo_kind_missing.lower(), "items")
    wish = query or "your photo"
    wish = wish if wish.startswith("for ") else f"for {wish}"  # "for men", not "for for men"
    lines = [f"Here {'is' if len(items) == 1 else 'are'} {len(items)} from the catalogue {wish}:"]
    if relaxed:
        lines[0] = f"Nothing matched every wish, so I relaxed {', '.join(relaxed)}. " + lines[0]
    if backfill is not None:
        matched, eased = backfill
        extra = [r.metadata for r in items[matched:]]  # name only the wishes the items after them miss
        eased = [
            f for f in eased if f not in constraints or any(m.get(f) != constraints[f] for m in extra)
        ] or eased
        first = "Only the first matches" if matched == 1 else f"Only the first {matched} match"
        lines[0] += f" ({first} every wish; the others are the nearest without the {', '.join(eased)} wish.)"
    if photo_kind_missing:
        lines[0] += (
            f" (No more {photo_kind_missing.lower()} like your photo meet your other wishes; these are the nearest"
            " other items.)"
        )
    lines += [f"{i}. {r.title} (id {r.id}) - {r.reason}" for i, r in enumerate(items, 1)]
    return "\n".join(lines)
