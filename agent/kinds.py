"""The kinds of item a request names in everyday words, read with the intent LM's own training
lexicon (:data:`vlrec.data.lexicon.NAMES`): a vote on the LM's reading of the article type, and
the kinds named as what the wanted item goes with."""

from __future__ import annotations

import functools
import re
from collections import Counter

from vlrec.agent.vocabulary import (
    NEGATION,
    SCOPE_BREAK,
    _forms,
    _plain_colour_words,
    _said_unnegated,
    unnegated,
    with_negations,
)

# A kind named right after these is what the wanted item goes with, not the item itself
# ("for formal trousers", "to wear under dresses", "to hold my chinos up", "he wears coloured shirts").
_CONTEXT = {"under", "with", "over", "for", "my", "his", "her", "their", "our", "your", "match", "matching",
            "beneath", "inside", "of", "wears", "wearing", "owns", "own", "in"}  # fmt: skip
_PEOPLE = {"mum", "mom", "mother", "dad", "father", "wife", "husband", "hubby", "son", "daughter", "sister",
           "brother", "boyfriend", "girlfriend", "partner", "friend", "grandma", "grandpa", "nan", "niece",
           "nephew", "kid", "kids", "boss", "colleague", "teen", "teenager", "fiance", "fiancee", "baby"}  # fmt: skip
# Whom a request is for, said by their side: "footwear for women with a little lift" (not of
# "for my boys school trousers", where the apostrophe is gone).
_SIDES = {"men", "women", "man", "woman", "ladies", "lady", "guys", "guy", "gents", "girls", "boys", "girl", "boy"}  # fmt: skip
# "my feet hurt in heels", "I can't walk in heels": after these, "in" names what is worn.
_WORN = {"hurt", "hurts", "walk", "walking", "stand", "standing", "dance", "dancing", "run", "running", "live",
         "lived", "sweat", "sweating", "wobble", "totter", "suffer", "slip", "fell", "fall"}  # fmt: skip
# Right before a name these alone leave it open ("for my jeans" goes with; "losing his sunnies" may not).
_POSSESSIVE = {"my", "his", "her", "their", "our", "your"}
_WORN_ON = {"neck", "head", "ears", "hands", "feet", "wrist", "wrists"}  # what a material word may be for
# Parts of the body a thing is worn on: "for her feet with a bit of height" names no thing it goes with.
_LIMBS = {"feet", "foot", "neck", "head", "wrist", "wrists", "hands", "hand", "ears", "legs", "waist", "back"}
# "looking for trainers": after these, "for" names the wanted item itself.
_SEEKING = {"looking", "lookin", "shopping", "searching", "hunting", "lookout", "market", "browsing", "asking", "ideas",
            "suggestions", "recommendations", "recs", "options", "help", "search", "hunt", "shop"}  # fmt: skip
# "to throw over a sleeveless dress": these reach past a determiner and one describing word.
_OVER = {"under", "over", "beneath", "with", "match", "matching"}
_UNDER = {"under", "beneath", "underneath"}
_DETERMINER = {"a", "an", "the", "some"} | _POSSESSIVE
_ARTICLE = re.compile(r"^(?:a pair of|a pack of|an|a)\s+")
# Names said of more than one catalogue kind (chappals, slides: sandals or flip flops; a purse: a handbag
# or, in British English, a wallet; underwear: briefs, trunks or boxers; a crew neck: a tee or a
# jumper; a carryall: a handbag for one shopper, a duffel for another; kicks: casual, sports or office
# shoes; a gift box or hamper: of accessories or of scents; "a cardigan she can button up": a verb,
# whatever it is said of) name none for sure.
_VAGUE = {"chappals", "chappal", "slides", "kicks", "slip ons", "slip on", "gift set", "gift sets", "gift box",
          "gift boxes", "hamper", "hampers", "purse", "purses", "underwear", "satchel", "satchels", "crew neck",
          "crew necks", "carryall", "carry all", "carryalls",
          *(f"{verb} button up" for verb in ("can", "could", "to", "will"))}  # fmt: skip
_VERBS = {name for name in _VAGUE if name.endswith("button up")}  # no name: the one before it is the item
# A kind's own name in the singular that is mostly a describing word ("short sleeves", "flat soles")
# or a sport ("socks for football").
_ADJECTIVES = {"short", "brief", "flat", "top", "football"}
# Kinds named by a feature that, named before another kind, still say what the item is: the
# catalogue's "block heel sandals" are heels.
_FEATURES = {"Heels"}
# Parts of the body: a name right before one describes what is worn there ("a woolly neck warmer").
_PARTS = [[w] for w in ("neck", "wrist", "wrists", "head", "feet", "foot", "hand", "hands", "ears", "waist", "cuff", "cuffs",
                        "collar", "collars", "sleeve", "sleeves")]  # fmt: skip
# Phrases holding a kind's name (or a word the LM reads as one) that name no item, each with the word
# whose kind it hides: they neither vote nor let the LM read that kind ("not too dressed up" is no
# dress; "soft pastel shades" are no sunglasses; "his french-cuff shirts" want cufflinks: in the
# blind sets, five times of five).
_IDIOMS = {"black tie": "tie", "white tie": "tie", "on top": "top", "tie dye": "tie", "tie up": "tie", "to tie": "tie",
           "dressed up": "dress", "dress up": "dress", "dressing up": "dress", "dress down": "dress",
           "dressed down": "dress", "dress code": "dress", "overdressed": "dress", "underdressed": "dress",
           "too dressy": "dress", "not dressy": "dress", "nothing dressy": "dress", "overly dressy": "dress",
           **{f"{tone} shades": "shades" for tone in (
               "pastel", "soft", "softer", "muted", "earthy", "earth", "neutral", "natural", "warm", "jewel",
               "autumn", "autumnal", "nude", "berry", "subtle", "rich", "richer")},
           **{f"{tone} shades only": "shades" for tone in ("dark", "darker", "light", "lighter", "bright", "deep")},
           **{f"in {tone} shades": "shades" for tone in ("dark", "darker", "light", "lighter", "bright", "deep")},
           **{f"{who} dresses": "dresses" for who in ("she", "he", "who", "they")},
           "shades of": "shades", "blisters on my heels": "heels", "blisters on his heels": "heels",
           "blisters on her heels": "heels", "stocking filler": "stocking", "stocking fillers": "stocking",
           "stocking stuffer": "stocking", "stocking stuffers": "stocking",
           **{f"{cuff} cuff shirt{s}": f"shirt{s}" for cuff in ("french", "double") for s in ("", "s")},
           **{f"{grey} {time}": "" for grey in ("grey", "gray") for time in (
               "year", "day", "days", "week", "weeks", "month", "months", "winter", "skies", "sky", "weather",
               "mornings")},
           "feeling blue": "", "feeling grey": ""}  # fmt: skip
"""(A grey year, a grey day, feeling blue: a mood or the weather, no colour wished for: "something
yellow, it's been a grey year".)"""
_CUFF = {idiom for idiom in _IDIOMS if " cuff " in idiom}
"""The shirts said by their cuffs: they hide the shirt unless a wish for one comes just before
("I want a white double-cuff shirt": :data:`_WANTING`)."""
_GREY_TIMES = {idiom for idiom, word in _IDIOMS.items() if word == ""}
"""A mood or the weather ("a grey year", "feeling blue"): no colour, unless a name follows ("a grey winter coat")."""
_NO_HEAD = {idiom for idiom in _IDIOMS if idiom.startswith("in ") or "dresses" in idiom}
"""Idioms that say nothing of the name before them ("shirts in light shades", "a kurta he dresses up in")."""
_WANTING = {"want", "wants", "need", "needs", "looking", "lookin", "buy", "get", "find", "order", "after",
            "recommend"}  # fmt: skip
_EVENTS = {"event", "events", "do", "dinner", "dinners", "gala", "galas", "wedding", "weddings", "party",
           "parties", "affair", "ball", "optional", "evening", "night", "function", "reception", "occasion",
           "invite", "invitation", "dance", "prom", "thing", "dress", "outfit", "look", "attire", "gown",
           "suit", "code", "tux", "tuxedo", "shoes", "clutch", "bag"}  # fmt: skip
"""What follows "black tie" where it is a dress code ("a black tie gala", "black tie dress")."""


