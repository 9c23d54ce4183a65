"""A conversation's state: its turns, the latest photo and what was read off it, the shopper's
wants, options and exclusions, and the items shown, liked and rejected.

:meth:`Session.state` turns it into plain JSON data and :meth:`Session.from_state` back, so that
a conversation can live outside the process (the server's session store) and continue after a
restart or on another worker. A photo travels as PNG (lossless), its shared-space vector as
float32 values; a known user's profile is recomputed from the history model, not stored.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlrec.agent.replies import Recommendation, Reply

STATE_VERSION = 2
"""2: a user turn may carry ``said`` (the shopper's own words where their spelling was put right)."""
_READS = (1, 2)  # a version-1 state has no ``said``: it reads the same

if TYPE_CHECKING:
    from vlrec.agent.session import Agent


@dataclass
class Turn:
    role: str
    text: str
    image: str | None = None
    items: list[str] = field(default_factory=list)
    said: str | None = None
    """The shopper's own words where the agent reads ``text`` with their spelling put right."""


class Session:
    """One shopper's conversation: history, images, shown/liked/rejected items, constraints."""

    def __init__(self, agent: Agent, user: str | None = None):
        self.agent = agent
        self.owner: str | None = None
        """The API's end-user id that started this conversation (another id may not continue it)."""
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
        self.hedges: dict[str, float] = {}
        """Kinds the intent LM found likely too, after the one it read (``agent.hedge_share``)."""
        self.fills: list[str] = []
        """The intent LM's likeliest kinds before the words' vote: a short reply's last resort."""
        self.goes_with: list[str] = []
        """Kinds the words name only as what the wanted item goes with: never a reply's filling."""
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
        self.wishes: Any = None
        """The filter every item of the last reply was to meet (a changed one may show seen items again)."""
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
        read = self.agent.respell(text)
        self.turns.append(Turn("user", read, label, said=text if read != text else None))
        if image is not None:
            self.images.append(label)
        reply = self.agent.respond(self, read, image, description)
        reply.seconds = time.perf_counter() - start
        self.turns.append(Turn("assistant", reply.text, None, [r.id for r in reply.items]))
        return reply

    # --- state outside the process ---------------------------------------------------------
    _PLAIN = (
        "images", "shown", "liked", "rejected", "constraints", "avoid", "options", "leanings",
        "hedges", "fills", "goes_with", "anchor", "image_description", "image_attrs", "image_guesses", "image_likely",
        "price_below", "wishes", "notes", "words", "k",
    )  # fmt: skip

    def state(self) -> dict:
        """The conversation as JSON-ready data (see :meth:`from_state`)."""
        import numpy as np

        out: dict[str, Any] = {"v": STATE_VERSION, "user": self.user, "owner": self.owner}
        out |= {name: getattr(self, name) for name in self._PLAIN}
        out["turns"] = [asdict(t) for t in self.turns]
        out["last"] = [asdict(r) for r in self.last]
        memo = getattr(self, "_png_memo", None)  # the photo is encoded once, not on every turn
        if memo is not None and memo[0] is self.image:
            out["image"] = memo[1]
        else:
            out["image"] = _image_state(self.image)
            self._png_memo = (self.image, out["image"])
        vec = self.image_vector
        out["image_vector"] = None if vec is None else np.asarray(vec, np.float32).tolist()
        return out

    @classmethod
    def from_state(cls, agent: Agent, state: dict) -> Session:
        """A session continued from :meth:`state` (the same agent config; the catalogue may have changed)."""
        import numpy as np

        if state.get("v") not in _READS:
            raise ValueError(f"session state version {state.get('v')!r}; this vlrec reads {_READS}")
        session = cls(agent)
        session.owner = state.get("owner")
        for name in cls._PLAIN:
            if name in state:
                setattr(session, name, state[name])
        session.turns = [Turn(**t) for t in state.get("turns", [])]
        session.last = [Recommendation(**r) for r in state.get("last", [])]
        session.image = _image_from_state(state.get("image"))
        session._png_memo = (session.image, state.get("image"))
        vec = state.get("image_vector")
        session.image_vector = None if vec is None else np.asarray(vec, np.float32)
        if (
            state.get("user") is not None
            and agent.profiles is not None
            and agent.profiles.knows(state["user"])
        ):
            session.set_user(state["user"])
        return session


def _image_state(image: Any) -> dict | None:
    if image is None:
        return None
    if isinstance(image, (str, Path)):
        return {"path": str(image)}
    buf = io.BytesIO()
    image.save(buf, "PNG")  # a decoded upload (PIL): lossless, so a reread sees the same pixels
    return {"png": base64.b64encode(buf.getvalue()).decode("ascii")}


def _image_from_state(state: dict | None) -> Any:
    if state is None:
        return None
    if "path" in state:
        return state["path"]
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(state["png"])))
    img.load()
    return img
