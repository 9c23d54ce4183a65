"""The shopping agent: a conversation session grounded in one Chroma catalogue.

Each user turn (text, an image, or both) goes

    read the image (the VLM's attribute reader: each catalogue field with a calibrated
                    confidence; sure fields join the query, the rest weigh the rerank) ->
    intent: constraints and a standalone query (deterministic parsing against the
            catalogue's own attribute values; optionally the LM's intent adapter) ->
    retrieve (fused image+text query, ``where`` from hard constraints, excluding
              items already shown or rejected) ->
    rerank (similarity, constraint satisfaction, diversity) ->
    reply: numbered catalogue items, each with a reason built from its stored
           attributes, verified against the store before it leaves the agent.

The reply is assembled from catalogue records, never written freely by the LM, so
it cannot name an item that retrieval did not return; :func:`verify` re-reads every
cited item from the store and drops anything that does not match. Catalogue text is
data: it is printed, never placed in an LM prompt as instructions.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vlrec.retrieval.words import passes as _passes
from vlrec.retrieval.words import rrf

from vlrec.core.config import check

# Attributes a shopper can constrain, as catalogue metadata keys. A catalogue that
# lacks one simply never yields it.
FIELDS = ("articleType", "baseColour", "gender", "usage", "season")

_GENDER_WORDS = {
    "men": "Men", "man": "Men", "mens": "Men", "male": "Men", "him": "Men", "gentlemen": "Men",
    "women": "Women", "woman": "Women", "womens": "Women", "female": "Women", "ladies": "Women",
    "lady": "Women", "her": "Women", "boys": "Boys", "boy": "Boys", "girls": "Girls", "girl": "Girls",
    "unisex": "Unisex", "kids": "Boys",
}  # fmt: skip
_COLOUR_ALIASES = {"gray": "grey", "violet": "purple", "golden": "gold"}
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
             "fifth": 4, "5th": 4, "last": -1}  # fmt: skip
_FIELD_QUESTIONS = [
    ("baseColour", r"\b(colou?r|shade)\b"),
    ("gender", r"\b(who|men or women|gender|for (a )?(man|woman|men|women|boys?|girls?))\b"),
    ("usage", r"\b(occasion|used for|usage|casual|formal|sports? wear|for what)\b"),
    ("articleType", r"\b(type|kind|what is (this|it)|what's (this|it)|which product)\b"),
]
"""Which catalogue field a question about a photo asks for (first match wins)."""
_QUESTION = re.compile(r"^\s*(what|which|who|is|are|does|do|can|how|where|why)\b.*", re.I)


@dataclass
class AgentConfig:
    """The conversational agent."""

    catalog: str = "fashion-sample"
    """Catalogue name given to ``vlrec index`` (the demo's sample by default)."""
    k: int = 5
    """Items per reply."""
    candidates: int = 100
    """Items retrieved before reranking."""
    intent: Literal["rules", "lm"] = "lm"
    """lm (default): the intent LM (:mod:`vlrec.adapters.intent`, ``intent.model``) reads the conversation
    and chooses, per catalogue field, the values the shopper wants and those they exclude; exact
    catalogue words the LM left open fill gaps. rules: only the catalogue words found in the text."""
    intent_weight: float = 0.5
    """Rerank bonus, up to this much per field, for an item whose value the intent LM finds likely
    but below the field's gate (fitted with the model): such a field ranks, it never filters."""
    words: bool = True
    """Also match a text request against each item's own words (dense sentence vectors and BM25,
    :mod:`vlrec.retrieval.words`), fused with the aligned-space search by reciprocal rank."""
    words_weight: float = 1.0
    """Weight of each words path (dense, lexical) in the fusion; the aligned path weighs 1."""
    rrf_k: int = 60
    """Reciprocal-rank fusion constant."""
    describe_images: bool = True
    """Let the VLM read a photo (off = the image vector alone). With attribute heads the VLM reads
    each field with a calibrated confidence (:mod:`vlrec.adapters.reader`); without, it writes a
    description whose catalogue words are matched."""
    seen_in_query: bool = True
    """Fields the VLM states about a photo (confidence at or above the field's gate) join the query
    text and the rerank wishes, for fields the shopper's words did not set."""
    seen_filter: bool = False
    """Also filter on those stated fields (relaxed like any constraint when nothing matches)."""
    seen_weight: float = 1.0
    """Rerank bonus, up to this much per field, for an item whose value of a field read off the
    photo (and not set by the shopper's words) is among the VLM's three likeliest readings, times
    that reading's probability: a sure reading counts fully, an unsure one a little."""
    read_k: int = 10
    """Catalogue neighbours whose fields the VLM's reader weighs with its own heads."""
    constraint_weight: float = 0.15
    """Rerank bonus per satisfied soft constraint."""
    diversity: float = 0.05
    """Rerank penalty per already-chosen item of the same type and colour."""
    typicality: float = 0.5
    """Rerank bonus, up to this much, for items whose attribute combination is common in the
    catalogue: among items that fit what the shopper said, the usual ones (a summer casual
    t-shirt) come before the rare ones (scaled by the log of the combination's count)."""
    profiles: bool = False
    """Known users: load the history recommender in ``rec.out`` so that a session with a user
    id (``vlrec chat --user ID``, the API's ``user`` field) is ranked with that user's taste.
    The catalogue must hold the history data's items (``vlrec train rec`` indexes them as
    ``rec-<data folder name>``)."""
    profile_weight: float = 0.1
    """Rerank bonus per standard deviation of the user's history score for an item."""
    profile_candidates: int = 30
    """The user's best-scored unseen catalogue items joined to the retrieved candidates."""

    def __post_init__(self) -> None:
        check(1 <= self.k <= 50, "agent.k", "must be in [1, 50]")
        check(self.candidates >= self.k, "agent.candidates", "must be >= agent.k")


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


class Vocabulary:
    """The catalogue's attribute values, matched against shopper text (longest phrase first)."""

    def __init__(self, metadatas: list[dict]):
        self.values: dict[str, set[str]] = {f: set() for f in FIELDS}
        for meta in metadatas:
            for f in FIELDS:
                v = meta.get(f)
                if isinstance(v, str) and v.strip():
                    self.values[f].add(v)
        phrases: dict[str, tuple[str, str]] = {}
        for f in ("articleType", "baseColour", "usage", "season"):
            for v in self.values[f]:
                for form in _forms(v, f):
                    phrases.setdefault(form, (f, v))
        if self.values["gender"]:
            for word, g in _GENDER_WORDS.items():
                if g in self.values["gender"]:
                    phrases.setdefault(word, ("gender", g))
        self.phrases = sorted(phrases.items(), key=lambda kv: -len(kv[0]))

    def match(self, text: str) -> dict[str, str]:
        """Attribute values named in ``text``; a later mention of a field wins."""
        low = " " + re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("t-shirt", "tshirt")) + " "
        for a, b in _COLOUR_ALIASES.items():
            low = low.replace(f" {a} ", f" {b} ")
        found: list[tuple[int, str, str]] = []
        taken = [False] * len(low)
        for phrase, (f, v) in self.phrases:
            for m in re.finditer(rf"(?<= ){re.escape(phrase)}(?= )", low):
                if any(taken[m.start() : m.end()]):
                    continue
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), f, v))
        out: dict[str, str] = {}
        for _, f, v in sorted(found):
            out[f] = v
        return out