@functools.lru_cache(maxsize=8)
def _lexicon_phrases(allowed: frozenset) -> list[tuple[str, str]]:
    """(phrase, article type) for every everyday name of a type in the intent LM's training
    lexicon (:data:`vlrec.data.lexicon.NAMES`) that the served catalogue has, longest first;
    a phrase two types share is left out (it names neither for sure)."""
    from vlrec.data.lexicon import NAMES

    owners: dict[str, set[str]] = {}
    for kind, names in NAMES.items():
        if kind not in allowed:
            continue
        for name in names:
            core = " ".join(re.sub(r"[^a-z0-9 ]", " ", _ARTICLE.sub("", name.lower())).split())
            forms = {core}
            if name.lower().startswith(("a ", "an ")) and not core.endswith("s"):
                forms.add(core + "s")  # "a puffer" also says "puffers"
            elif " " in core and core.endswith("s") and not core.endswith("ss"):
                forms.add(core[:-1])  # "button downs" also says "button down" (never "short" from "shorts")
            for form in forms:
                owners.setdefault(form, set()).add(kind)
    for kind in allowed:  # the catalogue's own names ("tshirt", "trunk") where the lexicon has no say
        for form in _forms(kind, "articleType") - _ADJECTIVES:
            owners.setdefault(form, {kind})
    for vague in (
        _VAGUE | set(_IDIOMS) - {"black tie", "white tie"} - _CUFF
    ):  # those: :func:`_dress_code`, _idioms
        owners[vague] = {""}
    if "Ties" in allowed:  # "a silk tie up to 2000": a tie and a price, not "tie-up heels"
        for price in ("tie up to", "tie up till", "ties up to"):
            owners[price] = {"Ties"}
    return sorted(((p, next(iter(k))) for p, k in owners.items() if len(k) == 1), key=lambda pk: -len(pk[0]))


@functools.lru_cache(maxsize=8)
def _lexicon_pattern(allowed: frozenset):
    """One regex over every name (longest first, so the longest wins at a word) and each name's kind."""
    phrases = _lexicon_phrases(allowed)
    alternation = "|".join(re.escape(p) for p, _ in phrases) or "(?!)"
    return re.compile(rf"(?<= )(?=({alternation})(?= ))"), dict(phrases)


# "He wears white shirts to work, he needs new ones": what the shopper has is what they want again.
_AGAIN = re.compile(
    r"\b(?:new|fresh|more|replacement|another)\s+(?:ones?|pairs?|of them|of those)\b|\breplace(?:ments?)?\b"
)
_WORN_OUT = re.compile(
    r"\b(?:falling|fell|fallen|coming|came|come)\s+apart\b"
    r"|\b(?:has|have|got|gotten)\s+(?:a\s+)?(?:big\s+)?holes?\b(?!\s+(?:in\s+one|on\s+purpose))"
    r"|\bworn\s+(?:out|through)\b|\bseen better days\b|\bon (?:its|their) last legs\b"
)
_IT = {"it", "its", "they", "theyre", "mine", "mines", "one", "ones", "theirs", "hers"}
"""What is worn out ("my bf owns one belt and it's falling apart", "a cardigan. mine's got holes now",
"his only formal shoes are worn out"): the kinds named just before it, or, after "it" / "mine", the
last kind named before; not "I'm worn out after work", "my life is falling apart", "a hole in one"."""
_GOES_WITH = re.compile(r"\b(?:goes?|going|go)\s+with\b|\bto\s+(?:match|pair with|wear with)\b|\bmatching\b")
"""A go-with phrase: a worn-out thing named only before it is what the item goes with."""


def _worn_out(text: str, allowed) -> dict[str, float]:
    """The kinds :data:`_WORN_OUT` says are worn out: the item wanted again."""
    low = " ".join(_words(text))
    out: dict[str, float] = {}
    goes = _GOES_WITH.search(low)  # "what goes with my leggings? honestly it's all falling apart"
    for m in _WORN_OUT.finditer(low):
        if goes and goes.start() < m.start() and not _named_kinds(low[: goes.start()], allowed, False, False):
            if not _named_kinds(low[: goes.start()], allowed, True, False):
                continue  # what it goes with is all that is named before
        before = low[: m.start()].split()
        clause = before[len(before) - before[::-1].index(_BREAK) :] if _BREAK in before else before
        window = [w for w in clause[-5:] if w != _BREAK]
        if (
            set(window) & (NEGATION | {"yet"})
            or window[-2:-1] in (["im"], ["i"])
            or window[-1:] in (["im"], ["i"])
        ):
            continue  # "my jacket isn't worn out yet", "I'm totally worn out"
        said = {**_named_kinds(" ".join(window), allowed, False, False),
                **_named_kinds(" ".join(window), allowed, True, False)}  # fmt: skip
        if not said and set(window[-4:]) & _IT:
            found: list = []
            _named_kinds(" ".join(before), allowed, True, False, found)
            _named_kinds(" ".join(before), allowed, False, False, found)
            if found:
                said = {max(found)[2]: 1.0}  # the last named before "it"
        out.update(said)
    return out


def _fond_kinds(text: str, allowed) -> dict[str, float]:
    """The kinds named right after what someone is fond of wearing, where the request asks for
    more of the same, nothing to go with them, no change and no other kind ("my mom loves wearing
    kurtas, something in green for her", "he only wears collared shirts, want to gift him a
    couple"; not "she always wears kurtas, something to go with them", "he only wears jeans,
    something smarter", "she always wears jeans, want something for a wedding"): the item itself."""
    low = " " + " ".join(_words(text)) + " "
    fond = [m.end() for m in _FOND.finditer(low)]
    coloured = any(m.group(1) in _plain_colour_words() for m in _IN_COLOUR.finditer(low))
    if not fond or _GOES.search(low) or not (_MORE.search(low) or coloured):
        return {}
    spans: list[tuple[int, int, str]] = []
    _named_kinds(text, allowed, True, False, spans)
    out = {
        kind: 1.0
        for start, _, kind in spans
        if any(0 <= start - end and len(low[end:start].split()) <= 2 for end in fond)
    }
    return out if {kind for _, _, kind in spans} == set(out) else {}  # nor where others are named


def _again(text: str) -> bool:
    """Whether the shopper asks for new ones of what they have (not "doesn't need new ones")."""
    low = " ".join(_words(text))
    return any(not set(low[: m.start()].split()[-3:]) & NEGATION for m in _AGAIN.finditer(low))


_FOND = re.compile(
    r"\b(?:loves?|likes?|prefers?|enjoys?|adores?)\s+(?:wearing|to wear)\b"
    r"|\b(?:only|always|mostly|usually)\s+(?:wears?|wearing)\b"
)
_MORE = re.compile(
    r"\b(?:a couple|couple of|a few|another|one more|new ones|similar)\b|\b(?:some|few|one|two|any|couple)\s+more\b"
    r"|\bmore\s+(?:of (?:them|those|these)|ones|pairs|like (?:these|those|them))\b"
)  # more of the same: "want to gift him a couple" (not "something more formal")
_IN_COLOUR = re.compile(r"\b(?:something|one|ones|some)\s+in\s+([a-z]+)")  # "something in green or blue"
_GOES = re.compile(
    r"\b(?:with|match|matching|matches|under|over|pair|beneath|complement|smarter|different|else|other|instead"
    r"|change|besides|apart|but|try|tried|trying)\b"
)  # "to go with them", "he only wears jeans, something smarter": not more of the same


def lexicon_kinds(text: str, allowed, context: bool = False, strict: bool = False) -> dict[str, float]:
    """Article types the request names in everyday words ("a bum bag", "puffer", "trainers"): a
    vote for :func:`vlrec.adapters.intent.with_vote`. Longest phrase first, each stretch of text
    counted once; a name right after a negation ("not flip flops") does not vote (the negation
    guard excludes it), nor one the wanted item goes with ("for formal trousers", "under my
    kurtis"). ``context``: instead, the kinds named as what the wanted item goes with; ``strict``:
    only those a word other than a possessive marks ("for my jeans", not "losing his sunnies").
    Where the shopper wants new ones of what they have and names nothing else ("he wears white
    shirts, he needs new ones"), those kinds are the item, not context."""
    named = _named_kinds(text, allowed, False, strict)
    if not named and (worn := _worn_out(text, allowed)):  # "owns one belt and it's falling apart"
        if not context:
            return worn
        return {k: v for k, v in _named_kinds(text, allowed, True, strict).items() if k not in worn}
    if not named and (fond := _fond_kinds(text, allowed)):  # "my mom loves wearing kurtas"
        if not context:
            return fond
        return {k: v for k, v in _named_kinds(text, allowed, True, strict).items() if k not in fond}
    if named or not _again(text):
        return _named_kinds(text, allowed, True, strict) if context else named
    theirs = _named_kinds(text, allowed, True, False)
    return {} if context else theirs


