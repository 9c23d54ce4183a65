"""The catalogue's own words: which attribute values a shopper's text names, and which it rules out.

Against the served catalogue's attribute values (longest phrase first), so a field can only
ever be set to a value the store can filter on."""

from __future__ import annotations

import functools
import re
from collections import Counter

# Attributes a shopper can constrain, as catalogue metadata keys. A catalogue that
# lacks one simply never yields it.
FIELDS = ("articleType", "baseColour", "gender", "usage", "season")
CATEGORIES = ("subCategory", "masterCategory")  # wider than a kind: a filter where no kind is read


_GENDER_WORDS = {
    "men": "Men", "man": "Men", "mens": "Men", "male": "Men", "him": "Men", "gentlemen": "Men",
    "women": "Women", "woman": "Women", "womens": "Women", "female": "Women", "ladies": "Women",
    "lady": "Women", "her": "Women", "boys": "Boys", "boy": "Boys", "girls": "Girls", "girl": "Girls",
    "unisex": "Unisex", "kids": "Boys", "ladkiyon": "Women", "ladkiyo": "Women", "ladkon": "Men", "ladko": "Men",
}  # fmt: skip


_COLOUR_ALIASES = {"gray": "grey", "violet": "purple", "golden": "gold", "olive green": "olive", "army green": "olive",
                   "khaki green": "olive", "military green": "olive"}  # fmt: skip
"""Words read as another colour's name, where the catalogue has that colour ("olive green": olive)."""


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
        self._colour_names = {v.lower() for v in self.values["baseColour"]}

    def match(self, text: str) -> dict[str, str]:
        """Attribute values named in ``text``; a later mention of a field wins."""
        low = " " + re.sub(r"[^a-z0-9 ]", " ", skin_tight(text).lower().replace("t-shirt", "tshirt")) + " "
        for a, b in _COLOUR_ALIASES.items():
            if b in self._colour_names:
                low = low.replace(f" {a} ", f" {b} ")
        found: list[tuple[int, str, str]] = []
        taken = [False] * len(low)
        for phrase, (f, v) in self.phrases:
            for m in re.finditer(rf"(?<= ){re.escape(phrase)}(?= )", low):
                if any(taken[m.start() : m.end()]):
                    continue
                taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), f, v, phrase in _ITEM_COLOURS))
        if any(weak for *_, weak in found) and (
            any(f == "baseColour" and not weak for _, f, _, weak in found)
            or set(low.split()) & _plain_colour_words()
        ):  # "navy khakis": navy, not khaki
            found = [x for x in found if not x[3]]
        out: dict[str, str] = {}
        for _, f, v, _ in sorted(found):
            out[f] = v
        return out


@functools.lru_cache(maxsize=1)
def _plain_colour_words() -> frozenset:
    """Every one-word colour word of the lexicon but the item-colour words."""
    from vlrec.data.lexicon import COLOURS

    return frozenset(w for ws in COLOURS.values() for w in ws if " " not in w and "khaki" not in w)


_ITEM_COLOURS = {"khakis"}
"""Colour words that also name an item ("khakis": khaki trousers): the colour only where no other is named."""
_PLURAL_COLOURS = {"khaki", "white", "off white", "black", "grey", "blue", "red", "green", "pink", "brown", "purple",
                   "yellow", "orange", "maroon", "cream", "beige", "gold", "silver"}  # fmt: skip


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
    if fieldname == "baseColour" and v in _PLURAL_COLOURS:
        forms.add(v + "s")  # "cricket whites", "in reds or maroons" (not "khakis", an item)
    return {f for f in forms if len(f) >= 3}


NEGATION = {"not", "no", "never", "without", "except", "but", "avoid", "hate", "hates", "dislike",
            "dislikes", "isnt", "arent", "dont", "doesnt", "nothing", "skip", "nor", "besides", "minus"}  # fmt: skip
"""Words that rule out what follows them (apostrophes dropped: "isn't" is ``isnt``)."""


_NEGATING = re.compile(
    r"\b(?:can'?t|cannot|won'?t|couldn'?t|wouldn'?t)\s+(?:exactly\s+|really\s+)?(?:do|wear|stand|handle|bear|take|walk in)\b"
    r"(?!\s+(?:to|the|it|this|that|my|any|anything|without|much|more|long)\b)"
    r"|\b(?:don'?t|do not|doesn'?t|does not)\s+(?:want|wanna)\s+(?:to\s+)?(?:wear|buy|get|go for)\b"
    r"(?!\s+(?:(?:the|that|these|those|my|his|her|their|our|your)\s+)?(?:same|old|usual)\b)"
    r"|\bnever\s+(?:wants?\s+to|wanna|wanted\s+to)\s+(?:see|wear)\b(?!\s+(?:anything|any other|other)\b)"
    r"|\b(?:feet|toes|legs|knees)\s+(?:will|would)\s+(?:die|suffer)\s+in\b"
    r"|\b(?:is|are|am|im|i'm|she's|shes|he's|hes|they're|theyre)\s+(?:totally\s+|completely\s+|just\s+)?"
    r"(?:hopeless|useless|rubbish|terrible|awful|a disaster)\s+in\b"
    r"|\b(?:would|'d|d|will)\s+(?:literally\s+|actually\s+|honestly\s+)?(?:die|hate it|cringe)\s+if\s+"
    r"(?:i|we|you|u)\s+(?:got|get|bought|buy|gave|give)\s+(?:her|him|them|me)(?=\s+(?:anything|something)\b)"
    r"|\brefus(?:e|es|ed|ing)\s+to\s+(?:wear|carry|put on|be seen in)\b"
    r"(?!\s+(?:(?:the|that|these|those|my|his|her|their|our|your)\s+)?(?:same|old|usual)\b)"
    r"|\b(?:rather than|instead of|(?:has |have |is |'s |s )?gone off|went off"
    r"|(?:other than|apart from)(?!\s+(?:that|this|the price|price|size)\b))\b",
    re.IGNORECASE,
)
"""Phrases that rule out what follows them like "not" does: "she can't do heels any more", "he never
wants to see a button-down again", "my feet will die in heels", "boxers rather
than tight briefs", "a tote instead of a backpack", "she's gone off pink", "any colour other than / apart from black" (not
"other than that", "can't find black boots", "can't stand the heat", "can't wear anything but black":
"I refuse to wear a tie" rules out ties;
only verbs of wearing, right before what is worn); "she's hopeless in anything with a heel", "she'd
literally die if I got her anything pink" rule out what follows too."""


_REFUSED = re.compile(
    r"\b([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)\s*(?:[?!]+|\s[-\u2013\u2014]+|[\u2013\u2014]+)\s*"
    r"(?:actually\s+|wait\s+|hmm+\s+|on second thoughts?\s+)?(?:no way|nope|no thanks|no thank you|no chance|hell no|no)"
    r"(?=\s*(?:[.,;!]|$))",
    re.IGNORECASE,
)
"""A thing refused after it is named: "Heels? no way.", "leather?! nope" (the one or two words before
the question; the refusal ends its clause: not "black jeans! no way am I wearing blue"); "cufflinks? no,
he doesn't do cuffs", "tie - actually no, he never wears them" (taken back)."""


