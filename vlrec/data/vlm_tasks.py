"""Training and evaluation tasks for the VLM, built from the data in ../shared/data.

Every task yields :class:`Sample` rows: an image (or none), the user's text, the
answer the model should write, and the facts the answer came from (for scoring).

- ``caption``: Flickr8k photo -> one of its five human captions.
- ``vqa``: fashion product photo -> a question about one attribute (article type,
  colour, gender, usage) -> the catalogue's value; ``describe`` asks for all of them.
- ``intent``: a short shopper conversation (text) -> a JSON line with a standalone
  search ``query`` plus constraints keyed by catalogue field; built from fashion
  attributes (with refinements such as "for women instead") and from ReDial dialogues.

Fashion items are split by a hash of their id: ``held_out`` items (about 10 %) never
appear in training, so Q&A and intent scores are on unseen products.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from vlrec.core.jsonl import read_jsonl
from vlrec.data.captions import read_caption_file
from vlrec.data.lexicon import GENDER_NOUNS

ATTRIBUTES = ("articleType", "baseColour", "gender", "usage")
QUESTIONS: dict[str, list[str]] = {
    "articleType": ["What type of product is this?", "What kind of item is this?", "What is this?"],
    "baseColour": ["What colour is it?", "What is the main colour?", "Which colour is this item?"],
    "gender": ["Who is it for?", "Is it for men or women?", "Which gender is it made for?"],
    "usage": ["What occasion is it for?", "What is it used for?", "Is it casual, formal or sports wear?"],
}
"""Question phrasings per attribute; the first of each is the evaluation question."""
CAPTION_QUESTION = "Describe the image in one sentence."
DESCRIBE_QUESTION = "Describe this product."
INTENT_QUESTION = "Write the shopper's request as a search query with constraints."
GENRES = (
    "comedy", "horror", "action", "drama", "romance", "romantic", "thriller", "sci-fi", "science fiction",
    "animated", "animation", "documentary", "musical", "fantasy", "mystery", "western", "war", "crime",
    "family", "superhero", "adventure",
)  # fmt: skip


@dataclass
class Sample:
    task: str
    question: str
    answer: str
    image: str | None = None
    facts: dict = field(default_factory=dict)


def held_out(item_id: str, percent: int = 10) -> bool:
    """Whether a catalogue item belongs to the evaluation split (stable across runs)."""
    return int(hashlib.sha1(str(item_id).encode()).hexdigest()[:8], 16) % 100 < percent


def split_of(item_id: str) -> str:
    """``train``, ``dev`` or ``test`` for a catalogue item (stable across runs).

    The held-out 10 % (:func:`held_out`; never trained on by any vlrec model, the alignment
    head included) is halved by a second hash: ``dev`` chooses settings (fusion weights,
    gates), ``test`` is reported.
    """
    if not held_out(item_id):
        return "train"
    return "dev" if int(hashlib.sha1(str(item_id).encode()).hexdigest()[8:16], 16) % 2 == 0 else "test"


def caption_samples(path: str | Path, per_image: int = 5, seed: int = 0) -> list[Sample]:
    """Flickr8k-format file -> (image, caption) samples, ``per_image`` captions each."""
    images, captions, owner = read_caption_file(path)
    by_image: dict[int, list[str]] = {}
    for cap, i in zip(captions, owner.tolist()):
        by_image.setdefault(i, []).append(cap)
    rng = random.Random(seed)
    out = []

    for i, image in enumerate(images):
        caps = by_image[i]
        for cap in rng.sample(caps, min(per_image, len(caps))):
            out.append(Sample("caption", CAPTION_QUESTION, _clean_caption(cap), str(image), {"refs": caps}))
    return out


def _clean_caption(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    text = re.sub(r"\s+([.,!?])", r"\1", text).rstrip(" .")
    return text[:1].upper() + text[1:] + "." if text else text


def read_fashion(path: str | Path) -> list[dict]:
    """Fashion catalogue rows with ``image`` resolved against the file's folder."""
    path = Path(path)
    rows = []
    for _, row, _ in read_jsonl(path):
        if not all(row.get(k) for k in ("id", "image", *ATTRIBUTES)):
            continue  # an item without the attributes cannot make a question
        row["image"] = str(path.parent / row["image"])
        rows.append(row)
    return rows


def describe(row: dict) -> str:
    """One-sentence product description from its attributes (the ``describe`` answer)."""
    return f"{row['baseColour']} {row['articleType']} for {row['gender']}, {row['usage']} wear."