def _forms(value: str, fieldname: str) -> set[str]:
    v = re.sub(r"[^a-z0-9 ]", " ", value.lower()).strip()
    v = re.sub(r"\s+", " ", v)
    forms = {v}
    if fieldname == "articleType":
        if v.endswith("es") and not v.endswith("shoes"):
            forms.add(v[:-2])
        if v.endswith("s"):
            forms.add(v[:-1])
        if v.startswith("tshirt"):
            forms |= {"t shirt", "t shirts", "tee", "tees"}
    if fieldname == "baseColour" and v == "grey":
        forms.add("gray")
    return {f for f in forms if len(f) >= 3}


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


class Agent:
    """Recommends from one indexed catalogue; a :class:`Session` holds each conversation."""

    def __init__(
        self, cfg: AgentConfig, searcher, vlm=None, log=None, profiles=None, reader=None, intent=None,
        words=None,
    ):  # fmt: skip
        self.cfg = cfg
        self.searcher = searcher
        self.vlm = vlm
        self.reader = reader
        self.intent = intent
        """:class:`vlrec.adapters.intent.IntentModel` (agent.intent=lm), or ``None``."""
        self.words = words
        """:class:`vlrec.retrieval.words.WordsIndex` over the catalogue's item documents (agent.words)."""
        """:class:`vlrec.adapters.reader.AttributeReader` when the VLM has attribute heads."""
        self.profiles = profiles
        """:class:`vlrec.rec.recommender.Profiles` of known users, or ``None``."""
        fused = searcher.cols["fused"]
        got = fused.get(include=["metadatas"])
        self.items = {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])}
        self.vocab = Vocabulary(list(self.items.values()))
        self._count_combos()
        if self.words is not None:
            self.words.sync(self.items)

    def _count_combos(self) -> None:
        self.combos = Counter(_combo(m) for m in self.items.values())
        self._log_max = math.log(max(self.combos.values(), default=1) + 1)

    def session(self, user: str | None = None) -> Session:
        return Session(self, user)

    # --- understanding ------------------------------------------------------------------

    def refresh(self, ids: list[str] | None = None) -> None:
        """Re-read catalogue records after items were added, changed or deleted.

        ``ids``: only these items (deleted ones disappear); ``None``: the whole catalogue.
        """
        fused = self.searcher.cols["fused"]
        if ids is None:
            got = fused.get(include=["metadatas"])
            self.items = {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])}
        else:
            for i in ids:
                self.items.pop(i, None)
            for b in range(0, len(ids), 5000):
                got = fused.get(ids=list(ids[b : b + 5000]), include=["metadatas"])
                self.items.update({i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])})
        self.vocab = Vocabulary(list(self.items.values()))
        self._count_combos()
        if self.words is not None:
            self.words.sync(self.items, ids)

    def see(self, images: list[Any]) -> list[Sight]:
        """What the VLM reads off each photo (one batched pass; the server batches across sessions)."""
        if not images:
            return []
        if self.reader is not None:
            from vlrec.adapters.reader import describe_guesses

            out = []
            for guesses in self.reader.read(images):
                stated = {
                    f: g.value
                    for f, g in guesses.items()
                    if g.stated and g.value in self.vocab.values.get(f, ())
                }
                out.append(
                    Sight(
                        describe_guesses(guesses),
                        stated,
                        {f: {"value": g.value, "confidence": round(g.confidence, 3), "stated": g.stated}
                         for f, g in guesses.items()},
                        {f: dict(g.top) for f, g in guesses.items()},
                    )
                )  # fmt: skip
            return out
        from vlrec.data.vlm_tasks import DESCRIBE_QUESTION

        texts = self.vlm.ask(list(images), [DESCRIBE_QUESTION] * len(images))
        return [Sight(t, self.vocab.match(t or "")) for t in texts]

    def describe(self, image: Any) -> Sight | None:
        if self.vlm is None or not self.cfg.describe_images:
            return None
        return self.see([image])[0]

    def lm_intent(self, session: Session):
        """The intent LM's reading of the conversation's text turns (an :class:`vlrec.adapters.intent.Intent`),
        its article type weighed with the kinds of the request's nearest catalogue items."""
        from vlrec.adapters.intent import with_vote

        turns = [
            (t.role, t.text if t.role == "user" else _seller_summary(t)) for t in session.turns if t.text
        ]
        reading = self.intent.readings([turns[-6:]], allowed=self.vocab.values)[0]
        d = self.intent.decoding
        if self.words is not None and d.vote_weight > 0:
            vote = self.kind_vote(self._request_text(session), d.vote_k)
            reading = with_vote(reading, "articleType", vote, d.vote_weight)
        intent = self.intent.decode(reading)
        last = next((t.text for t in reversed(session.turns) if t.role == "user" and t.text), "")
        return guard_negations(intent, negated(last, self.vocab))

    def kind_vote(self, text: str, k: int) -> dict[str, int]:
        """How many of the ``k`` items nearest to ``text`` by their own words (dense and BM25, fused
        by rank) are of each article type."""
        if self.words is None or not text:
            return {}
        near = rrf([[h.id for h in self.words.dense(text, k)], self.words.lexical(text, k)])
        top = sorted(near, key=lambda i: -near[i])[:k]
        return dict(
            Counter(self.items[i]["articleType"] for i in top if self.items.get(i, {}).get("articleType"))
        )

    def _apply_intent(self, session: Session, text: str) -> dict[str, str]:
        """Update the session's wants and exclusions from the intent LM; returns new single wants."""
        got = self.lm_intent(session)
        found: dict[str, str] = {}
        for f, values in got.unsure.items():
            session.leanings[f] = dict(values)
        for f, values in got.want.items():
            session.leanings.pop(f, None)
            if len(values) == 1:
                found[f] = next(iter(values))
                session.options.pop(f, None)
            else:
                session.constraints.pop(f, None)
                session.options[f] = dict(values)
        for f, values in got.avoid.items():
            session.avoid[f] = list(values)
        for f in list(session.avoid):
            if f not in got.avoid:
                del session.avoid[f]
        # exact catalogue words fill what the LM left open or unsure, unless the shopper excluded them
        for f, v in self.vocab.match(text).items():
            if f not in got.want and v not in session.avoid.get(f, ()) and f not in session.options:
                found[f] = v
                session.leanings.pop(f, None)
        for f, v in found.items():
            if v in session.avoid.get(f, ()):
                session.avoid[f] = [x for x in session.avoid[f] if x != v]
                if not session.avoid[f]:
                    del session.avoid[f]
        return found

    def _ordinal(self, text: str, session: Session) -> Recommendation | None:
        low = text.lower()
        for word, idx in _ORDINALS.items():
            if re.search(rf"\b{word}\b", low) and session.last:
                if -len(session.last) <= idx < len(session.last):
                    return session.last[idx]
        return None

    def update(self, session: Session, text: str, image: Any, description: Sight | str | None = None) -> None:
        """Apply one turn's refinements to the session state."""
        low = text.lower()
        ref = self._ordinal(text, session)
        if re.search(r"\b(not (this|that|these|those|it)|don'?t like|no,? not|not the)\b", low):
            target = (
                [ref] if ref else session.last[:1] if re.search(r"\b(this|that|it)\b", low) else session.last
            )
            for r in target:
                if r.id not in session.rejected:
                    session.rejected.append(r.id)
            if session.anchor in session.rejected:
                session.anchor = None
        elif ref is not None and re.search(r"\b(like|similar|more|love)\b", low):
            session.anchor = ref.id
            if ref.id not in session.liked:
                session.liked.append(ref.id)
        if re.search(r"\bany (colou?r)\b", low) and not re.search(r"\b(but|except|other than)\b", low):
            session.constraints.pop("baseColour", None)
            session.avoid.pop("baseColour", None)
        session.notes = []
        if re.search(r"\b(cheaper|less expensive|lower price|too expensive)\b", low):
            prices = [_price(r.metadata) for r in session.last]
            prices = [p for p in prices if p is not None]
            if prices:
                session.price_below = sum(prices) / len(prices)  # below the average shown
            else:
                session.notes.append("This catalogue lists no prices, so I can't look for cheaper items.")
        if image is not None:
            session.image = image
            session.anchor = None
            sight = description if description is not None else self.describe(image)
            if isinstance(sight, str):
                sight = Sight(sight, self.vocab.match(sight))
            session.image_description = sight.description if sight else None
            session.image_attrs = dict(sight.attributes) if sight else {}
            session.image_guesses = dict(sight.guesses) if sight else {}
            session.image_likely = dict(sight.likely) if sight else {}
        if self.cfg.intent == "lm" and self.intent is not None and text:
            found = self._apply_intent(session, text)
        else:
            found = self.vocab.match(text)
        if "articleType" in found and found["articleType"] != session.constraints.get("articleType"):
            session.anchor = None if image is None and ref is None else session.anchor
        session.constraints.update(found)
        leftover = _strip_known(text, self.vocab)
        if leftover:
            session.words = leftover

    def query_text(self, session: Session) -> str:
        c = dict(session.constraints)
        photo = session.image is not None and session.anchor is None
        if self.reader is not None and self.cfg.seen_in_query and photo:
            c = {**session.image_attrs, **c}  # the shopper's words win over what the photo shows
        parts = [c.get("baseColour", ""), c.get("usage", ""), c.get("articleType", "")]
        q = " ".join(p.lower() for p in parts if p)
        if "gender" in c:
            q += f" for {c['gender'].lower()}"
        if session.image_description and not q and self.reader is None:
            q = session.image_description  # a VLM without heads: its free description
        return (q or session.words or "").strip()

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
        items, relaxed = self.retrieve(session)
        history = self.profiles.history_titles(session.user) if session.user is not None else None
        items, dropped = verify(items, self.items, history)
        session.last = items
        for r in items:
            if r.id not in session.shown:
                session.shown.append(r.id)
        text_out = render_reply(items, session.constraints, relaxed, self.query_text(session))
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

    def retrieve(self, session: Session) -> tuple[list[Recommendation], list[str]]:
        """Candidates under the hard constraints (relaxed one by one while none match), reranked."""
        hard: dict[str, Any] = dict(session.constraints)  # the shopper's words filter; the photo's rerank
        if (
            self.reader is not None
            and self.cfg.seen_filter
            and session.image is not None
            and session.anchor is None
        ):
            hard = {**session.image_attrs, **hard}
        for f, values in session.options.items():
            if f not in hard:
                hard[f] = {"$in": list(values)}
        for f, values in session.avoid.items():
            hard[f"!{f}"] = {"$nin": list(values)}
        if session.price_below is not None:
            hard["price"] = {"$lt": session.price_below}
        exclude = list(dict.fromkeys(session.shown + session.rejected))
        if session.user is not None:  # what the user already has is not recommended again
            exclude += [i for i in self.profiles.seen(session.user) if i in self.items]
        text = self.query_text(session) or None
        image = session.image if session.anchor is None else None
        request = self._request_text(session) if session.anchor is None else ""
        n = max(self.cfg.candidates, session.k or 0)
        relaxed: list[str] = []
        order = ["price", "usage", "season", "baseColour", "gender", "articleType"]
        order = [k for k in order if k in hard] + [k for k in hard if k.startswith("!")]
        while True:
            where = _where(hard)
            if session.anchor is not None:
                hits = self.searcher.search(item_id=session.anchor, k=n, where=where, exclude=exclude)
            elif text is None and image is None and not request:
                hits = []
            else:
                hits = self._search(text, image, request, n, where, exclude)
            if hits or not order:
                break
            dropped_key = order.pop(0)
            relaxed.append(dropped_key.lstrip("!"))
            hard.pop(dropped_key)
        wishes = {**session.image_attrs, **session.constraints}
        if session.profile:
            hits = self._with_profile(session, hits, where, set(exclude))
        return self.rerank(hits, wishes, session.k, session), relaxed

    def _request_text(self, session: Session) -> str:
        """The shopper's own words of the latest text turns (the words paths' query)."""
        said = [t.text for t in session.turns if t.role == "user" and t.text][-3:]
        return " ".join(said).strip()

    def _search(self, text, image, request: str, n: int, where, exclude) -> list:
        """The aligned-space search, fused by reciprocal rank with the words paths for a text request."""
        from vlrec.retrieval.store import Hit

        hits = (
            self.searcher.search(text=text, image=image, k=n, where=where, exclude=exclude)
            if (text or image is not None)
            else []
        )
        if self.words is None or not self.cfg.words or not request:
            return hits
        query = f"{request} {text or ''}".strip()
        lists = [[h.id for h in hits]] if hits else []
        weights = [1.0] if hits else []
        for ranked in (
            [h.id for h in self.words.dense(query, n, where, exclude)],
            self.words.lexical(query, n, where, exclude),
        ):
            if ranked:
                lists.append(ranked)
                weights.append(self.cfg.words_weight)
        fused = rrf(lists, weights, self.cfg.rrf_k)
        best = sum(weights) / (self.cfg.rrf_k + 1)
        ranked = sorted(fused, key=lambda i: -fused[i])[:n]
        return [Hit(i, fused[i] / best, 1.0 - fused[i] / best, self.items.get(i, {}), None) for i in ranked]

    def _with_profile(self, session: Session, hits: list, where: dict | None, exclude: set[str]) -> list:
        """Join the user's best-scored catalogue items that pass the filters to the candidates
        (at the weakest retrieved score, so the profile bonus decides whether they rise)."""
        from vlrec.retrieval.store import Hit

        have = {h.id for h in hits}
        floor = min((h.score for h in hits), default=0.0)
        extra = []
        for item in session.profile_ranked:
            if len(extra) >= self.cfg.profile_candidates:
                break
            meta = self.items.get(item)
            if meta is None or item in have or item in exclude or not _passes(meta, where):
                continue
            extra.append(Hit(item, floor, 1.0 - floor, meta, None))
        return list(hits) + extra

    def rerank(
        self, hits, constraints: dict[str, str], k: int | None = None, session: Session | None = None
    ) -> list[Recommendation]:
        k = k or self.cfg.k
        profile = session.profile if session is not None else {}
        soft = self._soft_wishes(session) if session is not None and self.cfg.seen_weight else {}
        leanings = {}
        if session is not None and self.cfg.intent_weight:
            leanings = {f: d for f, d in session.leanings.items()
                        if f not in session.constraints and f not in session.options}  # fmt: skip
        scored = []
        for h in hits:
            bonus = sum(self.cfg.constraint_weight for k, v in constraints.items() if h.metadata.get(k) == v)
            if self.cfg.typicality:
                count = self.combos.get(_combo(self.items.get(h.id, h.metadata)), 0)
                bonus += self.cfg.typicality * math.log(count + 1) / self._log_max
            if profile:
                bonus += self.cfg.profile_weight * profile.get(h.id, 0.0)
            if soft:
                bonus += self.cfg.seen_weight * sum(d.get(h.metadata.get(f), 0.0) for f, d in soft.items())
            if leanings:
                bonus += self.cfg.intent_weight * sum(
                    d.get(h.metadata.get(f), 0.0) for f, d in leanings.items()
                )
            scored.append((h.score + bonus, h))
        scored.sort(key=lambda x: -x[0])
        chosen: list[tuple[float, Any]] = []
        pool = list(scored)
        while pool and len(chosen) < k:
            best = max(
                pool,
                key=lambda sh: (
                    sh[0]
                    - self.cfg.diversity
                    * sum(
                        1
                        for _, c in chosen
                        if (c.metadata.get("articleType"), c.metadata.get("baseColour"))
                        == (sh[1].metadata.get("articleType"), sh[1].metadata.get("baseColour"))
                    )
                ),
            )
            pool.remove(best)
            chosen.append(best)
        return [self._rec(h, constraints, s, session) for s, h in chosen]

    def _soft_wishes(self, session: Session) -> dict[str, dict[str, float]]:
        """Fields the shopper's words did not set, as value probabilities the rerank rewards:
        what the photo probably shows, or after "more like this one", that item's kind."""
        if session.anchor is not None:
            kind = self.items.get(session.anchor, {}).get("articleType")
            return {"articleType": {kind: 1.0}} if kind and "articleType" not in session.constraints else {}
        if session.image is None:
            return {}
        return {f: d for f, d in session.image_likely.items() if f not in session.constraints}

    def _rec(
        self, hit, constraints: dict[str, str], score: float | None = None, session: Session | None = None
    ) -> Recommendation:
        meta = self.items.get(hit.id, hit.metadata)
        why = reason(meta, constraints)
        if session is not None and session.profile.get(hit.id, 0.0) > 1.0:
            liked = self.profiles.because(session.user, hit.id)
            why += f"{_LIKED}{liked}" if liked else _FITS
        return Recommendation(
            hit.id,
            str(meta.get("title", "")),
            why,
            score if score is not None else hit.score,
            meta,
        )


