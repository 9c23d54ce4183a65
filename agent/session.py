"""The shopping agent: a conversation session grounded in one Chroma catalogue.

Each user turn (text, an image, or both) goes through the agent's steps, one file each:

    understand (:mod:`vlrec.agent.understand`): what the photo shows (the VLM's attribute
        reader: each catalogue field with a calibrated confidence; sure fields filter, the
        rest weigh the rerank) and what the shopper means (the intent LM constrained to the
        catalogue's values, or the catalogue's own words, :mod:`vlrec.agent.vocabulary`) ->
    retrieve (:mod:`vlrec.agent.retrieve`): filters from wants and exclusions, the fused
        image+text search joined by rank with the words paths, excluding items already
        shown or rejected; rerank (constraints, typicality, history, diversity) ->
    reply (:mod:`vlrec.agent.replies`): numbered catalogue items, each with a reason built
        from its stored attributes, verified against the store before it leaves the agent.

The conversation's state lives in :class:`vlrec.agent.state.Session`; this module holds the
:class:`Agent` that runs a turn and :func:`load_agent`. The reply is assembled from catalogue
records, never written freely by the LM, so it cannot name an item that retrieval did not
return; :func:`vlrec.agent.replies.verify` re-reads every cited item and drops anything that
does not match. Catalogue text is data: it is printed, never placed in an LM prompt as
instructions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Protocol

from vlrec.adapters.train.intent import IntentConfig
from vlrec.adapters.vlm_load import VLMSections
from vlrec.agent.config import AgentConfig
from vlrec.agent.replies import Reply, Sight, render_reply, verify
from vlrec.agent.retrieve import Retrieving, _combo
from vlrec.agent.state import Session
from vlrec.agent.understand import Understanding
from vlrec.agent.vocabulary import Vocabulary
from vlrec.rec.recommender import RecConfig
from vlrec.retrieval.catalogue import Catalogue
from vlrec.retrieval.embedder import EmbedderSections
from vlrec.retrieval.store import StoreConfig

_FIELD_QUESTIONS = [
    ("baseColour", r"\b(colou?r|shade)\b"),
    ("gender", r"\b(who|men or women|gender|for (a )?(man|woman|men|women|boys?|girls?))\b"),
    ("usage", r"\b(occasion|used for|usage|casual|formal|sports? wear|for what)\b"),
    ("articleType", r"\b(type|kind|what is (this|it)|what's (this|it)|which product)\b"),
]
"""Which catalogue field a question about a photo asks for (first match wins)."""
_QUESTION = re.compile(r"^\s*(what|which|who|is|are|does|do|can|how|where|why)\b.*", re.I)


class Agent(Understanding, Retrieving):
    """Recommends from one indexed catalogue; a :class:`Session` holds each conversation."""

    def __init__(
        self, cfg: AgentConfig, searcher, vlm=None, log=None, profiles=None, reader=None, intent=None,
        words=None,
    ):  # fmt: skip
        self.cfg = cfg
        self.searcher = searcher
        self.vlm = vlm
        self.reader = reader
        """:class:`vlrec.adapters.reader.AttributeReader` when the VLM has attribute heads."""
        self.intent = intent
        """:class:`vlrec.adapters.intent.IntentModel` (agent.intent=lm), or ``None``."""
        self.words = words
        """:class:`vlrec.retrieval.words.WordsIndex` over the catalogue's item documents (agent.words)."""
        self.profiles = profiles
        """:class:`vlrec.rec.profiles.Profiles` of known users, or ``None``."""
        self.items = searcher.records()
        self.vocab = Vocabulary(list(self.items.values()))
        self._count_combos()
        self._kind_centroids = None  # (kinds, centroids) for near_kinds(), read on first use
        self._child_kind_counts = None  # (subcategory, boys / girls) -> items of each kind, on first use
        self._kind_places = None  # article type -> (master category, subcategory), on first use
        self._kind_counts = None  # article type (and (type, gender)) -> how many items, on first use
        self._colour_counts = None  # (article type, colour, gender) -> how many items, on first use
        if self.words is not None:
            self.words.sync(self.items)
        self.needs = None
        """:class:`vlrec.agent.needs.Needs`: what a request is for, by its nearest everyday phrases."""
        self._load_needs()
        self._speller = None  # built on first use, for the catalogue's words

    def respell(self, text: str) -> str:
        """``text`` with its misspelt words put right (``agent.spelling``; :mod:`vlrec.agent.spelling`)."""
        if not self.cfg.spelling or not text:
            return text
        if self._speller is None:
            from vlrec.agent.spelling import Speller

            titles = (m.get("title", "") for m in self.items.values())
            self._speller = Speller(self.vocab.values, titles)
        return self._speller.respell(text)

    def _load_needs(self) -> None:
        kinds = set(self.vocab.values.get("articleType", ()))
        if self.words is None or self.cfg.needs_weight <= 0:
            return
        if self.needs is None or self.needs.allowed != kinds:  # kept to the kinds the catalogue has
            from vlrec.agent.needs import Needs

            self.needs = Needs(self.words.text, kinds, self.cfg.needs_bank or None)

    def _count_combos(self) -> None:
        self.combos = Counter(_combo(m) for m in self.items.values())
        self._log_max = math.log(max(self.combos.values(), default=1) + 1)
        self._pairs = {(m.get("articleType"), m.get("gender")) for m in self.items.values()}  # kind, audience
        self._titled: dict = {}  # (kind, audience) -> the kinds whose titles name it (agent.titled_kinds)

    def session(self, user: str | None = None) -> Session:
        return Session(self, user)

    def refresh(self, ids: list[str] | None = None) -> None:
        """Re-read catalogue records after items were added, changed or deleted.

        ``ids``: only these items (deleted ones disappear); ``None``: the whole catalogue.
        """
        if ids is None:
            self.items = self.searcher.records()
        else:
            for i in ids:
                self.items.pop(i, None)
            self.items.update(self.searcher.records(ids))
        self.vocab = Vocabulary(list(self.items.values()))
        self._count_combos()
        self._kind_centroids = None
        self._child_kind_counts = None
        self._kind_places = None
        self._kind_counts = None
        self._colour_counts = None
        self._speller = None
        if self.words is not None:
            self.words.sync(self.items, ids)
        self._load_needs()

    # --- one turn -------------------------------------------------------------------------

    def will_describe(self, text: str, image: Any) -> bool:
        """Whether a turn with this text and image asks the VLM to describe the image."""
        return (
            image is not None
            and self.vlm is not None
            and self.cfg.describe_images
            and not self.is_question(text, image)
        )

    def is_question(self, text: str, image: Any) -> bool:
        return image is not None and self.vlm is not None and bool(_QUESTION.match(text or ""))

    def respond(
        self, session: Session, text: str, image: Any, description: Sight | str | None = None
    ) -> Reply:
        if self.is_question(text, image):
            return self.answer(session, text, image)
        self.update(session, text, image, description)
        items, relaxed, backfill = self.retrieve(session)
        history = self.profiles.history_titles(session.user) if session.user is not None else None
        items, dropped = verify(items, self.items, history)
        session.last = items
        for r in items:
            if r.id not in session.shown:
                session.shown.append(r.id)
        kind = self.photo_kind(session)
        if kind is not None and any(r.metadata.get("articleType") == kind for r in items):
            kind = None  # the items are of the photo's kind
        text_out = render_reply(
            items,
            session.constraints,
            relaxed,
            self.query_text(session, relaxed, heading=True),
            backfill,
            kind,
        )
        return Reply(
            text="\n".join([*session.notes, text_out]),
            items=items,
            constraints=dict(session.constraints),
            query=self.query_text(session),
            image_description=session.image_description,
            dropped=dropped,
            avoid={f: list(v) for f, v in session.avoid.items()},
            options={f: list(v) for f, v in session.options.items()},
            user=session.user,
            seen=dict(session.image_guesses) if image is not None else {},
        )

    def answer(self, session: Session | None, question: str, image: str) -> Reply:
        """A question about a photo: the VLM answers; similar catalogue items are cited."""
        if self.vlm is None:
            raise RuntimeError(
                "questions about photos need the VLM (agent.describe_images or load_agent(with_vlm))"
            )
        session = session or self.session()
        session.image = image
        answer = self._read_answer(question, image) if self.reader is not None else None
        if answer is None:
            answer = self.vlm.ask([image], [question])[0]
        hits = self.searcher.search(image=image, k=3, exclude=session.rejected)
        items, dropped = verify([self._rec(h, {}) for h in hits], self.items)
        session.last = items
        lines = [answer or "I can't tell from this photo."]
        if items:
            lines.append("Similar items in the catalogue:")
            lines += [f"{i}. {r.title} (id {r.id}) - {r.reason}" for i, r in enumerate(items, 1)]
        return Reply("\n".join(lines), items, answer, dict(session.constraints), question, None, dropped)

    def _read_answer(self, question: str, image: Any) -> str | None:
        """A question about one catalogue field answered by the reader, with its confidence;
        None when the question is about something else (the LM answers it)."""
        low = question.lower()
        name = next((f for f, pattern in _FIELD_QUESTIONS if re.search(pattern, low)), None)
        if name is None or name not in self.reader.fields:
            return None
        guess = self.reader.read([image])[0][name]
        sure = "" if guess.stated else ", but I'm not sure"
        return f"{guess.value} ({100 * guess.confidence:.0f} % confident{sure})"