_EXCESS = re.compile(
    r"\b(?:(?:an?|the)\s+)?([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)\s+(?:feels?|seems?|is|are|would be|might be)\s+"
    r"(?:like\s+)?(?:a bit\s+|way\s+|just\s+)?(?:too much|overkill|over the top|a bit much)\b",
    re.IGNORECASE,
)
"""A thing named as too much: "a kurta feels like too much", "a bow tie would be overkill", "heels
feel like too much"; not a hedge or a question ("I don't think a suit would be overkill", "my
wife thinks a suit is overkill", "would a blazer be too much?")."""
_OUT = re.compile(
    r"\b([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)\s+(?:is|are)\s+(?:totally\s+|completely\s+|definitely\s+)?"
    r"(?:out(?=\s*(?:[,.;:!?]|$|for (?:her|him|me|them|us)\b|these days\b|completely\b|totally\b))|a no-go(?![\w-])"
    r"|a no(?![\w-])"
    r"|off the table|off limits)",
    re.IGNORECASE,
)
"""A thing ruled out after it is named: "heels are out for her now", "black is a no" (not "the sun
is out so ...", "he is out running", "the new black sneakers are out now", "a no-iron shirt"; nor
a person: "he is out for football")."""
_OUT_SUBJECT = {"he", "she", "they", "it", "we", "i", "you", "kids", "sun", "hes", "shes", "theyre"}


def _out(m: re.Match) -> str:
    said = m.group(1).lower().split()
    return m.group(0) if said[0] in _OUT_SUBJECT or said[-1] in _OUT_SUBJECT else f"not {m.group(1)}"


_NAHI = re.compile(
    r"\b((?:[a-z][a-z-]*\s+(?:ya|aur|or|and|n)\s+)?[a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)\s+"
    r"(?:(?:color|colour|rang|wala|wali|wale)\s+)?(?:(?:pasand|bilkul)\s+)?(?:nahi|nahin|na ho)\b"
    r"(?!\s+(?:hai\s+|ho\s+|mila\s+|mile\s+)?to\b)",
    re.IGNORECASE,
)
"""The Hindi way, the "not" after the thing: "black nahi", "jo brown na ho", "pink ya red nahi",
"black color pasand nahi" (its reach ends there: "black nahi white chahiye" wants white; not "black
nahi hai to navy chalega", if there is no black)."""
_HEDGE = re.compile(r"\b(?:think|thinks|thought|sure|wonder|wondering|says|said|reckon|reckons|worried|if)\b")


def _too_much(m: re.Match) -> str:
    before = SCOPE_BREAK.split(m.string[: m.start()])[-1]
    after = re.split(r"[.!;\n]", m.string[m.end() :])[0]
    if _HEDGE.search(before.lower()) or "?" in after or re.search(r"\bbut\b", after):
        return m.group(0)
    return f"not {m.group(1)}"


_ENOUGH = re.compile(
    r"(?:\b(?:he|she|they|i|we)(?:'s|'ve|s|ve)?\s+|\balready\s+)(?:has|have|owns?|got)\s+(?:already\s+)?"
    r"(?:(?:like|about|around|maybe|over|at least)\s+)?"
    r"(?:enough|plenty of|loads of|lots of|tons of|a lot of|so many|too many|a bunch of|a few|a couple of"
    r"|a dozen|[2-9]|\d\d+|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"((?:[a-z][a-z-]*\s+){0,2}?[a-z][a-z-]*)\s*[,.;\u2026]*\s*(?:so\s+|and\s+)?"
    r"(?=(?:anything|something)\s+else\b"
    r"(?!\s+(?:to go|to match|to wear with|to pair|that goes|that matches|with them|with it|for them)\b))",
    re.IGNORECASE,
)
"""What the shopper says someone has plenty of before asking for something else is ruled out: "she
already has like 5 handbags so anything else", "he has enough ties, something else" (not "she has a
red saree, something else to go with it", "do you have black sneakers, anything else?")."""
_PLENTY = re.compile(
    r"(?:\b(?:he|she|they|i|we)(?:'s|'ve|s|ve)?\s+|\balready\s+)(?:has|have|owns?|got)\s+(?:already\s+)?"
    r"(?:more than\s+)?(?:enough|plenty of|loads of|tons of|so many|too many)\s+"
    r"(?!(?:those|these|them|that|it|ones?)\b)((?:[a-z][a-z-]*\s+){0,2}?[a-z][a-z-]*)(?=\s*(?:[.!;]|$))",
    re.IGNORECASE,
)
"""What someone has more than enough of, said at the end of a sentence, is ruled out too: "already
has enough timepieces", "she has loads of handbags." (not "he has 3 watches; wants a smart one",
"I have plenty of those.")."""
_ASIDE = re.compile(r"\b([a-z][a-z-]*)\s+aside\b(?!\s+(?:from|for)\b)", re.IGNORECASE)
"""A thing set aside after it is named: "gloves aside" (not "put some money aside for", "aside from")."""
_SEEN_TO = r"(?:\s+(?:is|are)|'s)?\s+(?:already\s+|all\s+)?"
_SEEN_END = r"(?=\s*(?:[,.;!\u2014-]|$)|\s+(?:now|so|already|thanks|but|and"
_SORTED = re.compile(
    rf"\b([a-z][a-z-]*){_SEEN_TO}sorted{_SEEN_END})\b)"
    rf"|\b([a-z][a-z-]*){_SEEN_TO}taken care of{_SEEN_END}|by)\b)"
    r"|\bgot (?:the |my |his |her |their )?([a-z][a-z-]*) sorted\b",
    re.IGNORECASE,
)
"""A thing the shopper has already seen to: "grey hoodie is sorted, now something for my head",
"I've got the dress sorted, need heels", "dress sorted, need heels" (not "the watches are sorted
cheapest first", "jeans are sorted into slim and skinny")."""
_LACK = re.compile(
    r"(?<!that )(?<!which )(?<!who )(?<!it )\b(?:don'?t|do not|doesn'?t|does not|didn'?t)\s+(?:even\s+|actually\s+|really\s+)?"
    r"(?:own|have|got)\b(?!\s+to\b)",
    re.IGNORECASE,
)
"""What the shopper lacks is no refusal: "I don't own a belt that goes with a suit" wants a belt (not
"doesn't have to be black", nor "a watch that doesn't have a black strap", "it doesn't have a black face")."""
_HAVE_NOTHING = re.compile(
    r"\b((?:i|we|he|she|they)(?:'ve|ve)?\s+(?:have|has|own|owns|got)(?:\s+got)?)\s+nothing\b"
    r"(?!\s+(?:but|except|other than|apart from)\b)",
    re.IGNORECASE,
)
"""A lack said with "nothing": "I have NOTHING desi that isn't heavy" wants something desi (not "he
owns nothing but black": all he has)."""
_BUT = re.compile(r"\bbut\b", re.IGNORECASE)
_BUT_AFTER = {"anything", "everything", "any", "all", "every", "whatever"}
"""A "but" rules out what follows where one of these comes at most three words before it in its
clause ("anything but beige", "any colour but black", "any shoes but heels", "anything else but
pink"); elsewhere it joins clauses ("navy would be perfect but any blue works")."""


_ONLY = re.compile(
    r"\b(?:never|don'?t|doesn'?t|won'?t|wouldn'?t|can'?t|couldn'?t|will not|does not|do not|refuses? to|hates?)\s+"
    r"(?:[a-z]+\s+){0,2}?(?:wear|wears|wearing|want|wants|like|likes|buy|buys|use|uses|carry|carries|see)\s+"
    r"(?:anything|any\s+[a-z]+|something)\s+(?:but|except|other than|apart from)\b",
    re.IGNORECASE,
)
"""A refusal of all but one thing: what follows is all that is wanted ("she never wants to wear
anything but black", "he won't wear anything but sneakers"): said as "wants only"."""