def _combo(meta: dict) -> tuple:
    return tuple(meta.get(f) for f in FIELDS)


def _price(meta: dict) -> float | None:
    try:
        return float(meta["price"])
    except (KeyError, TypeError, ValueError):
        return None


def _where(hard: dict[str, Any]) -> dict | None:
    """A Chroma filter from hard constraints (keys ``!field`` hold a field's exclusions)."""
    parts = [{k.lstrip("!"): v if isinstance(v, dict) else {"$eq": v}} for k, v in hard.items()]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


_NEGATION = {"not", "no", "never", "without", "except", "but", "avoid", "hate", "isnt", "arent", "dont",
             "doesnt", "nothing", "skip", "nor", "besides", "minus"}  # fmt: skip
_SCOPE_BREAK = re.compile(r"[,.;:!?()\u2014\u2013]|\s-\s")


def negated(text: str, vocab: Vocabulary, reach: int = 4) -> dict[str, set[str]]:
    """Colours and kinds the shopper rules out in ``text``: a catalogue value (or an everyday colour
    word) within ``reach`` words after a negation ("not", "no", "anything but", "isn't", "except"),
    in the same clause ("no black or grey", "anything but beige", "a rucksack that isn't black")."""
    from vlrec.data.lexicon import COLOURS

    words = {
        w: v for v, ws in COLOURS.items() for w in ws if " " not in w and v in vocab.values["baseColour"]
    }
    out: dict[str, set[str]] = {}
    for clause in _SCOPE_BREAK.split(text.lower().replace("'", "").replace("\u2019", "")):
        tokens = clause.split()
        for i, tok in enumerate(tokens):
            if re.sub(r"[^a-z]", "", tok) not in _NEGATION:
                continue
            window = " ".join(tokens[i + 1 : i + 1 + reach])
            for f, v in vocab.match(window).items():
                if f in ("baseColour", "articleType"):
                    out.setdefault(f, set()).add(v)
            for w in re.findall(r"[a-z]+", window):
                if w in words:
                    out.setdefault("baseColour", set()).add(words[w])
    return out