def _named_kinds(
    text: str, allowed, context: bool, strict: bool, items: list | None = None
) -> dict[str, float]:
    allowed = set(allowed)
    low = " " + " ".join(_words(text)) + " "
    pattern, owner = _lexicon_pattern(frozenset(allowed))
    taken = [False] * len(low)
    found = []
    # the longest name starting at each word, then the longest names first
    spans = sorted(((m.start(), m.start() + len(m.group(1))) for m in pattern.finditer(low)),
                   key=lambda se: (se[0] - se[1], se[0]))  # fmt: skip
    for start, end in spans:
        if not any(taken[start:end]):
            taken[start:end] = [True] * (end - start)
            found.append((start, end, owner[low[start:end]]))
    if " cuff " in low:  # "his french-cuff shirts" (the idioms read only where one may be: a hot path)
        hidden = [(a + 1, b + 1) for a, b, idiom in _idioms(text)[1] if idiom in _CUFF]
        found = [
            (start, end, kind) for start, end, kind in found if not any(a <= start < b for a, b in hidden)
        ]
    heads = {start for start, end, kind in found if kind or low[start:end] not in _VERBS | _NO_HEAD}
    given = any(  # "bought him a blazer, something for his collar" (not "something for my aunt")
        m.group("who") not in _PEOPLE | _RECIPIENTS for m in _GIVEN.finditer(low)
    ) and not _SAME.search(low)
    votes: dict[str, float] = {}
    last_context = False
    every = low.split()
    contents = _contents(
        _words(text, commas=True) if " " + _BREAK + " " in low else every,
        [(len(low[:start].split()), start, kind, len(low[:end].split()) - 1) for start, end, kind in found],
    )
    for start, end, kind in sorted(found):
        words = low[:start].split()[-5:]
        if low[start:end] in ("tie", "ties") and words[-1:] in (["black"], ["white"]):
            if _dress_code(every, len(low[:start].split()) - 1):
                continue  # "a black tie gala": a dress code, no tie
        before = words[-3:]
        after = low[end + 1 :].split()[:3]
        part = after[:1] in _PARTS and not (
            after[1:] and re.match(r"\d|size|length", after[1])
        )  # not "jeans waist 32", "a shirt sleeve length 34"
        if (end + 1 in heads or part) and kind not in _FEATURES:
            continue  # "slip-on sandals", "a woolly neck thing": a name right before another (or a body
            # part) describes it; the last one is the item
        if _BREAK in before:  # a negation does not reach past a comma or a full stop
            before = before[len(before) - before[::-1].index(_BREAK) :]
        if not kind or any(w in NEGATION for w in before):
            last_context = False
            continue
        # "my dresses and kurtis": a name joined to one the item goes with goes with it too
        joined = before[-1:] in (["and"], ["or"]) and last_context
        # "black with a heel", "with a bit of a heel": what the item has, not what it goes with
        heeled = (
            low[start:end] == "heel"
            and bool(has := _WITH_A.search(low[:start]))
            and not _PAIRED_WITH.search(low[: has.start()])
        )
        last_context = (
            joined or (not heeled and _goes_with(words, after=after, given=given)) or start in contents
        )
        if last_context == context and not (
            context
            and strict
            and not joined
            and not heeled
            and not _goes_with(words, True, after, given)
            and start not in contents
        ):
            votes[kind] = votes.get(kind, 0.0) + 1.0
            if items is not None:  # where each kind voted for is said
                items.append((start, end, kind))
    return votes


_WITH_A = re.compile(r"\bwith\s+(?:a|an)\s+(?:[a-z-]+\s+){0,3}$")
""""with a" and up to three describing words right before a singular name: what the item has (not
after a verb of wearing together, :data:`_PAIRED_WITH`: "trousers that look good with a heel")."""
_PAIRED_WITH = re.compile(
    r"\b(?:go|goes|going|wear|wears|wearing|worn|look|looks|looking|pair|pairs|paired|style|styled|team|match)"
    r"(?:\s+[a-z]+){0,2}\s*$"
)
_SETS = {"set", "sets", "combo", "combos", "hamper", "hampers", "box", "boxes"}
# What a gift set holds: a set word after these is a boxed set ("a tie and cufflink combo"), after
# clothes it is an outfit ("a skirt-and-blouse combo", "a skirt-top set" are a skirt and a top).
_BOXED = {"Ties", "Cufflinks", "Wallets", "Belts", "Perfume and Body Mist", "Deodorant"}
_SET_FILLER = {"gift", "boxed", "pocket", "square", "squares", "hanky", "hankies", "handkerchief", "handkerchiefs",
               "and", "n", "or"}  # fmt: skip
"""What may stand between the last of a set's contents and the set word ("tie + cufflinks + pocket square combo")."""
_SQUARE = {
    "hanky",
    "hankies",
    "handkerchief",
    "handkerchiefs",
}  # and "pocket square(s)" (not "square cufflinks")
_WITHIN = {"with", "containing", "including", "incl", "where"}
_SET_OF = {"combo", "combos", "hamper", "hampers"}  # "a combo of": its contents ("a set of socks": socks)


def _listed(every: list[str], at: int, starts: set[int]) -> bool:
    """Whether a name starts at word ``at`` of ``every`` (after "a", "an", or "and" / "or" and
    those: "a tie, cufflinks, and belt combo")."""
    if at < len(every) and every[at] in {"and", "or", "n"}:
        at += 1
    if at < len(every) and every[at] in {"a", "an"}:
        at += 1
    return at in starts


def _contents(every: list[str], named: list[tuple[int, int, str, int]]) -> set[int]:
    """Where (the character starts of) names are said as what a set holds: two or more kinds named
    within eight words after "a set / box with / where", "a combo / hamper of" ("a boxed set with
    tie, cufflinks and pocket square", "a boxed set where the tie and cufflinks match"; not "a combo
    of 3 t-shirts", a multipack, nor "I'm all set with shoes"), or, of what gift sets hold
    (:data:`_BOXED`), two or one with a pocket square, within six words before a set word, the last
    right before it, a comma only between names ("a tie and cufflink combo", "a tie, cufflink and
    pocket square combo", "a tie + pocket square set"; not "a skirt-and-blouse combo", "a belt and
    wallet that won't set me back", "perfume and deo, not a set"). ``every``: the words, commas told
    apart (``_COMMA``); ``named``: (word index, character start, kind, last word index) of each name."""
    out: set[int] = set()
    for i, w in enumerate(every[:-1]):
        if w not in _SETS or not (every[i + 1] in _WITHIN or (w in _SET_OF and every[i + 1] == "of")):
            continue
        if i and every[i - 1] in {"all", "im", "am", "be", "get", "getting", "is", "are"}:
            continue  # "I'm all set with shoes"
        inside = [(start, kind) for at, start, kind, _ in named if i + 1 < at <= i + 9 and kind]
        if every[i + 1] == "where" and not {kind for _, kind in inside} <= _BOXED:
            continue  # "co-ord sets where the top and trousers match": clothes, the item itself
        if len({kind for _, kind in inside}) >= 2:
            out |= {start for start, _ in inside}
    for i, w in enumerate(every):  # "a matching tie and cufflink (gift) combo"
        if w not in _SETS or every[i + 1 : i + 2] in (["of"], ["with"]):
            continue  # "a belt, a tie and a set of cufflinks": the set is of cufflinks
        before = sorted(
            (at, start, kind, last) for at, start, kind, last in named if i - 6 <= at < i and kind
        )
        if not before or any(x not in _SET_FILLER for x in every[before[-1][3] + 1 : i]):
            continue  # the last name right before the set word ("won't set me back", "to set off his suit")
        starts, lasts = {at for at, _, _, _ in before}, {last for _, _, _, last in before}
        if any(
            x == _BREAK or (x == _COMMA and not (j - 1 in lasts and _listed(every, j + 1, starts)))
            for j, x in enumerate(every[before[0][0] : i], before[0][0])
        ):
            continue  # "perfume and deo, not a set", "perfume for her, deo set for him", "a wallet.
            # belt set" (but "a tie, cufflink and pocket square combo": a list)
        if {"or", "ya"} & set(every[before[0][0] : i]):
            continue  # "a perfume or a deo set": one or the other, not what a set holds
        boxed = {kind for _, _, kind, _ in before}
        near = every[max(0, i - 6) : i]  # "a tie + pocket square set", "hanky + neckwear combo"
        stops = [n for n, x in enumerate(near) if x in (_BREAK, _COMMA) or x in NEGATION]
        near = near[stops[-1] + 1 :] if stops else near  # not "no pocket square, just a tie set"
        square = set(near) & _SQUARE or any(
            a == "pocket" and b in ("square", "squares") for a, b in zip(near, near[1:])
        )
        if (len(boxed) >= 2 or square) and boxed <= _BOXED:
            out |= {start for _, start, _, _ in before}
    return out


_HAVING = {"have", "has", "had", "got", "gotten", "own", "owns", "loves", "bought", "wear", "wears", "usually",
           "already", "lives", "living"}  # fmt: skip
_LIST_WORDS = {"\u00a7", "or", "and", "nor", "n", "ya", "aur", "a", "an", "some", "maybe", "even", "perhaps", "small",
               "little", "big", "nice", "simple", "cute", "plain", "good"}  # fmt: skip
"""What may stand between two kinds of a list ("a fanny pack or a small cross-body thing")."""