def vqa_samples(rows: list[dict], split: str, seed: int = 0, describe_share: float = 0.2) -> list[Sample]:
    """Attribute questions about fashion photos. ``split``: train (varied phrasings,
    every attribute) or eval (the first phrasing, every attribute, held-out items)."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        if held_out(row["id"]) != (split == "eval"):
            continue
        facts = {k: row[k] for k in ATTRIBUTES} | {"id": row["id"]}
        for attr in ATTRIBUTES:
            q = QUESTIONS[attr][0] if split == "eval" else rng.choice(QUESTIONS[attr])
            out.append(Sample("vqa", q, row[attr], row["image"], facts | {"attribute": attr}))
        if split == "train" and rng.random() < describe_share:
            out.append(Sample("vqa", DESCRIBE_QUESTION, describe(row), row["image"], facts))
    return out


# --- intent ----------------------------------------------------------------------------

_ASK = ["I'm looking for {t}.", "Do you have {t}?", "Show me {t}.", "I need {t}.", "Any {t}?"]
_COLOUR = ["In {c}, please.", "Something in {c}.", "I'd like it in {c}.", "{c} would be nice."]
_GENDER = ["It's for {g}.", "For {g}.", "These are for {g}."]
_USAGE = ["For {u} use.", "Something {u}.", "I need it for {u} occasions."]
_SWITCH = ["Actually, for {g} instead.", "Change that to {g}, please."]
_REPLIES = ["Sure, here are a few options.", "Here is what I found.", "Any preference on colour?"]


def intent_json(query: str, constraints: dict) -> str:
    return json.dumps({"query": query, **constraints}, ensure_ascii=False)


def parse_intent(text: str) -> dict | None:
    """The JSON object a model wrote (first ``{...}``), or None if it wrote none."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("query"), str) else None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_conversation(turns: list[tuple[str, str]]) -> str:
    """A conversation as plain lines ``Shopper: ...`` / ``Seller: ...`` (the intent input)."""
    return "\n".join(f"{'Shopper' if role == 'user' else 'Seller'}: {text}" for role, text in turns)


def fashion_intent(row: dict, rng: random.Random) -> Sample:
    """A 1-3 turn shopper conversation about ``row``'s attributes and its intent JSON."""
    t = row["articleType"].lower()
    c, g, u = row["baseColour"], row["gender"], row["usage"]
    reveal = [a for a in ("baseColour", "gender", "usage") if rng.random() < 0.6]
    rng.shuffle(reveal)
    constraints = {"articleType": row["articleType"]}
    turns = [("user", rng.choice(_ASK).format(t=t))]
    first_gender = None
    if "gender" in reveal and rng.random() < 0.3:
        # Refinement: first the wrong gender, then a switch.
        first_gender = rng.choice([x for x in GENDER_NOUNS if x != g])
        turns[0] = ("user", turns[0][1][:-1] + f" for {GENDER_NOUNS[first_gender]}.")
    for attr in reveal:
        turns.append(("assistant", rng.choice(_REPLIES)))
        if attr == "baseColour":
            turns.append(("user", _sentence(rng.choice(_COLOUR).format(c=c.lower()))))
            constraints["baseColour"] = c
        elif attr == "gender":
            template = _SWITCH if first_gender else _GENDER
            turns.append(("user", rng.choice(template).format(g=GENDER_NOUNS[g])))
            constraints["gender"] = g
        else:
            turns.append(("user", _sentence(rng.choice(_USAGE).format(u=u.lower()))))
            constraints["usage"] = u
    words = [constraints.get("baseColour", "").lower(), constraints.get("usage", "").lower(), t]
    if "gender" in constraints:
        words.append(f"for {GENDER_NOUNS[g]}")
    query = " ".join(w for w in words if w)
    facts = {"id": row["id"], "constraints": constraints, "query": query}
    return Sample(
        "intent",
        render_conversation(turns) + "\n" + INTENT_QUESTION,
        intent_json(query, constraints),
        None,
        facts,
    )


def fashion_intent_samples(rows: list[dict], split: str, n: int, seed: int = 0) -> list[Sample]:
    pool = [r for r in rows if held_out(r["id"]) == (split == "eval")]
    rng = random.Random(seed)
    return [fashion_intent(rng.choice(pool), rng) for _ in range(n)]


def redial_intent_samples(path: str | Path, max_messages: int = 8) -> list[Sample]:
    """ReDial dialogues -> seeker conversation -> {query, genre, liked}.

    ``liked`` holds movies the seeker mentioned and said they liked; ``genre`` the genre
    words the seeker used. Dialogues with neither are skipped.
    """
    out = []
    for _, d, _ in read_jsonl(path):
        titles = {k: re.sub(r"\s+", " ", v).strip() for k, v in (d.get("movieMentions") or {}).items() if v}
        seeker = d["initiatorWorkerId"]
        asked = d.get("initiatorQuestions") or {}
        turns, liked, genres = [], [], []
        for m in d["messages"][:max_messages]:
            text = re.sub(r"@(\d+)", lambda x, t=titles: t.get(x.group(1), "a movie"), m["text"])[:160]
            role = "user" if m["senderWorkerId"] == seeker else "assistant"
            turns.append((role, text))
            if role == "user":
                for mid in re.findall(r"@(\d+)", m["text"]):
                    q = asked.get(mid) or {}
                    if mid in titles and q.get("liked") == 1 and q.get("suggested") == 0:
                        if titles[mid] not in liked:
                            liked.append(titles[mid])
                low = text.lower()
                for genre in GENRES:
                    if re.search(rf"\b{re.escape(genre)}", low) and genre not in genres:
                        genres.append(genre)
        if not liked and not genres:
            continue
        constraints: dict = {}
        if genres:
            constraints["genre"] = genres
        if liked:
            constraints["liked"] = liked
        query = (" ".join(genres) + " movies" if genres else "movies") + (
            " like " + " and ".join(liked) if liked else ""
        )
        out.append(
            Sample(
                "intent",
                render_conversation(turns) + "\n" + INTENT_QUESTION,
                intent_json(query, constraints),
                None,
                {"constraints": constraints, "query": query, "source": "redial"},
            )
        )
    return out