def set_aside(text: str, kinds) -> set[str]:
    """The kinds ``text`` says someone has plenty of (:data:`_ENOUGH`, :data:`_PLENTY`), sets aside
    (:data:`_ASIDE`), has seen to (:data:`_SORTED`) or refuses by where they are worn ("nothing
    that goes on my back"): ruled out as kinds, never a style of the item ("already has enough
    timepieces", "gloves aside", "grey hoodie is sorted")."""
    from vlrec.agent.kinds import body_kinds, lexicon_kinds

    text = re.sub("[\u2018\u2019\u00b4`]", "'", text)
    said = [m.group(1) for pattern in (_ENOUGH, _PLENTY, _ASIDE) for m in pattern.finditer(text)]
    said += [next(g for g in m.groups() if g) for m in _SORTED.finditer(text)]
    return {k for words in said for k in lexicon_kinds(words, kinds)} | set(
        body_kinds(text, kinds, refused=True)
    )


def _stem(word: str) -> str:
    return re.sub(r"(?:es|s)$", "", word.lower())


_NOT_A_NAME = {"they", "we", "it", "you", "wore", "wears", "got", "has", "have", "had", "owns", "was", "already", "hates",
               "hurt", "hurts", "owned", "bought", "gets"}  # fmt: skip
_VERB_AFTER = {
    "is",
    "are",
    "was",
    "were",
    "hurt",
    "hurts",
    "makes",
    "make",
    "looks",
    "look",
    "feels",
    "never",
    "always",
}


def _refused(m: re.Match) -> str:
    """A thing refused after it is named, said as "not" it; not where the words after the "no" say
    it again ("a tie - no, a bow tie", "pink? no, hot pink", "a watch? no, two watches")."""
    after = SCOPE_BREAK.split(re.sub(r"^[\s,.;:!?\u2014\u2013-]+", "", m.string[m.end() :].lower()))[0]
    words = re.findall(r"[a-z]+", after)[:7]
    said = {_stem(w) for w in m.group(1).split()}
    at = next((i for i, w in enumerate(words) if _stem(w) in said), None)
    if (
        at is not None
        and at <= 4
        and not set(words[:at]) & _NOT_A_NAME
        and not set(words[at + 1 : at + 2]) & _VERB_AFTER  # "black? no, black is boring": refused
    ):
        return m.group(0)  # "heels? no, I mean lower heels", "watch? no, he wants a smart watch"
    return f"not {m.group(1)}."


def _sorted(m: re.Match) -> str:
    return f"not {next(g for g in m.groups() if g)}"


def _but(m: re.Match) -> str:
    clause = SCOPE_BREAK.split(m.string[: m.start()])[-1]
    before = re.findall(r"[a-z]+", clause.lower())[-3:]
    return m.group(0) if set(before) & _BUT_AFTER else "yet"


def with_negations(text: str) -> str:
    """``text`` with each negating phrase of :data:`_NEGATING` said as "not", a thing refused after
    it is named (:data:`_REFUSED`), named as too much (:data:`_EXCESS`), had in plenty before
    "something else" (:data:`_ENOUGH`) or at a sentence's end (:data:`_PLENTY`), or set aside
    ("gloves aside", :data:`_ASIDE`) or seen to ("the hoodie is sorted", :data:`_SORTED`) said as "not"
    that thing,
    a "but" that rules nothing out (:data:`_BUT_AFTER`) said as "yet", a refusal of all but one
    thing ("never wears anything but black", :data:`_ONLY`) said as "wants only", and a lack ("I don't own a
    belt", :data:`_LACK`; "I have nothing desi", :data:`_HAVE_NOTHING`) said as "lack"."""
    text = _REFUSED.sub(_refused, re.sub("[\u2018\u2019\u00b4`]", "'", text))
    text = _LOOKS_LIKE.sub(" for", text)
    text = _NEVER_WITHOUT.sub(r"always \1with", text)
    text = _ONLY.sub("wants only", text)
    text = _EXCESS.sub(_too_much, text)
    text = _NAHI.sub(r"not \1,", _OUT.sub(_out, text))
    text = _PLENTY.sub(r"not \1", _ENOUGH.sub(r"not \1, ", text))
    text = _SORTED.sub(_sorted, _ASIDE.sub(r"not \1", text))
    text = _BUT.sub(_but, _LACK.sub("lack", _HAVE_NOTHING.sub(r"\1 lack", text)))
    return _NEGATING.sub(" not ", text)


_LOOKS_LIKE = re.compile(
    r"\s+(?:that\s+|which\s+)?(?:looks?|looking)\s+like\s+(?:(?:it|they)\s+belongs?\s+(?:in|at|on)"
    r"|(?:it|they)(?:'s|'re|\s+is|\s+are)\s+for"
    r"|(?:i|you|he|she|they|we)\s+(?:just\s+)?came\s+(?:straight\s+)?(?:from|out of))(?=\s)",
    re.IGNORECASE,
)
"""Looking like a place's is being for it: "nothing that looks like it belongs in a gym" is "nothing
for a gym", "not look like I came straight from the gym" is "not for the gym"."""


_NEVER_WITHOUT = re.compile(
    r"\b(?:never|rarely|seldom|hardly ever)\s+((?:(?:is|seen|go|goes|going|leaves|leave|left|steps?|out|of|the"
    r"|house|home|door|anywhere|a|day|travels?|walks?)\s+){0,4}?)without\b",
    re.IGNORECASE,
)
"""Never without something is always with it: "he's never without something on his head", "she
never leaves the house without sunglasses" (not "I can never wear heels without my feet hurting")."""


SCOPE_BREAK = re.compile(r"[,.;:!?()\u2014\u2013]|\s-\s")
"""Where a negation's reach ends: a comma, a full stop, a dash."""


_NOT_LISTING = {"yet", "just", "only", "but", "so", "and", "i", "im", "id", "want", "need", "prefer", "maybe"}


def unnegated(text: str) -> str:
    """``text`` without what it rules out: each clause from its first negation on, and a clause that
    goes on listing what the one before ruled out ("anything but heels, wedges or platforms")."""
    low = with_negations(text).lower().replace("'", "").replace("\u2019", "")
    kept, negating = [], False
    for clause in SCOPE_BREAK.split(low):
        words = clause.split()
        listing = (
            negating and bool(set(words) & {"or", "nor"}) and len(words) <= 5 and words[0] not in _NOT_LISTING
        )  # "anything but heels, wedges or platforms" (not ", yet a white shirt or a blue one")
        at = next((i for i, w in enumerate(words) if re.sub(r"[^a-z]", "", w) in NEGATION), None)
        kept.append("" if listing else " ".join(words[:at]))
        negating = at is not None or listing
    return ", ".join(kept)