def listed_kinds(text: str, allowed) -> set[str]:
    """Kinds the request names one right after another as a list ("a handbag or clutch", "sandals,
    flip flops or slides", "a cap and sunnies"): every one of them is wanted, as in a list of
    colours. Empty where it names fewer than two so (a kind it goes with is no part of a list)."""
    spans: list[tuple[int, int, str]] = []
    _named_kinds(text, allowed, False, False, spans)
    low = " " + " ".join(_words(text)) + " "
    out: set[str] = set()
    for (head, end, first), (start, _, second) in zip(spans, spans[1:]):
        if set(low[:head].split()[-3:]) & _HAVING:
            continue  # "she loves dresses and heels, find her a bag": what she has or likes
        between = low[end:start].split()
        joined = set(between) & {_BREAK, "or", "and", "nor", "n", "ya", "aur"}
        if first != second and len(between) <= 3 and set(between) <= _LIST_WORDS and joined:
            out |= {first, second}
    return out


def want_listed(intent, text: str, allowed: dict, ruled: set[str], named, items: dict) -> None:
    """Where ``text`` names kinds as a list (:func:`listed_kinds`; less those ``ruled`` out or
    named as what the item goes with) and two or more are left, ``intent`` wants all of them, and
    the intent LM's own choice among the kinds ``named``. Where no audience is read and one of
    them is worn by one audience only ("bras and knickers"), that audience ranks first (where all
    such kinds agree). Nothing changes where the LM read a kind outside the list."""
    listed = listed_kinds(text, allowed.get("articleType", ())) - ruled
    read = set(intent.want.get("articleType", {})) | set(intent.unsure.get("articleType", {}))
    if len(listed) < 2 or (read and not read & listed):
        return  # the LM's kind is not of the list: "jeans and tees I have, want something smarter"
    listed |= set(intent.want.get("articleType", {})) & set(named)
    intent.want["articleType"] = dict.fromkeys(sorted(listed), 1.0)
    intent.unsure.pop("articleType", None)
    if "gender" in intent.want or "gender" in intent.unsure:
        return
    tops = set()
    for kind in listed:
        who = Counter(m.get("gender") for m in items.values() if m.get("articleType") == kind)
        top, count = max(who.items(), key=lambda kv: kv[1], default=(None, 0))
        if top and count >= 0.9 * sum(who.values()):
            tops.add(top)
    if len(tops) == 1:  # every kind worn by one audience agrees ("a shirt or a top": no lean)
        intent.unsure["gender"] = {tops.pop(): 1.0}  # ranks, never filters


_BREAK = "\u00a7"  # stands for a comma, a full stop or a bracket among the words
_COMMA = "\u00b6"  # a comma, where it is told apart (:func:`_contents`)


def _words(text: str, commas: bool = False) -> list[str]:
    """The text's words, lower case, apostrophes dropped, each break in a sentence a word ``_BREAK``
    (``commas``: a comma the word ``_COMMA`` instead; the words are the same otherwise)."""
    low = with_negations(text).lower().replace("'", "").replace(_COMMA, " ")
    low = SCOPE_BREAK.sub(lambda m: f" {_COMMA if commas and m.group(0) == ',' else _BREAK} ", low)
    return re.sub(rf"[^a-z0-9 {_BREAK}{_COMMA}]", " ", low).split()


_HOLD = {"hold", "holds", "holding", "keep", "keeps"}
_STOP = {"stop", "stops", "stopping", "keep", "keeps"}
_SLIP = {"slipping", "falling", "sliding", "sagging", "from"}
# after a slip word: not what the item holds up ("flip flops keep falling apart", "a headband keeps slipping off")
_APART = {"apart", "off", "out", "over", "to"}
# "matching" after these describes the item itself ("proper matching tracksuits"); after a kind's
# name it marks what the item goes with ("a belt matching heels").
_MATCHING_ITSELF = {"", "proper", "nice", "cute", "cool", "fun", "little", "cheap", "good", "new", "want", "need",
                    "needs", "buy", "get", "find", "any", "two", "couple", "pair", "pairs", "of", "some", "for"}  # fmt: skip
_BEGGING = _SEEKING | {"begging", "begs", "asking", "asks", "wants", "wanted", "saving", "longing", "dying",
                       "desperate", "bugging", "nagging", "pestering"}  # fmt: skip
_OBJECTS = {"me", "us", "him", "her"}
_PAYING = {"money", "cash", "budget", "save", "saving", "saved", "savings", "pooling", "pooled", "collection",
           "chipping", "chipped", "chip"}  # fmt: skip
_PARTICLES = {"up", "in", "together"}
"""Money put toward what follows "for" ("pooling money for a watch", "saving up for a watch", "chipping
in for a watch"): the item itself."""
_BOUGHT = {"bought", "gifted", "gave"}  # what the shopper has already given
_GIVEN = re.compile(
    r"\b(?:something|anything|a thing|stuff)\s+(?:to|that|for\s+(?:(?:my|his|her|their|the|our)\s+)?(?P<who>[a-z]+))\b"
)
_SAME = re.compile(
    r"\b(?:same|similar|another|again|more|size|smaller|bigger|larger|exchange|return|fit|fits|replace\w*|like it"
    r"|like that|too|also|as well|loved it|liked it)\b"
)
"""After a thing bought: "something for his collar" asks for another (the thing bought is what it
goes with); "they don't fit, need a smaller size", "want similar ones" ask for it again."""
_RECIPIENTS = {"aunt", "aunty", "auntie", "uncle", "cousin", "cousins", "grandad", "granny", "friends", "him", "her",
               "them", "me", "myself", "us", "bhai", "didi", "nani", "dadi"}  # fmt: skip
"""Whom "something for" may name: then it asks for another person, not for another thing."""
_ASKING = {"begging", "begs", "begged", "asking", "asks", "asked", "bugging", "nagging", "pestering"}
_ARTICLES = {"a", "an", "the", "some"}
_CINCH = {"cinch", "cinches", "cinching"}