def guard_negations(intent, ruled_out: dict[str, set[str]]):
    """An intent in which nothing the shopper ruled out is wanted, and all of it is excluded."""
    for f, values in ruled_out.items():
        for group in (intent.want, intent.unsure):
            if f in group:
                group[f] = {v: p for v, p in group[f].items() if v not in values}
                if not group[f]:
                    del group[f]
        intent.avoid[f] = {**intent.avoid.get(f, {}), **dict.fromkeys(values, 1.0)}
    return intent


def _strip_known(text: str, vocab: Vocabulary) -> str:
    words = re.sub(r"[^\w\s'-]", " ", text).split()
    stop = {"i", "a", "an", "the", "for", "in", "me", "show", "want", "need", "some", "something", "please",
            "looking", "am", "i'm", "im", "do", "you", "have", "any", "like", "this", "that", "one", "but",
            "instead", "and", "with", "to", "of", "it", "more", "not", "no"}  # fmt: skip
    keep = [w for w in words if w.lower() not in stop and not vocab.match(w)]
    return " ".join(keep)


def reason(meta: dict, constraints: dict[str, str]) -> str:
    """One line from the item's own attributes, naming which wishes it meets."""
    desc = " ".join(str(meta[k]).lower() for k in ("baseColour", "articleType") if meta.get(k))
    if not desc and meta.get("genres"):  # a catalogue of films (``vlrec train rec`` indexes them)
        desc = str(meta["genres"]).lower().replace(" ", ", ")
    if meta.get("gender"):
        desc += f" for {str(meta['gender']).lower()}"
    if meta.get("usage"):
        desc += f", {str(meta['usage']).lower()}"
    met = [str(v).lower() for k, v in constraints.items() if meta.get(k) == v]
    return desc + (f"; matches {', '.join(met)}" if met else "")