def negated(text: str, vocab: Vocabulary, reach: int = 4, everyday: bool = True) -> dict[str, set[str]]:
    """Colours, kinds and uses the shopper rules out in ``text``: a catalogue value (or an everyday colour
    word) within ``reach`` words after a negation ("not", "no", "anything but", "isn't", "except"),
    in the same clause ("no black or grey", "anything but beige", "a rucksack that isn't black");
    with ``everyday``, a kind named in everyday words too ("anything except a hoodie"), unless the
    words want that kind by another name ("casual shoes that aren't sneakers"), and the kinds worn
    on a part of the body refused ("nothing that goes on my back": :func:`body_kinds`)."""
    from vlrec.agent.kinds import body_kinds, lexicon_kinds  # they read negations from here
    from vlrec.data.lexicon import COLOURS

    text = skin_tight(text)
    words = {
        w: v for v, ws in COLOURS.items() for w in ws if " " not in w and v in vocab.values["baseColour"]
    }
    out: dict[str, set[str]] = {}
    uses = vocab.values.get("usage", ())
    kinds = vocab.values.get("articleType", ())
    kept = unnegated(text)
    wanted = set(lexicon_kinds(kept, kinds)) | {vocab.match(kept).get("articleType")}  # named as wanted
    text = with_negations(text)

    def _names(said: list[str]) -> bool:
        """Whether the last word of ``said`` names a colour or a kind, or its last two a kind ("flip
        flops"); not "brown lenses"."""
        if len(said) > 1 and (pair := lexicon_kinds(" ".join(said[-2:]), kinds)):
            return set(pair) != set(lexicon_kinds(said[-2], kinds))
        word = re.sub(r"[^a-z-]", "", said[-1]) if said else ""
        return bool(
            word
            and (
                word in words
                or {"baseColour", "articleType"} & set(vocab.match(word))
                or lexicon_kinds(word, kinds)
                or colour_word(word, vocab.values["baseColour"])
            )
        )

    def rule_out(window: str, only: set[str] | None = None) -> set[str]:
        """Rule out what ``window`` names (of the fields ``only``, if given); returns the fields."""
        found: dict[str, set[str]] = {}
        for f, v in vocab.match(window).items():
            if f in ("baseColour", "articleType"):
                found.setdefault(f, set()).add(v)
        if everyday and "Jeans" in kinds and "Jeans" not in wanted and _DENIM.search(window):
            found.setdefault("articleType", set()).add("Jeans")  # "no denim please"
        if everyday and _SCENTED.search(window) and (scented := (_SCENTS & set(kinds)) - wanted):
            found.setdefault("articleType", set()).update(scented)  # "maybe nothing scented"
        if everyday and (said := set(lexicon_kinds(window, kinds)) - wanted):  # "anything but a hoodie" (not
            found.setdefault("articleType", set()).update(said)  # "casual shoes that aren't sneakers")
        for w in re.findall(r"[a-z]+", window):
            if w in words:
                found.setdefault("baseColour", set()).add(words[w])
        # a list runs on from a named colour or kind, not from a range ("nothing flashy, white or cream")
        named = set(found)
        family = colour_family(
            window, vocab.values["baseColour"], washes=False
        )  # "nothing in bright colours"
        if family:
            found.setdefault("baseColour", set()).update(family)
        found = {f: v for f, v in found.items() if only is None or f in only}
        for f, v in found.items():
            out.setdefault(f, set()).update(v)
        return named & set(found)

    listing: set[str] = set()  # a negated list runs on past a comma: "not gold, silver or glittery",
    # in the same field ("no heels at all, brown or tan" wants brown or tan); not past a dash or a
    # full stop ("anything but blue - black or grey" wants black or grey)
    if everyday and (worn := set(body_kinds(text, kinds, refused=True)) - wanted):
        out.setdefault("articleType", set()).update(worn)  # "nothing that goes on my back"
    if everyday and "Heels" in kinds and "Heels" not in wanted and _stands_all_day(text):
        out.setdefault("articleType", set()).add("Heels")  # "something I can stand in all day"
    low = text.lower().replace("'", "").replace("\u2019", "")
    clauses = SCOPE_BREAK.split(low)
    breaks = [m.group(0) for m in SCOPE_BREAK.finditer(low)]
    for n, clause in enumerate(clauses):
        tokens = clause.split()
        if listing and breaks[n - 1] == "," and tokens and re.search(r"\b(?:or|nor)\b", clause):
            if rule_out(tokens[0], listing):
                rule_out(" ".join(tokens[:reach]), listing)
        listing = set()
        for i, tok in enumerate(tokens):
            if re.sub(r"[^a-z]", "", tok) not in NEGATION:
                continue
            got = rule_out(" ".join(tokens[i + 1 : i + 1 + reach]))
            # the list runs on only from a clause that ends on what it rules out: "not gold, silver or
            # glittery" (not "not brown lenses, black or grey frames": those are wanted)
            listing = got if i + 1 + reach >= len(tokens) and _names(tokens) else set()
            # a use right after the negation, or joined to that word: "not too formal", "nothing
            # sporty", "nothing stiff or formal" (but "never worn ethnic before" tells of the past)
            # "not the formal office type"; not "loafers but the casual kind", "I'm not the sporty type"
            own = i > 0 and tokens[i - 1] in {"im", "hes", "shes", "theyre", "were", "am", "is", "are", "i"}
            skip = _DEGREE | ({"the", "a", "an"} if tok != "but" and not own else set())
            said = [t for t in tokens[i + 1 : i + 3] if t not in skip][:1]
            window = tokens[i + 1 : i + 1 + reach]
            said += [
                t
                for j, t in enumerate(window[2:], 2)
                if said
                and window[j - 1] in ("or", "nor")
                and window[j - 2] == said[0]  # "nothing stiff or formal"; not "don't mind casual or formal"
                and "articleType" not in vocab.match(" ".join(window[j : j + 2]))
            ]  # not "no heels or formal shoes": a kind, ruled out above
            lack = set(tokens[max(0, i - 2) : i]) & _THERE_HAS or set(tokens) & _WARDROBE
            if not lack and (looks := _LOOKS.match(" ".join(tokens[i + 1 : i + 8]))):
                said.append(looks.group(1))  # "hate anything that looks sporty", "nothing that's too formal"
            if "enough" in window or "down" in window[:3]:
                said = []  # "isn't dressy enough", "not too dressed down": they want it
            if said == ["for"] and (
                place := [t for t in tokens[i + 2 : i + 4] if t not in ("the", "a", "an")][:1]
            ):
                later = " ".join(clauses[n + 1 :])  # "it's not for the gym, it's for yoga": a use asked for
                said = [] if sport_usage(place[0], uses) and sport_usage(later, uses) else place
            for word in said:
                if use := vocab.match(word).get("usage") or sport_usage(word, uses) or _use_word(word, uses):
                    out.setdefault("usage", set()).add(use)
    if different := _DIFFERENT.search(
        low
    ):  # "has way too many black and navy ties, want something different"
        rest = re.sub(
            r"\b(?:from|to|than|usual)\s+(?:(?:his|her|my|the|their|usual)\s+)*[a-z]+",
            " ",
            _TOO_MANY.sub(" ", low[different.start() :]),
        )
        again = set(re.findall(r"[a-z]+", rest))  # not "a navy bow tie" (but "different from black")
        for m in _TOO_MANY.finditer(low):
            ahead = m.group(1).split()
            at = next(
                (
                    j
                    for j, w in enumerate(ahead)
                    if lexicon_kinds(w, kinds) or "articleType" in vocab.match(w)
                ),
                0,
            )
            said = {words[w] for w in ahead[:at] if w in words and w not in again}
            said |= {v for w in ahead[:at] if w not in again and (v := vocab.match(w).get("baseColour"))}
            if said:
                out.setdefault("baseColour", set()).update(said)
    return out


_TOO_MANY = re.compile(
    r"\b(?:has|have|got|owns?|owned)\s+(?:way\s+|far\s+|so\s+|already\s+)?(?:too many|more than enough|enough"
    r"|plenty of|loads of|so many|a million|a hundred)\s+((?:[a-z]+\b\s*){1,5})"
)
_DIFFERENT = re.compile(
    r"\b(?:different(?!\s+(?:size|style|cut|brand|neckline|fit|length|shape|design|pattern|material|fabric|kind|type"
    r"|occasion|event|look))"
    r"|something else|anything else|other colou?rs?|a change|new colou?r)\b"
)
"""Colours someone has too many of, where something different is asked for ("husband has way too
many black and navy ties, want something different"): those colours ruled out, the kind not."""


_FEET = r"on (?:my|her|his|their|your|our) feet"
_LONG = r"all day|(?:[6-9]|1[0-6]|six|eight|ten|twelve)[- ]?(?:hours?|hrs?)\b|(?:long|full|double|night) shifts?|shifts"
_ON_FEET = re.compile(
    rf"\b(?:stand(?!\s+out)|stands(?!\s+out)|standing(?!\s+out)|{_FEET})\b[^.!?]{{0,40}}?\b(?:{_LONG})"
    rf"|\b(?:{_LONG})\b[^.!?]{{0,25}}?\b{_FEET}\b"
)
"""Standing the whole day ("something I can stand in all day", "12 hour shifts on her feet"):
heels are ruled out, unless named ("heels I can stand in all day"); not "to stand out all day"."""


