"""The agent's settings (the root config's ``agent:`` section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlrec.core.config import check


@dataclass
class AgentConfig:
    """The conversational agent."""

    catalog: str = "fashion-sample"
    """Catalogue name given to ``vlrec index`` (the demo's sample by default)."""
    k: int = 5
    """Items per reply."""
    candidates: int = 100
    """Items retrieved before reranking."""
    backfill: bool = True
    """When fewer than ``k`` items meet every hard constraint, follow them with the nearest items
    under relaxed constraints (relaxed in the usual order: price, usage, season, colour, gender;
    the kind of item asked for only to its nearest kinds, ``near_kinds``), so a reply is not short
    while the catalogue has more of that kind to show."""
    near_kinds: float = 0.65
    """When the kind asked for has no more items under the relaxed wishes, fill the reply up with the
    (at most two) kinds whose items' texts lie at least this near it in the shared space (cosine of
    the kinds' centroids: tights → stockings 0.68, a hat → caps 0.83, gloves' nearest 0.52); 1 or
    more: never."""
    widen_gender: bool = True
    """Relax who an item is for in steps: first to the nearest audiences (girls' → unisex → women's,
    boys' → unisex → men's, men's or women's → unisex), then not at all. For a child's audience the
    nearest kinds (``near_kinds``) come first: an adult's item is the wrong size."""
    unisex_first: bool = True
    """Widen who an item is for to unisex items before any other wish is relaxed (a unisex item suits
    anyone; "brown sandals for women" where the shop's sandals are all unisex keeps the brown)."""
    audience_words: bool = True
    """Who the words say an item is for overrules the intent LM where they decide it: a child with
    no side named ("a kids' wrist clock") is boys and girls; "for myself" is an adult."""
    kinds_before_audience: bool = True
    """For an adult's audience too, the nearest kinds (``near_kinds``) fill a reply up before who an
    item is for is dropped (after it has widened): a man's kurta request goes on with men's kurtis,
    not women's kurtas."""
    kinds_before_colour: bool = True
    """The nearest kinds (``near_kinds``) fill a reply up before the colour asked for is dropped: a
    kurti in mustard, then kurtas in mustard, before kurtis in blue; where none of them has the
    colour, a named colour goes on with the kinds of the same subcategory nearest it that do (one
    purple clutch, then purple handbags)."""
    near_colours: bool = True
    """Where the colour asked for runs out, the reply goes on with its nearest shades before any
    other colour, and before the nearest kinds (:data:`vlrec.data.lexicon.NEAR_COLOURS`: a tan belt,
    then brown or beige belts; silver-framed sunglasses, then steel or grey)."""
    hedge_kinds: int = 2
    """Where the intent LM finds other kinds of item likely too (each at least ``hedge_share``, after
    the one it read; at most this many), the best item of each takes one of the reply's last places
    (at most ``hedge_places`` of the reply), so a misread kind still leaves something the shopper
    meant; the reply says so. 0: never."""
    hedge_share: float = 0.05
    """0.05 since the twenty-first session (0.1 before): on the seven dev sets success@10 +0.000–0.008
    (dev, dev5, dev6, dev8 up, none down), P@10 −0.002–+0.001 (docs/benchmarks.md)."""
    hedge_places: float = 0.2
    """The largest share of a reply's places those other kinds may take (k 10: 2, k 5: 1)."""
    sport_usage: Literal["want", "lean", "off"] = "lean"
    """A request that names a sport or a workout ("for cricket nets", "a running jacket") where the
    intent LM left usage open (:func:`vlrec.agent.vocabulary.sport_usage`): want (filter on Sports
    usage), lean (rank Sports items up, filter nothing; the default: on the dev requests it gave
    the same P@10 as want, 0.77 against 0.76 off, without want's loss of exact constraints,
    0.58 against 0.53) or off."""
    occasion_usage: bool = True
    """A request that names a formal occasion ("for interviews", "a business trip", "client
    meetings"; :func:`vlrec.agent.vocabulary.formal_usage`) where the intent LM left usage open:
    Formal items rank first (nothing is filtered)."""
    context_colours: bool = True
    """A colour the words give to something the shopper already has ("to go with my navy suit",
    "he has brown ones"; :func:`vlrec.agent.vocabulary.context_colours`) is not wanted, whatever the
    intent LM read; "I own black ones, so something else" excludes it."""
    category_filter: bool = True
    """Where no kind is read, the category the words name ("underwear for men, not briefs",
    "comfortable footwear") or that of a kind ruled out ("anything but heels") filters, relaxed
    after the kind (:func:`vlrec.agent.vocabulary.category_lean`); off: it only ranks. On the dev
    requests: P@10 0.866 off, 0.867 on."""
    category_words: bool = True
    """Where the kinds read all lie outside the category a word names as the wanted item ("a
    waterproof bag for the monsoon" read as umbrellas, "footwear"; not "to keep in my bag"), the
    intent LM's likeliest kind inside that category is wanted instead, else the category alone
    (:func:`vlrec.agent.vocabulary.category_named`)."""
    body_parts: bool = True
    """A request that names no kind but a part of the body ("keep-warm stuff for my neck", "for my
    wrist"; :func:`vlrec.agent.kinds.body_kinds`) votes, at ``lexicon_weight``, for the kinds worn
    there, and the intent LM chooses among them."""
    spelling: bool = True
    """A misspelt word of a request ("jeanz", "snekers", "sunglases", "perfum") is put right into
    the catalogue's or the lexicon's word before anything reads the request; a word that English,
    the catalogue's titles or the lexicon knows is never changed (:mod:`vlrec.agent.spelling`). The
    shopper's own words stay in the conversation's history (``Turn.said``)."""
    uncarried: bool = True
    """A request for a kind the catalogue does not carry ("gold earrings", "a swimsuit";
    :data:`vlrec.data.lexicon.UNCARRIED`) is answered with that said first and the nearest category
    the catalogue has, not with another kind read as if it were the one asked for."""
    audience_kinds: bool = True
    """Where the catalogue has no item of the kind read for the audience read (men's dresses, men's
    flats: "something for a first date, I'm a guy, not too dressy", "mojaris, I'm the groom's
    brother"), the intent LM's next likeliest kind that it has for them is wanted instead, and the
    reply says so, rather than showing the kind to another audience."""
    titled_kinds: bool = True
    """Where the audience read has none of the kind read of its own (only the nearest audience's:
    the catalogue files women's sandals as flats), the kinds whose items for that audience carry the
    kind's name in their titles (at least ten: "Catwalk Women Brown Sandals" is a flat) are wanted
    beside it (:func:`vlrec.agent.kinds.titled_kinds`)."""
    said_avoid: bool = True
    """Where the words rule colours out ("any watch that isn't black or silver"), the intent LM's
    exclusions of colours no turn names, nor nearest shades of those ruled out
    (:data:`vlrec.data.lexicon.NEAR_COLOURS`), go: not its blue and gold too. (A colour the words
    name outside a negation is not taken back from the LM's exclusions: the LM reads refusals the
    rules miss, "any colour apart from black", "she always wears black, so something else".)"""
    said_colour: bool = True
    """A catalogue colour the last request names in so many words ("jumpers in burgundy", "a bra
    in nude") is wanted where the intent LM read another (unless the words negate it, list several,
    name a range such as "dark", or give it to something the shopper has; "black tie" names none)."""
    kind_lists: bool = True
    """Kinds the last request names one right after another as a list ("a handbag or clutch",
    "sandals, flip flops or slides"; :func:`vlrec.agent.kinds.listed_kinds`) are all wanted,
    whichever of them the intent LM preferred (as a list of colours is)."""
    context_kinds: bool = True
    """Where the intent LM's kind is one the words name as what the wanted item goes with ("a top to
    wear with my black skirt"; :func:`vlrec.agent.kinds.lexicon_kinds` with ``context``) and the
    words name another kind outside such a phrase, the words' kind is wanted; such kinds never take
    a hedge's place."""
    lexicon_weight: float = 4.0
    """Weight of the article types a request names in everyday words ("a bum bag", "puffer",
    "trainers": the intent LM's own training lexicon, :func:`vlrec.agent.kinds.lexicon_kinds`;
    names said of several kinds, such as "chappals", do not vote) on the LM's reading of the type
    (a log-linear vote, :func:`vlrec.adapters.intent.with_vote`); 0 = off. At 4 (chosen on the dev
    requests among 1, 2, 4) a named kind outweighs the LM unless the LM rules it out."""
    needs_weight: float = 4.0
    """Weight of the vote of the everyday phrases nearest to the request ("something to hold my
    trousers up": Belts; :class:`vlrec.agent.needs.Needs`, a bank written from the catalogue's type
    list alone) on the intent LM's reading of the type (a log-linear vote like ``lexicon_weight``'s);
    0 = off. Chosen with ``needs_eps`` on the dev, dev2 and dev4 requests among 2 and 4 (full agent
    P@10 0.882 / 0.882 / 0.859 off, 0.893 / 0.873 / 0.868 at 4 and 0.3; docs/benchmarks.md)."""
    needs_bank: str = ""
    """A JSON file of article type -> everyday phrases for a shop's own kinds; empty: the packaged
    bank (``vlrec/assets/intent/needs.json``, written for the fashion catalogue's types)."""
    needs_eps: float = 0.3
    """What a kind no phrase voted for keeps of its reading, as a share of the vote (the larger,
    the gentler the vote)."""
    needs_named: bool = False
    """Whether the phrases vote where the words already name a kind ("boxers or trunks"); off, they
    speak only for requests that name none."""
    needs_k: int = 5
    """How many of the nearest phrases vote."""
    needs_floor: float = 0.45
    """A phrase votes by how far its cosine similarity to the request (or one of its clauses) clears this."""
    intent: Literal["rules", "lm"] = "lm"
    """lm (default): the intent LM (:mod:`vlrec.adapters.intent`, ``intent.model``) reads the conversation
    and chooses, per catalogue field, the values the shopper wants and those they exclude; exact
    catalogue words the LM left open fill gaps. rules: only the catalogue words found in the text."""
    intent_weight: float = 0.5
    """Rerank bonus, up to this much per field, for an item whose value the intent LM finds likely
    but below the field's gate (fitted with the model): such a field ranks, it never filters."""
    lean_fields: tuple[str, ...] = ("usage",)
    """Fields whose leanings (a named sport or formal occasion, the LM's likely value: they rank,
    never filter) also bring their items into the candidates, by a second search with the leaning
    as a filter, where the candidates hold fewer than a reply's worth of them: "something on my
    wrist to time my laps" ranks sports watches first even where the words found few. Empty:
    leanings rerank the candidates the words found."""
    words: bool = True
    """Also match a text request against each item's own words (dense sentence vectors and BM25,
    :mod:`vlrec.retrieval.words`), fused with the aligned-space search by reciprocal rank."""
    words_weight: float = 1.0
    """Weight of each words path (dense, lexical) in the fusion; the aligned path weighs 1."""
    words_photo_weight: float = 0.0
    """Their weight on a turn that brings a photo ("something like this"): the words filter the
    kind, the photo's look ranks among the items that pass (0 = the aligned search alone ranks)."""
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
    seen_weight: float = 8.0
    """Rerank bonus, up to this much per field, for an item whose value of a field read off the
    photo (and not set by the shopper's words) is among the VLM's three likeliest readings, times
    that reading's probability: a sure reading counts fully, an unsure one a little. Large against
    the search scores (chosen on the scripted photo shoppers, 1 → 8: turn-1 success 0.377 → 0.390):
    the reader's likely values order the candidates, the photo's look orders within them."""
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
        check(self.near_kinds >= 0.0, "agent.near_kinds", "must be >= 0 (1 or more: never)")
        check(self.hedge_kinds >= 0, "agent.hedge_kinds", "must be >= 0 (0: never)")
        check(0.0 <= self.hedge_places <= 1.0, "agent.hedge_places", "must be in [0, 1]")