_LIKED, _FITS = "; you liked ", "; fits your history"


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


def render_reply(items: list[Recommendation], constraints: dict, relaxed: list[str], query: str) -> str:
    if not items:
        return "I found nothing in the catalogue for that yet. Tell me what you are looking for, or send a photo."
    wish = query or "your photo"
    wish = wish if wish.startswith("for ") else f"for {wish}"  # "for men", not "for for men"
    lines = [f"Here {'is' if len(items) == 1 else 'are'} {len(items)} from the catalogue {wish}:"]
    if relaxed:
        lines[0] = f"Nothing matched every wish, so I relaxed {', '.join(relaxed)}. " + lines[0]
    lines += [f"{i}. {r.title} (id {r.id}) - {r.reason}" for i, r in enumerate(items, 1)]
    return "\n".join(lines)


def _seller_summary(turn: Turn) -> str:
    """An assistant turn as the intent LM reads it: what was shown, not the whole list."""
    return f"Here are {len(turn.items)} items." if turn.items else turn.text.split("\n", 1)[0][:200]


def make_reader(vlm, searcher, cfg: AgentConfig):
    """The VLM's attribute reader over the served catalogue's image collection (its datastore),
    or None for a VLM without attribute heads."""
    if vlm is None or getattr(vlm, "heads", None) is None:
        return None
    from vlrec.adapters.reader import AttributeReader
    from vlrec.retrieval.datastore import ChromaDatastore

    datastore = ChromaDatastore(searcher.store, searcher.cols["image"])
    return AttributeReader(vlm, datastore, searcher.embedder.image_vectors, cfg.read_k)


def load_agent(cfg, with_vlm: bool = True) -> Agent:
    """The agent of a root config over the indexed catalogue ``cfg.agent.catalog``.

    The VLM shares the embedder's vision encoder (one Lite0 in memory).
    """
    from vlrec.retrieval.embedder import load_embedder
    from vlrec.retrieval.search import Searcher
    from vlrec.retrieval.store import Store

    embedder = load_embedder(cfg)
    searcher = Searcher(Store(cfg.store), embedder, cfg.agent.catalog)
    vlm = None
    if with_vlm and (cfg.agent.describe_images or cfg.agent.intent == "lm"):
        from vlrec.adapters.vlm import load_vlm

        vlm = load_vlm(cfg, with_vision=False)
        vlm.vision = embedder.vision
    reader = make_reader(vlm, searcher, cfg.agent) if cfg.agent.describe_images else None
    profiles = None
    if cfg.agent.profiles:
        from vlrec.rec.recommender import Profiles

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