def _goes_with(words: list[str], strict: bool = False, after: list[str] = (), given: bool = False) -> bool:
    """Whether a name after ``words`` (the last five words before it) is what the wanted item goes
    with: right after a context word ("for formal trousers", "under my kurtis") unless that is the
    "for" of looking for something ("looking for trainers") or an "of" not followed by a possessive
    ("a pair of shades", "in the way of gloves"; but "the waist of my dresses"), or after "over /
    under / with / match" and a determiner and one describing word ("over a sleeveless dress"), or
    after "for / over / under / with" and a possessive and two ("links for my double-cuff shirts";
    not past a person: "for my wife a dress", nor after looking for). "Matching" right after a
    determiner or a describing word is the item's own ("a proper matching tracksuit").
    ``strict``: a possessive alone ("losing his sunnies") does not count. After "hold up" or
    "keep up" ("to hold up the school trousers", "to hold my trousers up": ``after``, the words after
    the name) a name is what the item keeps up; after "his own" or "own zero" it is the item itself.
    A context word does not reach past a comma or a full stop ("I'll fall over. Block heels").
    ``given``: the request asks for something beside what was bought (:data:`_GIVEN`), so a name
    within four words after "bought / gifted / gave" is what the item goes with."""
    if _BREAK in words:
        words = words[len(words) - words[::-1].index(_BREAK) :]
    if given and set(words[-4:]) & _BOUGHT and not set(words[-4:]) & (_WANTING | NEGATION):
        return True  # "bought my son a blazer for his graduation, want something for his collar"
    if (
        after[:1]
        and after[0] in _STOP
        and after[1:2]
        and after[1] in _SLIP - {"from"}
        and not set(after[2:3]) & _APART
    ):
        return True  # "formal trousers keep sliding down", "keep slipping at work" (not "falling apart")
    if words[-1:] == ["own"] and words[-2:-1] and words[-2] in _POSSESSIVE:
        ahead = words[-3] if len(words) >= 3 else ""
        if ahead not in _CONTEXT or (ahead == "for" and len(words) >= 4 and words[-4] in _BEGGING):
            return False  # "begging for his own watch", "wants her own bag": the item itself (not "a
            # belt for his own jeans", "to go with his own shirts")
    if words[-1:] == ["zero"] and words[-2:-1] and words[-2] in _HAVING:
        return False  # "I own zero neckties": what the shopper lacks (not "flats with zero heels")
    if after[:1] == ["up"] and len(words) >= 2 and words[-2] in _HOLD and words[-1] in _DETERMINER:
        return True  # "to hold my trousers up"
    if (
        after[:1]
        and after[0] in _SLIP
        and len(words) >= 2
        and words[-2] in _STOP
        and words[-1] in _DETERMINER
    ):
        return True  # "something to stop my trousers slipping down"
    if (len(words) >= 2 and words[-2] in _CINCH and words[-1] in _DETERMINER) or (
        len(words) >= 3 and words[-3] in _CINCH and words[-2] in _DETERMINER
    ):
        return True  # "something to cinch my (oversized) kurti"
    for j in range(len(words) - 1):  # "to hold up the school trousers" (not "I keep ripping up tights")
        if words[j] in _HOLD and words[j + 1] == "up":
            if len(words) - j - 2 <= 2 and _BREAK not in words[j + 2 :]:
                return True
    for back in (1, 2):
        if len(words) < back or words[-back] not in _CONTEXT or (strict and words[-back] in _POSSESSIVE):
            continue
        word, previous = words[-back], words[-back - 1] if len(words) > back else ""
        if back == 2 and (
            words[-1] in _PEOPLE | _SIDES or (word in _POSSESSIVE and words[-1] in _ARTICLES | _LIMBS)
        ):
            continue  # "for my mum with zero height": the person is not the thing it goes with; "get
            # her a cardigan": "her" is whom it is for; "for her feet with a bit of height": where
            # it is worn, not a thing it goes with
        if word == "matching" and (previous in _DETERMINER | _MATCHING_ITSELF or previous.isdigit()):
            continue  # "a matching jogging set", "matching tees for me and my boyfriend", "a proper
            # matching tracksuit": the item itself, matching in itself (but "a top matching my
            # skirt", "a belt matching heels")
        if word == "in" and (back == 2 or previous not in _WORN):
            continue  # "in" marks what is worn only after such a verb ("my feet hurt in heels")
        begged = previous in _OBJECTS and len(words) > back + 1 and words[-back - 2] in _ASKING
        paid = previous in _PAYING or (
            previous in _PARTICLES and len(words) > back + 1 and words[-back - 2] in _PAYING
        )  # "pooling money for a watch", "saving up for a watch", "chipping in for a watch"
        if (word == "for" and (previous in _SEEKING or begged or paid)) or (
            word == "of" and (back == 1 or words[-1] not in _POSSESSIVE)
        ):
            continue  # "looking for trainers", "begging me for jeans", "a pair of shades", "in the way
            # of gloves": the item itself
        return True
    if (
        len(words) >= 4
        and words[-3] == "for"
        and (
            words[-4] in _SEEKING | _PAYING
            or (words[-4] in _PARTICLES and len(words) >= 5 and words[-5] in _PAYING)
        )
    ):
        return False  # "looking for a black dress", "saving up for a new watch": the item itself
    if len(words) >= 5 and words[-3] == "for" and words[-4] in _OBJECTS and words[-5] in _ASKING:
        return False  # "begging me for a new dress"
    if (
        len(words) >= 4
        and words[-4] in _OVER | {"for"}
        and not (len(words) >= 5 and words[-5] in _SEEKING)  # "looking for my daughter's prom dress"
        and words[-3] in _POSSESSIVE
        and words[-2] not in _PEOPLE  # "for my wife a dress" (but "for my dad's grey jeans")
        and words[-1] not in _PEOPLE | _DETERMINER
        and words[-1][:-1] not in _PEOPLE
    ):
        return True  # "links for my double-cuff shirts": a possessive reaches past two describing words
    if (
        len(words) >= 4
        and words[-4] in _OVER
        and words[-3] in _DETERMINER
        and words[-1] in ("coloured", "colored", "toned")
    ):
        return True  # "going with a wine coloured kurta": a colour said in two words
    if (
        len(words) >= 4
        and words[-4] in _UNDER
        and words[-3] in _DETERMINER
        and not set(words[-2:]) & (_PEOPLE | _LIMBS | _DETERMINER)
    ):
        return True  # "to wear under a white office shirt": two describing words
    return (
        len(words) >= 3
        and words[-3] in _OVER | {"for"}
        and words[-2] in _DETERMINER
        and words[-1] not in _PEOPLE
        and not (words[-2] in _POSSESSIVE and words[-1] in _LIMBS)  # "for her feet with a bit of height"
        and not (words[-2] in _POSSESSIVE and words[-1] in _ARTICLES)  # "for her a ...": whom it is for
    )


def _dress_code(words: list[str], at: int) -> bool:
    """Whether "black tie" / "white tie" at word ``at`` of ``words`` (:func:`_words`) is a dress code
    ("a black tie gala", "the dress code is black tie", "the wedding's black tie", "going to a black
    tie") rather than a tie ("black tie for a funeral", "which black tie do you like")."""
    after = words[at + 2 : at + 4]
    before = [w for w in words[max(0, at - 3) : at] if w != _BREAK][-2:]  # "dress code: black tie"
    event = after[:1] and after[0] in _EVENTS and not (after[0] == "do" and after[1:] and after[1] in _WHO)
    return bool(
        event
        or before[-1:] in (["is"], ["its"], ["strictly"], ["code"])
        or (before[-1:] and before[-1].endswith("s") and before[-1][:-1] in _EVENTS)  # "the wedding's"
        or (before in (["to", "a"], ["at", "a"]) and not after[:1])
    )


_WHO = {"you", "i", "we", "they", "he", "she", "u"}