def _stands_all_day(text: str) -> bool:
    """Whether the words tell of standing the whole day (:data:`_ON_FEET`), not after a negation
    in its clause ("I'm not on my feet all day any more")."""
    return _said_unnegated(_ON_FEET, text.lower().replace("'", "").replace("\u2019", ""), 4)


def _said_unnegated(pattern: re.Pattern, low: str, reach: int) -> bool:
    """Whether ``pattern`` matches in a clause of ``low`` with no negation in the ``reach`` words
    before it in that clause."""
    for clause in SCOPE_BREAK.split(low):
        for m in pattern.finditer(clause):
            if not set(re.findall(r"[a-z]+", clause[: m.start()])[-reach:]) & NEGATION:
                return True
    return False


_DENIM = re.compile(
    r"^(?:(?:any|more|the|in|made|of)\s+)*denims?\b"
    r"(?=\s*$|\s+(?:please|pls|plz|at|or|for|this|as|because|cos|it|its|they|thanks|though|tho)\b)"
)
"""Denim ruled out as a stuff ("no denim please", "nothing in denim"): jeans (not "no denim tops":
a kind, named so or not)."""
_SCENTED = re.compile(r"^(?:(?:any|more|the|too|strongly|heavily)\s+)*(?:scented|perfumed|fragranced)\b")
_SCENTS = {"Perfume and Body Mist", "Deodorant", "Fragrance Gift Set"}
"""Anything scented ruled out ("maybe nothing scented in case of allergies"): every kind that smells
(not "not a scent that's too strong": a scent is wanted)."""
_HOT = re.compile(
    r"\b(?:hot|humid|sticky|sweltering|scorching|muggy|boiling)\s+(?:and\s+[a-z]+\s+)?(?:[a-z]+\s+)?"
    r"(?:weather|days?|summers?|climates?|afternoons?|months?)\b|\bhot\s+(?:summer\s+)?nights\b"
    r"|(?<!body )\bheat\b(?![\s-]*(?:proof|resistant|of the moment|tech|pack|packs|pad|pads|wave))"
    r"|\b(?:it'?s|its|gets|getting|get|runs?|running|too)\s+(?:really\s+|so\s+|very\s+|super\s+)?(?:hot|humid|sticky)\b"
    r"(?!\s+(?:pink|red|orange|yellow|colou?rs?|shades?|look|date))",
    re.IGNORECASE,
)
_COLD = re.compile(r"\b(?:winter|winters|cold|freezing|snow|snowy|chilly)\b", re.IGNORECASE)
_WARM_KINDS = {"Jackets", "Sweaters", "Sweatshirts", "Mufflers", "Gloves"}


def hot_weather_kinds(text: str, kinds) -> set[str]:
    """The kinds that keep one warm (of ``kinds``), where the words tell of hot weather ("clothes for
    hot sticky Chennai weather", "it's too hot"; not "hot pink"): for the agent to rule out where the
    LM reads one of them."""
    if not _HOT.search(text) or _COLD.search(text):  # "from hot Chennai to a London winter"
        return set()
    return _WARM_KINDS & set(kinds)


_DEGREE = {"too", "so", "very", "overly", "that", "really"}
_LOOKS = re.compile(
    r"(?:(?:want|wants|like|likes|need|needs|wear|wears)\s+)?(?:anything|something|stuff|ones?|that|which)\s+"
    r"(?:(?:that|which|looks?|looking|is|are|thats|feels?|seems?|too|so|very|overly|really|at all|all)\s+){1,4}"
    r"([a-z-]+)"
)
"""What a refused thing looks like: "hate anything that looks sporty", "don't want anything that looks
too formal" (the use after the filler); not a lack ("there's nothing that looks sporty in his closet")."""
_THERE_HAS = {"theres", "there", "has", "have", "had", "owns", "own", "got"}
_WARDROBE = {"wardrobe", "closet", "cupboard"}
_USE_WORDS = {"dressy": "Formal", "dressed": "Formal", "formals": "Formal"}
"""Words of a use that no catalogue value names: "not too dressy", "nothing too dressed up"."""


def _use_word(word: str, uses) -> str | None:
    use = _USE_WORDS.get(word)
    return use if use in uses else None


_NOT_COLOUR = {"winter", "morning", "mornings", "night", "nights", "evening", "evenings", "days", "hours",
               "pattern", "patterns", "print", "prints", "logo", "logos", "design", "designs", "graphics",
               "personality", "city", "vibe", "vibes", "life", "character", "crowd"}  # fmt: skip


_LIGHT_RANGES = {"bright", "neon", "fluro", "fluoro", "colourful", "colorful", "vibrant", "pastel", "pastels",
                 "softcolours"}  # fmt: skip
"""Ranges at the other end from "dark": said together with it, no range is guessed."""

_SOFT = re.compile(
    r"\b(?:soft|light|gentle)[\s-]+(?=(?:colou?rs?|colou?red|shades?|tones?|toned|hues?)\b(?!\s+skin))"
)
_WASH = re.compile(r"\b(dark|deep|light|pale|mid|medium|stone|acid)[\s-]*wash(?:ed)?\b")
"""A denim's wash: "dark wash jeans" are navy or blue, "light wash" and "stonewashed" blue."""


_SOME_COLOUR = re.compile(
    r"\b(?:want|wants|need|needs|like|likes|love|loves|add|adds|with|bring|brings)\s+"
    r"(?:some|a\s+(?:bit|splash|pop|dash|touch)\s+of|a\s+little|more)\s+colou?r\b(?!\s*(?:-|\s)?(?:blind|block|scheme|chart|palette|code))"
)
"""Colour wished for as such ("I want some colour on my wrist", "want a bit of colour in the photos",
"something to add a pop of colour"): the bright ones and multi."""
_DARKNESS = re.compile(
    r"\b(?:in|after|of|into)\s+the\s+dark\b(?!\s+(?:colou?rs?|shades?|tones?|ones?|side)\b)|\bafter\s+dark\b"
)
"""The dark as a time ("I run in the dark", "out after dark"; not "in the dark colours")."""


def colour_family(text: str, allowed, washes: bool = True) -> set[str]:
    """The catalogue colours a word for a range of colours covers ("a dark tee", "bright colours",
    "neon", "pastels", "metallic", "muted", "in a soft colour", "dark wash" denim where no colour is
    named and ``washes``:
    :data:`vlrec.data.lexicon.COLOUR_FAMILIES`); none where it names dark and light ones together,
    and "dark winter mornings" or "loud patterns" is not a colour."""
    from vlrec.data.lexicon import COLOUR_FAMILIES

    low = _SOFT.sub("softcolours ", text.lower())  # "in a soft colour", "light shades": pale ones
    low = _SOME_COLOUR.sub(" colourful ", low)  # "I want some colour on my wrist": bright ones
    coloured = re.search(rf"\b(?:{_colour_words(frozenset(allowed))[1] or '(?!)'})\b", _WASH.sub(" ", low))

    def wash(m: re.Match) -> str:
        """A wash as a colour word, or nothing: a wash is a finish, not a colour, where a colour is
        named ("black stonewashed jeans") or the wash is refused ("jeans, nothing dark wash")."""
        clause = SCOPE_BREAK.split(low[: m.start()])[-1].split()[-4:]
        if not washes or coloured or {re.sub(r"[^a-z]", "", w) for w in clause} & NEGATION:
            return " "
        return "darkwash" if m.group(1) in ("dark", "deep") else "lightwash"

    low = _DARKNESS.sub(" ", _WASH.sub(wash, low))  # "I run in the dark": when, not a colour
    tokens = re.findall(r"[a-z]+", low)
    named = {
        t
        for i, t in enumerate(tokens)
        if t in COLOUR_FAMILIES and not set(tokens[i + 1 : i + 2]) & _NOT_COLOUR
    }
    if named & {"dark", "darker"} and named & _LIGHT_RANGES:
        return set()  # both ends: no guess
    return {c for t in named for c in COLOUR_FAMILIES[t]} & set(allowed)