def make_reader(vlm, searcher, cfg: AgentConfig):
    """The VLM's attribute reader over the served catalogue's image collection (its datastore),
    or None for a VLM without attribute heads."""
    if vlm is None or getattr(vlm, "heads", None) is None:
        return None
    from vlrec.adapters.reader import AttributeReader
    from vlrec.retrieval.datastore import ChromaDatastore

    datastore = ChromaDatastore(searcher.store, searcher.cols["image"])
    return AttributeReader(vlm, datastore, searcher.embedder.image_vectors, cfg.read_k)


class AgentSections(EmbedderSections, VLMSections, Protocol):
    """The config sections an agent is loaded from (the root config has them all)."""

    store: StoreConfig
    agent: AgentConfig
    intent: IntentConfig
    rec: RecConfig


def load_agent(cfg: AgentSections, with_vlm: bool = True, catalogue: Catalogue | None = None) -> Agent:
    """The agent of a root config over the indexed catalogue ``cfg.agent.catalog``.

    The VLM shares the embedder's vision encoder (one Lite0 in memory), and the words path its
    text embedder; ``catalogue``: the catalogue already opened (and indexed) with its embedder.
    """
    catalogue = catalogue or Catalogue.open(cfg, cfg.agent.catalog)
    searcher, embedder = catalogue.searcher, catalogue.embedder
    vlm = None
    if with_vlm and (cfg.agent.describe_images or cfg.agent.intent == "lm"):
        from vlrec.adapters.vlm_load import load_vlm

        vlm = load_vlm(cfg, with_vision=False)
        vlm.vision = embedder.vision
    reader = make_reader(vlm, searcher, cfg.agent) if cfg.agent.describe_images else None
    profiles = None
    if cfg.agent.profiles:
        from vlrec.rec.profiles import Profiles

        profiles = Profiles(cfg)
    intent = None
    if cfg.agent.intent == "lm":
        from vlrec.adapters.intent import load_intent

        intent = load_intent(cfg.intent.model, cfg.lm, cfg.runtime.device, cfg.runtime.dtype)
    words = None
    if cfg.agent.words:
        from vlrec.retrieval.words import WordsIndex

        words = WordsIndex(searcher.store, cfg.agent.catalog, embedder.text)
    return Agent(cfg.agent, searcher, vlm, profiles=profiles, reader=reader, intent=intent, words=words)
