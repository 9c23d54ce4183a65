"""A conversation's state: its turns, the latest photo and what was read off it, the shopper's
wants, options and exclusions, and the items shown, liked and rejected."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlrec.agent.replies import Recommendation, Reply

if TYPE_CHECKING:
    from vlrec.agent.session import Agent


@dataclass
class Turn:
    role: str
    text: str
    image: str | None = None
    items: list[str] = field(default_factory=list)


class Session:
    """One shopper's conversation: history, images, shown/liked/rejected items, constraints."""

    def __init__(self, agent: Agent, user: str | None = None):
        self.agent = agent
        self.user: str | None = None
        self.profile: dict[str, float] = {}
        """The user's standardised history score of every unseen item (empty: no user)."""
        self.profile_ranked: list[str] = []
        """The same items, best first."""
        self.reset()
        if user is not None:
            self.set_user(user)

    def set_user(self, user: str | None) -> None:
        """Tie this conversation to a known user (their history ranks the items), or untie it."""
        self.user, self.profile, self.profile_ranked = None, {}, []
        if user is None:
            return
        profiles = self.agent.profiles
        if profiles is None:
            raise ValueError(
                "this agent has no user profiles; set agent.profiles=true after `vlrec train rec`"
            )
        if not profiles.knows(user):
            raise KeyError(f"user '{user}' has no interactions in the history data")
        self.user = str(user)
        self.profile = profiles.scores(self.user)  # unseen items only
        self.profile_ranked = sorted(self.profile, key=lambda i: -self.profile[i])

    def reset(self) -> None:
        self.turns: list[Turn] = []
        self.images: list[str] = []
        self.shown: list[str] = []
        self.liked: list[str] = []
        self.rejected: list[str] = []
        self.constraints: dict[str, str] = {}
        self.avoid: dict[str, list[str]] = {}
        self.options: dict[str, dict[str, float]] = {}
        """Fields with several acceptable values and their probabilities (the intent LM's)."""
        self.leanings: dict[str, dict[str, float]] = {}
        """Fields the intent LM reads below its gate: likely values that rerank but never filter."""
        self.last: list[Recommendation] = []
        self.anchor: str | None = None
        self.image: Any = None
        """The latest photo: a path, or decoded image (the server passes PIL images)."""
        self.image_description: str | None = None
        self.image_attrs: dict[str, str] = {}
        self.image_guesses: dict[str, dict] = {}
        self.image_likely: dict[str, dict[str, float]] = {}
        self.image_vector: Any = None
        """The photo's shared-space vector when the reader computed it (the search reuses it)."""
        self.price_below: float | None = None
        self.notes: list[str] = []
        self.words: str = ""
        self.k: int | None = None
        """Items per reply for this session (default: agent.k)."""

    def send(self, text: str = "", image: Any = None, description: str | None = None) -> Reply:
        """One user turn; returns the agent's reply.

        ``description``: the VLM's description of ``image`` when the caller already has it
        (the server batches descriptions across sessions); otherwise the agent asks the VLM.
        """
        start = time.perf_counter()
        text = (text or "").strip()
        if len(text) > 2000:
            raise ValueError(f"message of {len(text)} characters; the limit is 2000")
        label = (
            None if image is None else str(image) if isinstance(image, (str, Path)) else "<uploaded image>"
        )
        self.turns.append(Turn("user", text, label))
        if image is not None:
            self.images.append(label)
        reply = self.agent.respond(self, text, image, description)
        reply.seconds = time.perf_counter() - start
        self.turns.append(Turn("assistant", reply.text, None, [r.id for r in reply.items]))
        return reply