@functools.lru_cache(maxsize=8)
def _colour_words(allowed: frozenset) -> tuple[dict[str, str], str]:
    """Every word for a catalogue colour (its own name, and those of :data:`vlrec.data.lexicon.COLOURS`)
    the catalogue has → that colour, and a regex alternation of them, longest first (built once per
    catalogue)."""
    from vlrec.data.lexicon import COLOURS

    names = {v.lower(): v for v in allowed if v != "NA"}  # the catalogue's own names ("skin", "taupe")
    names.update({w: v for v, ws in COLOURS.items() if v in allowed for w in [*ws, v.lower()]})
    return names, "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True))


def colour_words(text: str, allowed) -> set[str]:
    """The catalogue colours that ``text`` names by a word for each ("blk", "navy", "greys"; not a
    range such as "neutral" or "dark")."""
    names, word = _colour_words(frozenset(allowed))
    if not names:
        return set()
    low = skin_tight(text).lower().replace("-", " ")
    return {names[w] for w in re.findall(rf"\b(?:{word})(?=(?:e?s)?\b)", low)}


_SKIN_TIGHT = re.compile(r"\bskin[\s-]*(?:tight|fit|fitted|fitting|hugging)\b", re.IGNORECASE)


def skin_tight(text: str) -> str:
    """``text`` with "skin tight" said as one word: a fit, no colour ("loose bottoms that aren't
    skin tight")."""
    return _SKIN_TIGHT.sub("skintight", text)


def asked_colours(text: str, allowed) -> set[str]:
    """The colours :func:`colour_words` names outside what the shopper has (:func:`context_colours`)
    and outside what the item is to match ("shoes to match a navy suit": none; that is left to the
    LM, as a purse to match a maroon lehenga may be maroon)."""
    names, word = _colour_words(frozenset(allowed))
    if not names:
        return set()
    rest = context_colours(text, allowed)[2].lower().replace("-", " ")
    matched = rf"\b(?:to|that|which|will|would|can)\s+match(?:es)?\s+(?:(?:a|an|the|some)\s+)?(?:{word})\b"
    return colour_words(re.sub(matched, " ", rest), allowed)


def colour_word(text: str, allowed, kinds=None) -> str | None:
    """The one catalogue colour that ``text`` names by an everyday word for it ("blk", "navy"), or
    None where it names none or more than one. With ``kinds``, only a word said of an item: right
    before a name of one of ``kinds`` or after "in" ("blk backpack", "a tote in blk"; not "a
    coffee date", "a wine tasting")."""
    if kinds is None:
        said = colour_words(text, allowed)
        return next(iter(said)) if len(said) == 1 else None
    from vlrec.agent.kinds import lexicon_kinds

    names, word = _colour_words(frozenset(allowed))
    if not names:
        return None
    low = skin_tight(text).lower().replace("-", " ")
    said = set()
    for m in re.finditer(rf"\b(?:{word})(?=(?:e?s)?\b)", low):
        after = " ".join(low[m.end() :].split()[:3])
        if low[: m.start()].split()[-1:] == ["in"] or lexicon_kinds(after, kinds):
            said.add(names[m.group(0)])
    return next(iter(said)) if len(said) == 1 else None


_JOIN = r"(?:,\s*(?:or|and)\b|,|/|&|\+|\bor\b|\band\b|\bn\b|\bya\b|\baur\b)"
"""What joins the colours of a list: "navy, or black", "black/brown", "black n white"."""


def colour_list(text: str, allowed) -> set[str]:
    """The colours of a list the shopper names ("navy or black", "yellow, mustard or orange",
    "black/brown"; "black n white" is either), unless a negation comes in the three words before it
    in its clause; empty where no list is named."""
    names, word = _colour_words(frozenset(allowed))
    said = skin_tight(with_negations(text)).lower()  # "great, but navy or black": no negation
    low = said.replace("-", " ")  # (the same length: a match's start is the same in both)
    out: set[str] = set()
    tone = r"(?:(?:light|dark|pale|bright|deep|baby|soft|hot|dusty|powder) )?"  # "white or light pink" (not "bright - grey")
    plural = r"(?:e?s)?\b"  # "greys or browns"
    for m in re.finditer(rf"\b{tone}(?:{word}){plural}(?:\s*{_JOIN}\s*{tone}(?:{word}){plural})+", low):
        clause = SCOPE_BREAK.split(said[: m.start()])[-1]  # "can't take heels anymore. black or tan"
        if set(re.findall(r"[a-z]+", clause.replace("'", ""))[-3:]) & NEGATION:
            continue
        out |= {names[w] for w in re.findall(rf"\b(?:{word})(?={plural})", m.group(0))}
    return out if len(out) > 1 else set()


_OWN_ADJ = r"(?:old|new|favourite|fave|only|current|existing|usual|plain|best|work|office)"
_ELSE = re.compile(r"\b(?:something|anything|one|ones|a pair)\s+else\b|\b(?:different|another|other)\s+colou?rs?\b"
                   r"|\bnot the same\b")  # fmt: skip
_CHANGE = re.compile(r"\b(?:this time|for a change)\b")


def context_colours(text: str, allowed) -> tuple[set[str], set[str], str]:
    """Colours the words give to something the shopper already has, not to what they want: "to go
    with my navy suit", "what goes with charcoal trousers", "for his old grey trousers", "he has
    brown ones", "I own black and brown belts" (but not "in her favourite red": no thing follows
    the colour; nor "have you got black jeans?").
    Returns those colours (less any the words also name outside such a phrase), those of them the
    shopper asks to differ from ("I own black ones, so something else"), and the text without those
    phrases (for reading catalogue words)."""
    names, word = _colour_words(frozenset(allowed))
    if not names:
        return set(), set(), text
    low = text.lower().replace("-", " ")
    thing = r"(?=\s+(?!(?:and|or|but|so|please|pls|thanks|too|as|if|is|are)\b)[a-z])"  # a noun follows
    colours = rf"(?P<c>(?:{word})(?:\s*{_JOIN}\s*(?:{word}))*)"  # "black and brown"
    mine = rf"\b(?:my|his|her|their|our|your)\s+(?:{_OWN_ADJ}\s+)?{colours}{thing}"
    owned = (
        rf"(?<!you )(?<!u )(?<!to )\b(?:have|has|own|owns|got)\s+(?:(?:a|an|some|the|two|three|a few|a couple of|several"
        rf"|loads of|lots of|plenty of|a lot of|too many)\s+)?"
        rf"(?:{_OWN_ADJ}\s+)?{colours}(?:\s+(?:ones?|pairs?)\b|{thing})"
    )  # not "have you got black jeans?", "I'd like to have a couple of black ones"
    all_in = rf"(?<!you )(?<!u )(?<!to )\b(?:have|has|own|owns|got)\s+(?:everything|all|loads|lots|plenty|tons)\s+in\s+{colours}\b"
    habit = rf"\b(?:only|always|usually)\s+(?:ever\s+)?(?:buys|bought|wears|wore|gets|picks|chooses)\s+{colours}\b"
    # "a black purse and a brown one": the next of the same things they have
    more = (
        rf"^(?:\s+[a-z]+)?\s+and\s+(?:(?:a|an|some|the)\s+)?{colours}\s+(?:ones?|pairs?)\b"
        r"(?=\s*(?:[,.;:!?)]|$)|\s+(?:too|already|as well|both|and|but|so)\b)"
    )  # not "a black belt and a brown one would go with his shoes"
    same = rf"\b(?:wears|wore|wearing|has|had|uses|used)\s+(?:the\s+same|that|this|those)\s+(?:[a-z]+\s+)?{colours}{thing}"
    # "he wears the same ugly red cap every day, a new one in any other colour"
    paired = (rf"\b(?:go|goes|going|wear|worn|wearing|match|matches|pair|pairs)\s+(?:well\s+)?with\s+"
              rf"(?:(?:a|an|the|some)\s+)?{colours}{thing}")  # fmt: skip
    context, had, rest = set(), set(), low
    contrast = _ELSE.search(low)
    for pattern, kept in (
        (mine, None),
        (owned, had),
        (all_in, had),  # "she has everything in black"
        (same if contrast else r"(?!)", had),  # "the same red cap, any other colour" (not "a new pair")
        (habit if _CHANGE.search(low) else r"(?!)", None),
        (paired, None),
    ):
        for m in re.finditer(pattern, low):
            theirs = {names[w] for w in re.findall(rf"\b(?:{word})\b", m.group("c"))}
            if kept is had and (next_one := re.match(more, low[m.end() :])):
                theirs |= {names[w] for w in re.findall(rf"\b(?:{word})\b", next_one.group("c"))}
                rest = rest.replace(next_one.group(0), " ")
            if pattern is habit:  # "brown this time, he only ever buys black": another colour is wanted
                elsewhere = {names[w] for w in re.findall(rf"\b(?:{word})\b", low.replace(m.group(0), " "))}
                if not elsewhere - theirs:
                    continue
                contrast = True
                had |= theirs
            context |= theirs
            if kept is not None:
                kept |= theirs
            rest = rest.replace(m.group(0), " ")
    if not context:
        return set(), set(), text
    said = {names[w] for w in re.findall(rf"\b(?:{word})\b", rest)}
    context -= said
    return context, (had & context) if contrast else set(), rest