def _idioms(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The text as :func:`_words` reads it (breaks kept), and (start, end, idiom) of each phrase of
    :data:`_IDIOMS` said there as one."""
    low = " ".join(_words(text))
    words, out = low.split(), []
    pattern = rf"(?<![a-z0-9])(?:{'|'.join(sorted(_IDIOMS, key=len, reverse=True))})(?![a-z0-9])"
    for m in re.finditer(pattern, low):
        if m.group(0) in ("black tie", "white tie") and not _dress_code(words, len(low[: m.start()].split())):
            continue
        if m.group(0) in _CUFF and set(low[: m.start()].split()[-3:]) & _WANTING:
            continue  # "I want a white double-cuff shirt": the shirt itself
        if m.group(0) in _GREY_TIMES and set(low[m.end() :].split()[:2]) & _name_words():
            continue  # "a grey winter coat": a grey coat (not "it's been a grey year", "grey days like these")
        if m.group(0) == "tie up" and re.match(r" (?:to|till)\b", low[m.end() :]):
            continue  # "a silk tie up to 2000": a tie and a price
        out.append((m.start(), m.end(), m.group(0)))
    return low, out


@functools.lru_cache(maxsize=1)
def _name_words() -> frozenset[str]:
    """The last word of each everyday name of a kind ("coat", "boots", "tee"), singular and plural."""
    from vlrec.data.lexicon import NAMES

    last = {p.lower().split()[-1] for ps in NAMES.values() for p in ps if p.strip()}
    return frozenset(last | {w + "s" for w in last} | {w[:-1] for w in last if w.endswith("s")})


def without_idioms(text: str) -> str:
    """``text`` (as :func:`_words` reads it) less the phrases that name no item ("a black tie gala",
    "tie dye"): their colours are not wishes."""
    low, found = _idioms(text)
    for start, end, _ in reversed(found):
        low = low[:start] + " " + low[end:]
    return low


def idiom_kinds(text: str, allowed) -> set[str]:
    """Kinds whose name the request says inside a phrase that names no item ("a black tie gala":
    ties; "something tie dye": ties; "on top": tops; "not too dressed up": dresses; "pastel
    shades": sunglasses), for the LM's reading to drop (unless the words name them elsewhere)."""
    owner = dict(_lexicon_phrases(frozenset(allowed)))
    return {owner[_IDIOMS[idiom]] for _, _, idiom in _idioms(text)[1] if owner.get(_IDIOMS[idiom])}


# "a small thing to carry on a night out: phone, keys, lipstick", "a purse — holds phone, cards, a
# lipstick": what the item is to hold (not "nothing fits me since the baby, a swimsuit").
_CARRY = re.compile(
    r"\b(?:to|that|can|will|for)\s+(?:carry|carries|carrying|hold|holds|fit|fits|store|stash)\b"
    r"|\b(?:holds|carries|carrying)\b"
)
_HELD = {"carry", "hold", "holds", "keep", "store", "put", "fit", "fits", "and"} | _CONTEXT


def uncarried_kind(text: str, allowed) -> tuple[str, tuple[str, str] | None] | None:
    """A kind the request asks for that the catalogue does not carry ("gold earrings for a
    wedding", where no kind of that name is in ``allowed``; :data:`vlrec.data.lexicon.UNCARRIED`):
    its name and the catalogue category nearest to it (or None). None where the words also name a
    kind the catalogue has, or where the name is negated or what the item holds or goes with ("a
    clutch for my lipstick", "something to carry my phone and lipstick")."""
    from vlrec.data.lexicon import UNCARRIED

    kinds = {k.lower() for k in allowed}
    low = text.lower().replace("-", " ").replace("'", "").replace("\u2019", "")  # "isn't": isnt, a negation
    low = " " + " ".join(re.sub(r"[^a-z0-9 ]", " ", low).split()) + " "
    for name, (words, near) in UNCARRIED.items():
        if any(name.rstrip("s").replace("-", " ") in k for k in kinds):
            continue  # this catalogue has it
        for word in sorted(words, key=len, reverse=True):
            at = low.find(f" {word.replace('-', ' ')} ")
            if at < 0:
                continue
            before = low[:at].split()[-3:]
            if set(before) & (_HELD | NEGATION) or _CARRY.search(low[:at]) or lexicon_kinds(text, allowed):
                return None  # "to carry on a night out: just phone, keys, lipstick": what it holds
            return name, near
    return None


# "my neck", "his wrist", "my mum's neck", "my ears and neck", "her head or neck" (both) — not "a
# v-neck" or "crew neck", nor a region ("from the waist down": bottoms, not belts), nor a size
# ("jeans waist 32", "neck size 16").
_BODY = re.compile(
    r"(?:\b(?:my|his|her|their|your|our|the|[a-z]+s)\s+(?:bald\s+|bare\s+|shaved\s+|sweaty\s+)?"
    r"|^(?=(?:[a-z]+\s+(?:and|&|n)\s+)?(?:neck|head)\s+(?:(?:are|is|r|get|gets|keep|keeps|go|goes|always|got|getting"
    r"|properly|so|really)\s+){0,3}(?:freez\w*|frozen|cold|numb|icy|chilly|sunburn\w*|burnt|burned|burning)\b))"
    r"(?:(?P<also>neck|head|wrists?|waist)\s+(?:and|or|&|n)\s+|[a-z]+\s+and\s+)?(?:back\s+|front\s+)?"
    r"(neck|wrists?|heads?|forehead|eyes|waist|pocket|cuffs)\b(?!\s+(?:down|up|size|money|friendly|square|\d)\b|\s+\d|\s+to\s+(?:toe|foot|feet)\b)"
    r"|\b(?:go|goes|going|sit|sits|wear|wears|worn|cinch|cinches|wrap|wraps|tie|ties|fasten|fastens)\s+"
    r"(?:round|around)\s+(?:the|my|his|her|their|your|our)\s+(middle)\b"
    r"|\b(?:my|his|her|their|your|our|for the)\s+(upper\s+(?:half|body)|top\s+half|lower\s+(?:half|body)|bottom\s+half)\b(?!\s+(?:of|is|are|was)\b)"
    r"|\bfor\s+(?:the\s+)?top\s+(?:and|&|n)\s+(?:the\s+)?bottoms?\b(?P<top_bottom>)"
    r"|\b(?:wear|wearing|put)\s+on\s+top\b(?!\s+of\b)(?P<on_top>)"
    r"|\b(?:(?:just|only)\s+(?:(?:need|want)\s+)?(?:the\s+|some\s+)?bottoms|bottoms\s+only)\b(?P<bottoms>)"
    r"|\b(?:below|past)\s+the\s+knees?\b(?P<knee>)"
    r"|\b(neck|wrist|head|waist)\s+(?=(?:thing|things|stuff|bit|piece|warmer|warmers|wear)\b)"
    r"|\b(?:for|on|round|around|at)\s+(?:my|his|their|your|our)\s+(collar)\b(?!\s+(?:size|length|\d))"
    r"|(?<!patch )(?<!patches )(?<!badge )(?<!badges )\bfor\s+(?:my|his|their|your|our)\s+(?:shirt\s+)?(?:sleeves|cuffs?)\b(?!\s+(?:size|length|\d))(?P<own_sleeves>)"
    r"|\b(?:carry|carries|carried|carrying|wear|wears|wearing|worn|sling|slung|put|goes|go|sit|sits)\s+(?:it\s+|them\s+)?"
    r"(?:on|across)\s+(?:my|his|her|their|your|our)\s+(back)\b"
    r"|\b(?:go|goes|going|worn|wear|wears|clip|clips|fasten|fastens)\s+(?:on|onto|through|in)\s+(?:my|his|the|your|their)?\s*"
    r"(?:(?:shirt|shirts|dress shirt)\s+)?cuffs\b(?P<cuffs>)|(?:shirt|shirts|dress shirt)\s+sleeves\b(?P<sleeves>)"
    r"|\b(?:bags?|pouch|sling|ones?)\s+(?:that|which|to)?\s*(?:go|goes|going|is|are|worn|wear|sling|slung|carried)\s+(?:right\s+)?across\s+(?:my|his|her|their|your|ur|our|the)\s+(?:chest|body)\b(?P<chest>)"
    r"|\b(?:carry|carries|carrying|lug|lugging)\s+(?:my|his|her|their|your|our|a|an|the|some|all|everything|it|them)\s+"
    r"(?:(?!(?:not|rather|than|instead|on|over|across)\b)[a-z]+\s+){0,5}?(?:on|across)\s+(?:my|his|her|their|your|our)\s+(back)\b"
)  # "a wrist thing", "a neck warmer", "his back pocket", "to wear on his back", "to carry my laptop
# and lunch to college on my back" too
_BODY_GROUPS = [
    next((n for n, i in _BODY.groupindex.items() if i == j), "") for j in range(1, _BODY.groups + 1)
]
_INTERVIEW = re.compile(r"\binterviews?\b")
_SUITED = re.compile(r"\b(?:suits?|interviews?|formal|formals|bank|boardroom|board meetings?|corporate)\b")
_AT_WORK = re.compile(r"\b(?:work|office|meetings?)\b")
_HIS = re.compile(
    r"\b(?:he|his|him|husband|hubby|dad|father|papa|brother|son|boyfriend|bf|guy|bloke|man|men|mens"
    r"|male|gents|groom|uncle)s?\b"
)
_HERS = re.compile(
    r"\b(?:she|shes|her|hers|woman|women|ladies|lady|wife|girlfriend|gf|mum|mom|mother|sister"
    r"|daughter|salwar|kurta|kurti|churidar|saree|sari)s?\b"
)
_AIR_CON = re.compile(r"\b(?:ac|a/c|air ?con|aircon|air conditioning|draughty|drafty)\b")
"""A neck said with a suit, an interview or a man's work is a tie's ("a smart neck piece for my suit",
"something for my husband's neck at work"); not with warmth or the office air ("a warm wrap for
his neck in the office AC"), nor said of a woman ("for her neck, to go with her suits")."""
_REGION = {"below", "above", "under", "from"}  # "something to wear below the waist": a region, no belt
_SWEAT = re.compile(
    r"\bsweat\w*\s+(?:[a-z]+\s+){0,3}?(?:into|in|out of|from|off)\s+(?:my|his|her|their|your|our|the)\s+eyes\b"
)  # "to keep the sweat out of my eyes": the forehead's (not "sweat-proof, to protect my eyes")
_GLARE = re.compile(r"\b(?:sun|sunlight|glare|dust|wind|light|uv)\b")
_COLD_FEET = re.compile(
    r"(?<!\d )(?<!\d)\b(?<!one )(?<!two )(?<!three )(?<!four )(?<!five )(?<!six )(?<!seven )"
    r"(?<!get cold )(?<!getting cold )(?<!got cold )(?<!has cold )(?<!have cold )(?<!having cold )"
    r"(?:feet|toes)\b(?!\s+(?:tall|high|long|wide|deep|away)\b)"
)  # not "six feet tall", "getting cold feet about the wedding"
_WARMTH = re.compile(
    r"(?<!too )(?<!so )\b(?:warm|warmer)\b(?!\s+(?:weather|days?|climates?|temperatures?|countr\w+|places?|months?|summers?|all day))"
    r"|\b(?:cold|freeze|freezes|freezing|frozen|chilly|icy|knit|knitted|knitting|woolly|wooly|cosy|cozy)\b"
)
"""Feet and warmth in one clause ("my feet are always freezing", "something warm for my feet"): socks."""
_COLD_HANDS = re.compile(
    r"\b(?:my|his|her|their|your|our)\s+(?:[a-z]+\s+and\s+)?(?:hands|fingers)\s+(?:[a-z]+\s+){0,3}?"
    r"(?:cold|freeze|freezes|freezing|frozen|numb|chilly|icy|warm|toasty)\b"
    r"|\b(?:cold|freezing|frozen|numb|icy)\s+(?:hands|fingers)\b"
    r"|^(?:[a-z]+\s+and\s+)?(?:hands|fingers)\s+(?:and\s+[a-z]+\s+)?(?:are|r|get|keep|go|always)\s+"
    r"(?:(?!(?:not|never|nt|no)\b)[a-z]+\s+){0,2}?(?:cold|freezing|frozen|numb|icy)\b"
    r"|\bwarm\s+(?:for|on)\s+(?:my|his|her|their|your|our)\s+(?:hands|fingers)\b"
)
"""The cold said of the hands ("his hands and neck freeze", "my fingers go numb", "keep my hands warm",
"cold hands", "hands and neck are freezing" at a clause's start; also in a wish: "I don't want my hands to freeze"): gloves. Not "warm gold tones for
her fingers", nor "so my hands are free"."""
_FEET = re.compile(r"\b(?:for|on|in)\s+(?:my|his|her|their|your|our)\s+(?:feet|foot)\b")
"""Feet said to be refused ("nothing for his feet", "except what goes on my feet"): footwear ruled out
(:data:`_FOOTWEAR`)."""
_FOOTWEAR = ["Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats", "Sandals", "Sports Sandals",
             "Flip Flops"]  # fmt: skip
_IN_SHOES = re.compile(
    r"\b(?:wear|wears|worn|go|goes|going|under|inside|in)\s+(?:under|inside|underneath|beneath|in|with)?\s*"
    r"(?:(?:my|his|her|their|your|our|the)\s+)?(?:[a-z]+\s+){0,2}?"
    r"(?:shoes|boots|trainers|sneakers|loafers|brogues|oxfords|cleats|heels|flats|pumps|wellies|wellingtons)\b"
)
"""What goes under or inside the shoes ("goes under the boots", "to wear under my office shoes",
"inside his school shoes"): socks. Not "wear in my shoes" said of a fit, unless under or inside (or
"with", after the feet: "for my feet to wear with work shoes")."""
_UNDERNEATH = re.compile(
    r"\b(?:goes|go|going|wear|worn)\s+(?:under(?:neath)?|beneath|inside)\s*(?:them|those)?\s*\?"
)
"""Asked what goes underneath, after shoes are named ("blisters in my badminton shoes, what goes
underneath?"): socks."""
_WINTER_WEAR = re.compile(
    r"\b(?:winter|cold[\s-]weather)\s+(?:clothes|clothing|wear|wardrobe|gear|layers|essentials|basics)\b"
    r"|\bwarm\s+(?:clothes|clothing|layers)\b|\bwoollens\b|\bwoolens\b|\bwinterwear\b"
)
"""Clothes for the cold said as a group ("never owned winter clothes", "warm clothes for Manali",
"woollens"; not "keep-warm stuff for my neck"): jackets, sweaters and sweatshirts."""
_UNDER_GARMENT = re.compile(
    r"\b(?:under|underneath|beneath)\s+(?:(?:my|her|the|their|your|a|an)\s+)?(?:[a-z]+\s+){0,2}?"
    r"(?:(kurtis|kurti|tunics?)|(skirts?|dresses|dress|frocks?))\b(?!\s+(?:shirts?|shoes|pants|trousers)\b)"
)
_LEGS_COLD = re.compile(r"\b(?:legs|cold|chilly|freezing|frozen|warm|warmer)\b")
"""Worn under a woman's long top ("what do I wear under kurtis?": leggings, churidars), or under a
skirt for the legs' warmth or a sheer look ("my legs are freezing, something sheer to go under
skirts": stockings, tights; not "to wear under a sleeveless dress", nor where an item is named: "a
camisole to wear under my kurti")."""
_RAIN = re.compile(
    r"\b(?:it|its|it s)\s+(?:has\s+|keeps\s+|been\s+|is\s+|always\s+|just\s+|never\s+stops\s+)*"
    r"(?:rain(?:s|ing|y)?|pouring|bucketing|chucking it down|drizzl(?:es|ing|y)|tipping it down|pissing down|lashing)\b"
    r"(?!\s+(?:in|men|offers|compliments|cats and dogs in)\b)"
    r"|\b(?:wont|won t|doesnt|hasnt|never|not)\s+stop(?:ped)?\s+raining\b"
    r"|\b(?:rains|raining)\s+(?:constantly|all the time|every day|non stop|nonstop|so much|a lot|all week)\b"
    r"|\bbucketing down\b|\bpouring down\b|\bchucking it down\b"
)
_NOT_RAINWEAR = re.compile(
    r"\b(?:feet|foot|footwear|shoes?|boots|sandals?|chappals?|flip[\s-]?flops?|floaters|crocs|socks|bags?|backpacks?"
    r"|phone|laptop|watch|hair|head)\b"
)
"""Rain said as the shopper's trouble ("it's been bucketing down all week and I walk to the station",
"it rains constantly and she refuses to carry an umbrella"): umbrellas and jackets; not where the
rain is the feet's, a bag's or a phone's ("my leather shoes keep dying in the monsoon")."""
_NOT_POCKET = re.compile(r"\bthe (?:back |front )?pocket\b|\bhole in \w+ pocket\b")
"""Money or a garment's own pocket, not a wallet: "easy on the pocket", "burn a hole in my pocket",
"a shirt with the pocket on the left"."""


def _formal_neck(text: str) -> bool:
    """Whether a neck is said with a suit, an interview or a man's work (:data:`_SUITED`): not with
    warmth, the office air, a woman, a set, nor where "formal" is ruled out ("nothing formal, he
    works in an office")."""
    whole = unnegated(text)
    if re.search(r"\bformal", text.lower()) and not re.search(r"\bformal", whole):
        return False
    if re.search(r"\b(?:set|sets|box|boxed|combo|combos|hamper)\b", whole):  # a tie among a set's things
        return False
    if _WARMTH.search(whole) or _AIR_CON.search(whole) or _HERS.search(whole):
        return False
    if _said_unnegated(_INTERVIEW, text.lower().replace("'", ""), 4):
        return True  # an occasion even where "the outfit is sorted" negates its clause for the rest
    return bool(_SUITED.search(whole) or (_AT_WORK.search(whole) and _HIS.search(whole)))


_DESCRIBING = {"woolly", "wooly", "knit", "knitted", "knitwear", "fleecy", "something fleecy"}  # fmt: skip
"""Names of a kind that say what an item is made of ("something woolly", "a knit"), not what it is."""


def described_kinds(text: str, allowed) -> set[str]:
    """Kinds the request names only by what the item is made of (:data:`_DESCRIBING`), each time
    with a part of the body within the five words after it ("something woolly for my head",
    "woolly, to go round the neck"; not "a knit for me and a muffler for my neck"): the part says
    the kind (:func:`body_kinds`)."""
    spans: list[tuple[int, int, str]] = []
    _named_kinds(text, allowed, False, False, spans)
    low = " " + " ".join(_words(text)) + " "
    names: dict[str, list[bool]] = {}
    for start, end, kind in spans:
        after = low[end:].split()[:5]
        after = after[: after.index(_BREAK)] if _BREAK in after else after
        part = next((i for i, w in enumerate(after) if w in _WORN_ON), None)
        worn = part is not None and "over" not in after[:part]  # not "something fleecy to pull over my head"
        names.setdefault(kind, []).append(low[start:end] in _DESCRIBING and worn)
    return {kind for kind, said in names.items() if all(said)}


_REFUSING_FILLER = {"that", "which", "what", "to", "be", "is", "are", "goes", "go", "worn", "wear", "sits", "for", "on",
                    "round", "around", "something", "anything", "one", "ones", "a", "an", "the", "thing", "things",
                    "stuff", "bag", "bags", "please", "pls"}  # fmt: skip


def _refuses_the_part(before: list[str]) -> bool:
    """Whether the words from the last negation up to a part of the body refuse what is worn there:
    only filler between ("nothing that goes on my back", "nothing for my neck"; not "not itchy on
    my neck", "she hates the cold on her neck")."""
    at = max((i for i, w in enumerate(before) if w in NEGATION), default=None)
    return at is not None and all(w in _REFUSING_FILLER for w in before[at + 1 :])


def body_kinds(text: str, allowed, refused: bool = False, by_part: bool = False) -> dict:
    """The catalogue kinds worn on a part of the body the request names with an owner ("keep-warm
    stuff for my neck": mufflers, scarves, stoles; :data:`vlrec.data.lexicon.BODY_PARTS`): a vote
    for :func:`vlrec.adapters.intent.with_vote`, so the LM chooses among them. Not a part said
    within five words after a negation in its clause ("nothing that goes on her back"), nor a
    region ("below the waist"). Sweat in the eyes is the forehead's ("to keep the sweat out of my
    eyes": headbands, caps), what is carried on the back may be said after ("to carry my laptop
    to college on my back"), and feet said with warmth want socks ("my feet are always freezing").
    ``refused``: only the parts said within five words after a negation, whose kinds are ruled out
    ("nothing that goes on my back": backpacks, rucksacks). ``by_part``: each part named → its kinds."""
    from vlrec.data.lexicon import BODY_PARTS

    parts: set[str] = set()
    for clause in SCOPE_BREAK.split(with_negations(text).lower().replace("'", "").replace("\u2019", "")):
        low = " ".join(re.sub(r"[^a-z0-9 ]", " ", clause).split())
        for m in _BODY.finditer(low):
            if bool(set(low[: m.start()].split()[-5:]) & NEGATION) != refused:
                continue  # "nothing that goes on her back, she hates those"
            if refused and not _refuses_the_part(low[: m.start()].split()[-5:]):
                continue  # "not itchy on my neck", "I don't mind carrying it on my back": no refusal
            before = low[: m.start()].split()[-1:]
            if before and before[0] in _REGION and m.group(0) == "the waist":
                if lexicon_kinds(clause, allowed):
                    continue  # "a belt that sits just below the waist": where the item sits
                if before[0] in ("below", "under"):
                    parts.add("lower body")  # "what should I be wearing below the waist?"
                elif before[0] == "above":
                    parts.add("upper body")
                continue  # "to wear below the waist": a region, no belt (not "keep the wind from the neck")
            if (
                m.group("cuffs") is not None
                or m.group("sleeves") is not None
                or m.group("own_sleeves") is not None
            ):
                parts.add("cuffs")  # "the little metal things that go on shirt sleeves"
                continue
            if m.group("top_bottom") is not None:
                parts |= {"upper body", "lower body"}  # "gym kit: something for top and bottom"
                continue
            if m.group("on_top") is not None:
                parts.add("upper body")  # "bank interview, what do I wear on top" (not "on top of")
                continue
            if m.group("bottoms") is not None:
                parts.add("lower body")  # "comfy stuff for lounging, bottoms only"
                continue
            if m.group("knee") is not None:
                if not (
                    lexicon_kinds(clause, allowed)
                    or _HIS.search(text.lower())
                    or re.search(r"\bknee\s+(?:pain|injury|brace)", low)
                ):
                    parts.add(
                        "below the knee"
                    )  # "something flowy below the knee" (not "shorts below the knee")
                continue
            if m.group("chest") is not None:
                parts.add("chest")  # "the bags that go across your chest": crossbody
                continue
            if also := m.group("also"):  # "for her head or neck": the head too
                parts.add(also.replace("wrists", "wrist"))
            said = [g for name, g in zip(_BODY_GROUPS, m.groups()) if g and name != "also"]
            part = said[0].replace("wrists", "wrist")
            if part in ("cuffs", "heads") and m.group(0).split()[0] not in _POSSESSIVE:
                continue  # "my neck and cuffs", "on their heads" (not "the cuffs rolled up", "turns heads")
            part = " ".join(part.split())  # "upper  half"
            if part in ("lower half", "bottom half", "lower body") and before == ["in"]:
                continue  # "heavy in my bottom half": a shape, not what is wanted
            part = {
                "heads": "head",
                "middle": "waist",
                "top half": "upper body",
                "upper half": "upper body",
                "lower half": "lower body",
                "bottom half": "lower body",
            }.get(part, part)
            if part == "eyes" and _SWEAT.search(low):
                parts.add("forehead")  # "keep the sweat out of my eyes" ("the sun and sweat": both)
                if not _GLARE.search(low):
                    continue
            parts.add(part)
        if _NOT_POCKET.search(low):
            parts.discard("pocket")
        if (feet := _COLD_FEET.search(low)) and _WARMTH.search(low) and not refused:
            if not set(low[: feet.start()].split()[-5:]) & NEGATION:
                parts.add("cold feet")
        if (winter := _WINTER_WEAR.search(low)) and not refused:
            before = set(low[: winter.start()].split()[-3:])
            had = {"plenty", "loads", "lots", "enough", "my", "away", "packing", "full", "of", "our"}
            if (not before & NEGATION and not before & had) or (
                before & NEGATION and before & {"own", "owned", "had", "have", "has"}
            ):
                parts.add("winter wear")  # "never owned winter clothes in my life" (not "no winter wear")
        if (under := _UNDER_GARMENT.search(low)) and not refused and not lexicon_kinds(clause, allowed):
            if not set(low[: under.start()].split()[-5:]) & NEGATION:
                if under.group(1):
                    parts.add("under kurtis")  # "what do I wear under kurtis?"
                elif _LEGS_COLD.search(text.lower()):
                    parts.add("under skirts")  # "my legs are freezing, something sheer to go under skirts"
        if (
            not refused
            and (rain := _RAIN.search(low))
            and (" stop" in rain.group(0) or not set(low[: rain.start()].split()[-4:]) & NEGATION)
            and not _NOT_RAINWEAR.search(text.lower())
            and not re.search(r"\b(?:inside|indoors|at home|stuck in)\b", low)
        ):
            parts.add("rain")  # "it's been bucketing down all week and I walk to the station"
        if _COLD_HANDS.search(low) and not refused:
            parts.add("cold hands")  # "his hands and neck freeze on the scooter"
        if (
            refused
            and (feet := _FEET.search(low))
            and _refuses_the_part(low[: feet.start()].split()[-5:])
            and set(low[feet.end() :].split()[:1])
            <= {"please", "pls", "thanks", "though", "either", "this", "thats"}
        ):
            parts.add("feet")  # "so nothing for his feet", "everything except what goes on my feet"
        if (
            not refused
            and (shoes := _IN_SHOES.search(low))
            and re.search(r"\b(?:under|inside|underneath|beneath)\b", shoes.group(0))
            and not set(low[: shoes.start()].split()[-5:]) & NEGATION
            and not re.search(
                r"\b(?:tuck|tucks|tucked|tucking|fit|fits|insoles?|inserts?)\b", low[: shoes.start()]
            )
        ):
            parts.add("in shoes")  # "goes under the boots"
        if (
            not refused
            and (shoes := _IN_SHOES.search(low))
            and " with " in f" {shoes.group(0)} "
            and re.search(
                r"\b(?:for|on)\s+(?:my|his|her|their|your|our)\s+feet\s+to\s*$", low[: shoes.start()]
            )
            and not set(low[: shoes.start()].split()[-8:]) & NEGATION
        ):
            parts.add("in shoes")  # "dark stuff for my feet to wear with work shoes"
    if (
        not refused
        and _UNDERNEATH.search(text.lower())
        and (worn_in := _IN_SHOES.search(" ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())))
        and not re.search(r"\bwith\b", worn_in.group(0))
    ):
        parts.add("in shoes")  # "blisters in my badminton shoes, what goes underneath?"
    if "neck" in parts and not refused and _formal_neck(text):
        parts = (parts - {"neck"}) | {"formal neck"}  # "something for round my neck for the interview"
    allowed = set(allowed)
    worn = {**BODY_PARTS, "feet": _FOOTWEAR}
    if by_part:
        return {part: [k for k in worn.get(part, []) if k in allowed] for part in sorted(parts)}
    return {k: 1.0 for part in parts for k in worn.get(part, []) if k in allowed}


AUDIENCE = {"Girls": ("Unisex", "Women"), "Boys": ("Unisex", "Men"), "Men": ("Unisex",), "Women": ("Unisex",)}
"""Who else an item for each audience may suit, nearest first (the catalogue's gender values)."""


def wider_audience(values: set[str], nearest_only: bool = False) -> list[str] | None:
    """``values`` widened one step toward their nearest audiences, rank by rank (girls' → unisex →
    women's; men's → unisex), or None where nothing is nearer. ``nearest_only``: the first rank only."""
    ordered = sorted(values)
    for rank in range(1 if nearest_only else max(len(n) for n in AUDIENCE.values())):
        wider = list(
            dict.fromkeys([*ordered, *(n[rank] for v in ordered if len(n := AUDIENCE.get(v, ())) > rank)])
        )
        if ordered and len(wider) > len(ordered):
            return wider
    return None


def kind_for_audience(
    kind: str, who: set[str], candidates: list[str], ruled: set[str], pairs: set
) -> str | None:
    """Where the catalogue has no ``kind`` for the audience ``who`` nor the nearest audience (no
    men's dresses, no women's lounge shorts; ``pairs`` = its (kind, audience) pairs), the first of
    ``candidates`` it has for them (not one ``ruled`` out); else None."""
    audience = who | {n for g in who for n in AUDIENCE.get(g, ())}
    if any((kind, g) in pairs for g in audience):
        return None
    return next((k for k in candidates if k not in ruled and any((k, g) in pairs for g in who)), None)


def titled_kinds(kind: str, who: set[str], items: dict, least: int = 10) -> list[str]:
    """Other kinds with at least ``least`` of the catalogue ``items`` for the audience ``who`` whose
    titles say ``kind``'s name ("sandals" for women: flats), most first."""
    name = kind.lower()[:-1] if kind.lower().endswith("s") else kind.lower()
    name = re.compile(rf"\b{re.escape(name)}s?$")  # the title's last word: what the item is
    count = Counter(
        m.get("articleType")
        for m in items.values()
        if m.get("gender") in who
        and m.get("articleType") != kind
        and name.search(str(m.get("title", "")).lower())
    )
    return [k for k, n in count.most_common() if k and n >= least]


def say_uncarried(session, intent, items: dict, name: str, near: tuple[str, str] | None) -> None:
    """The shopper asks for a kind the catalogue does not carry (:func:`uncarried_kind`): no other
    kind is read as it, the nearest category (if the catalogue ``items`` have it) filters, and the
    reply says so first."""
    for group in (intent.want, intent.unsure, intent.alternatives):
        group.pop("articleType", None)
    session.fills = []
    session.constraints.pop("articleType", None)
    session.options.pop("articleType", None)
    if near and any(m.get(near[0]) == near[1] for m in items.values()):
        intent.want[near[0]] = {near[1]: 1.0}
    session.notes.append(f"This catalogue has no {name}; here is what it has nearest to your words.")