def named_colours(text: str, allowed) -> set[str]:
    """The catalogue colours ``text`` names, by a word for one ("navy", "burgundy") or for a range
    ("dark", "pastels"), with their shades."""
    names, word = _colour_words(frozenset(allowed))
    if not names:
        return set()
    low = skin_tight(text).lower().replace("-", " ")
    said = {names[w] for w in re.findall(rf"\b(?:{word})\b", low)} | colour_family(text, allowed)
    return shades(said, allowed)


def shades(values: set[str], allowed, text: str = "") -> set[str]:
    """``values`` and the catalogue's values named after one of them: ruling out white rules out
    off white, brown coffee brown, grey grey melange, shorts lounge shorts; and silver steel (the
    catalogue's steel watches are silver ones), steel silver, nude skin, skin nude — unless ``text``
    names that one too ("not silver, steel is fine")."""
    plain = {v.lower() for v in values if " " not in v}
    said = set(re.findall(r"[a-z]+", text.lower()))
    same = {  # a steel watch is silver
        s for v in values for s in _SAME_COLOUR.get(v, ()) if s in allowed and s.lower() not in said
    }
    return set(values) | same | {a for a in allowed if " " in a and plain & set(a.lower().split())}


_SAME_COLOUR = {"Silver": ("Steel",), "Steel": ("Silver",), "Nude": ("Skin",), "Skin": ("Nude",)}


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


_SPORT = re.compile(
    r"\b(?:run|runs|running(?! errands)|runner|jog\w*|gym|workouts?|work out|training|trek\w*|hik(?:e|es|ing)|"
    r"yoga|pilates|zumba|aerobics|crossfit|hiit|cricket|football|footy|footie(?!\s+(?:pyjamas|pajamas|pjs))|soccer|rugby(?!\s+(?:shirts?|tops?|polos?|stripes?))|netball|volleyball|hockey|5-a-side|five-a-side|five a side|futsal|tennis|badminton|basketball|squash|cycling|marathon|"
    r"athletic|sporty|sports?|dri-fit|dri fit|sweat(?!pants|ers?\b|shirts?\b)\w*|pe kit|p\.e\.|laps|lap times"
    r"|couch to 5k|c25k|parkrun|park run|leg day|arm day|chest day|sunday league)\b"
)


def plays_sport(text: str) -> bool:
    """Whether the request names a sport or a workout it is for: not one ruled out within five words
    after a negation in its clause ("not the running kind", "nothing that looks like gym wear")."""
    return _said_unnegated(_SPORT, with_negations(text).lower().replace("'", ""), 5)


def sport_usage(text: str, allowed) -> str | None:
    """``Sports`` when the request names a sport or a workout ("for cricket nets", "running
    jacket", "5-a-side kit"); else None. The intent LM leaves usage open on such requests (dev
    failures), so this fills it when the LM gives none."""
    return "Sports" if "Sports" in allowed and _SPORT.search(text.lower()) else None


_FORMAL = re.compile(
    r"\b(?:interviews?|formals|dress shirts?|with a tie\b(?![- ](?:dye|waist|belt|neck|front|back|detail|up))|business|boardroom|board (?:meetings?|presentations?)|corporate|client meetings?|funerals?|tux(?:edo)?s?|suit (?:trousers|pants)"
    r"|retirement (?:do|party|dinner|function|lunch)|(?:to|in) court\b(?!\s+(?:shoes|sneakers|trainers|sports?|games?))|courtroom|court (?:hearings?|dates?|appearances?)"
    r"|(?:with|under|match|matches|matching)\s+(?:(?:a|an|my|his|her|your|the|their)\s+)?(?!(?:salwar|churidar|"
    r"punjabi|patiala|anarkali|kurta|ethnic|cotton|track|swim|bathing|jump|wet|boiler|night|sweat)\b)(?:[a-z-]+\s+)?suits?)\b"
)
"""A formal occasion ("formals for office": Indian English for formal clothes), or what is worn with a suit ("to wear with suits", "under my navy suit",
"suit trousers"; not a salwar or swim suit, nor the verb: "what suits me")."""


_TRADITIONAL = re.compile(
    r"\b(?:something|anything|outfits?|wear|clothes|clothing|look|style|attire|dress)\s+(?:\w+\s+)?(?:traditional|desi)\b"
    r"|\b(?:traditional|desi)\s+(?:wear|outfits?|clothes|clothing|attire|dress|look|style|something|piece|indian)\b"
    r"|(?<!over )(?<!than )\bethnic\b|\bindo[\s-]*western\b"
    r"|\bindian[\s-]+(?:style|wear|outfits?|clothes|clothing|dress|attire|look)\b"
)
"""What is worn traditionally, said of an item ("something traditional", "traditional wear",
"ethnic", "indian style", "indo-western"; not "my dad is quite traditional", "western over ethnic")."""


def traditional_usage(text: str, allowed) -> str | None:
    """``Ethnic`` when the request asks for something traditional ("something traditional for
    diwali", "indian style", "desi"), said outside a negation ("nothing too ethnic"); else None. The
    agent wants it where no kind is read (the catalogue's ethnic wear is kurtas, kurtis, sarees and
    the like)."""
    if "Ethnic" not in allowed:
        return None
    return (
        "Ethnic" if _said_unnegated(_TRADITIONAL, with_negations(text).lower().replace("'", ""), 6) else None
    )


def formal_usage(text: str, allowed) -> str | None:
    """``Formal`` when the request names a formal occasion or dress ("for interviews", "a business
    trip", "client meetings", "a funeral", "to wear with suits"; not a salwar suit); else None. Not "office" or "work": offices dress casual too."""
    if "Formal" not in allowed:
        return None
    low = text.lower()
    return (
        "Formal" if _FORMAL.search(low) or (_PROFESSION.search(low) and not _OFF_DUTY.search(low)) else None
    )


_PROFESSION = re.compile(r"\b(?:bank (?:job|jobs)|banking job|lawyers?|solicitors?|barristers?|attorneys?)\b")
_OFF_DUTY = re.compile(
    r"\b(?:casual|weekends?|hik\w*|trek\w*|gym|sports?|comfy|lounge|holidays?|beach|run|running|trainers)\b"
)
"""A job that dresses formal ("work shirts for my new bank job", "my husband is a lawyer"), unless the
words are of time off ("weekend trainers for my husband, he's a lawyer")."""


_CATEGORY_WORDS = {
    "footwear": ("masterCategory", "Footwear"), "underwear": ("subCategory", "Innerwear"),
    "undies": ("subCategory", "Innerwear"), "innerwear": ("subCategory", "Innerwear"),
    "lingerie": ("subCategory", "Innerwear"), "bottoms": ("subCategory", "Bottomwear"),
    "bottomwear": ("subCategory", "Bottomwear"), "topwear": ("subCategory", "Topwear"),
    "headwear": ("subCategory", "Headwear"), "eyewear": ("subCategory", "Eyewear"),
    "jewellery": ("subCategory", "Jewellery"), "jewelry": ("subCategory", "Jewellery"),
}  # fmt: skip


_NAMED_CATEGORIES = {
    "bag": ("subCategory", "Bags"), "bags": ("subCategory", "Bags"),
    **{w: _CATEGORY_WORDS[w] for w in ("footwear", "headwear", "eyewear", "jewellery", "jewelry")},
}  # fmt: skip
"""Words that name a category as the wanted item ("pyjama bottoms" or "underwear" may be lounge wear)."""
_HELD = {"my", "his", "her", "their", "your", "our", "in", "into", "inside", "from", "with", "under", "over",
         "match", "matching", "fits", "fit", "holds", "hold", "carries", "carry", "onto", "off", "on", "store",
         "keep", "protect", "for"}  # fmt: skip
_SEEK = {"looking", "lookin", "shopping", "searching", "hunting", "need", "want", "wants", "needs"}


def category_named(text: str, items: dict) -> tuple[str, str] | None:
    """The category a word names as the wanted item ("a waterproof bag for the office", "comfy
    footwear"; not what it goes with or holds: "something to keep in my bag", "fits in a small
    bag", "to match my bag", "a strap for a bag", nor one ruled out: "she can't stand gold
    jewellery", "bags are too bulky") — a (field, value) the catalogue has; else None."""
    low = with_negations(text).lower().replace("'", "").replace("\u2019", "")
    words = re.sub(r"[^a-z ]", " ", SCOPE_BREAK.sub(" | ", low)).split()
    for i, word in enumerate(words):
        before = words[max(0, i - 5) : i]
        if "|" in before:
            before = before[len(before) - before[::-1].index("|") :]
        held = set(before[-3:]) & _HELD
        at = len(before) - before[::-1].index("for") - 1 if "for" in before else -1
        if held == {"for"} and at > 0 and before[at - 1] in _SEEK:  # "looking for a bag": the item
            held = set()  # itself (not "a strap for a bag", "looking for straps for bags")
        after = words[i + 1 : i + 2]
        if (
            word in _NAMED_CATEGORIES
            and not held
            and not set(before) & NEGATION
            and after not in (["is"], ["are"])
        ):
            f, v = _NAMED_CATEGORIES[word]
            if any(m.get(f) == v for m in items.values()):
                return f, v
    return None


_RULED_CATEGORIES = {
    "clothes": ("masterCategory", "Apparel"), "clothing": ("masterCategory", "Apparel"),
    "apparel": ("masterCategory", "Apparel"), "shoes": ("masterCategory", "Footwear"),
    "footwear": ("masterCategory", "Footwear"), "accessories": ("masterCategory", "Accessories"),
}  # fmt: skip
_BEFORE_CATEGORY = {"any", "more", "the", "other", "need", "needs", "want", "wants", "really"}
_OWNING = {"have", "has", "had", "got", "own", "owns", "with"}  # "he's got no shoes for the wedding"


_HAS_ALREADY = re.compile(
    r"\balready\s+(?:has|have|got|owns?)\s+(?:(?:some|the|his|her|their|my|enough|plenty of)\s+)?([a-z]+)"
    r"(?:\s+(?:sorted|covered|so|though|already))?$"
)
"""A category someone already has, said at the end of its clause ("clothes only - he already has
shoes"): ruled out as a whole."""


def negated_categories(text: str) -> list[tuple[str, str]]:
    """The categories ruled out as a whole right after a negation, one or a list ("not clothes or
    shoes", "neither clothes nor shoes", "no other clothes", "he doesn't need clothes"; not "no
    formal shoes": a kind; nor a lack: "he's got no shoes for the wedding"; nor "not just
    clothes"): (field, value) pairs."""
    out: list[tuple[str, str]] = []
    low_text = text.lower()
    for clause in SCOPE_BREAK.split(with_negations(text).lower().replace("'", "").replace("\u2019", "")):
        tokens = re.findall(r"[a-z]+", clause)
        if (
            (had := _HAS_ALREADY.search(" ".join(tokens)))
            and had.group(1) in _RULED_CATEGORIES
            and tokens[:1] not in (["do"], ["does"], ["did"], ["if"])
            and not re.search(r"\b(?:new ones|more|another|replace\w*)\b", low_text)
        ):
            out.append(_RULED_CATEGORIES[had.group(1)])  # "clothes only - he already has shoes"
        for i, tok in enumerate(tokens):
            if (tok not in NEGATION and tok != "neither") or (i and tokens[i - 1] in _OWNING):
                continue
            j = i + 1
            while j < len(tokens) and tokens[j] in _BEFORE_CATEGORY:
                j += 1
            while j < len(tokens) and tokens[j] in _RULED_CATEGORIES:
                out.append(_RULED_CATEGORIES[tokens[j]])
                j += 2 if j + 1 < len(tokens) and tokens[j + 1] in ("or", "nor", "and") else 1
    return out


def category_lean(text: str, ruled_kinds: set[str], items: dict) -> tuple[str, str] | None:
    """Where the shopper names no kind: the category a word names ("comfortable footwear",
    "underwear for men") or, failing that, the category of a kind they rule out ("anything but
    heels" still wants shoes; "not flip flops", whose own category holds nothing else, footwear) —
    a (field, value) the catalogue has; else None."""
    for word in re.findall(r"[a-z]+", unnegated(text)):  # not "not footwear or clothes"
        if word in _CATEGORY_WORDS:
            f, v = _CATEGORY_WORDS[word]
            if any(m.get(f) == v for m in items.values()):
                return f, v
    for field in CATEGORIES:  # the narrowest that holds more than the ruled-out kinds
        cats = Counter(m.get(field) for m in items.values() if m.get("articleType") in ruled_kinds)
        cats.pop(None, None)
        if cats:
            cat = cats.most_common(1)[0][0]
            if any(m.get(field) == cat and m.get("articleType") not in ruled_kinds for m in items.values()):
                return field, cat
    return None


def _strip_known(text: str, vocab: Vocabulary) -> str:
    words = re.sub(r"[^\w\s'-]", " ", text).split()
    stop = {"i", "a", "an", "the", "for", "in", "me", "show", "want", "need", "some", "something", "please",
            "looking", "am", "i'm", "im", "do", "you", "have", "any", "like", "this", "that", "one", "but",
            "instead", "and", "with", "to", "of", "it", "more", "not", "no"}  # fmt: skip
    keep = [w for w in words if w.lower() not in stop and not vocab.match(w)]
    return " ".join(keep)
