"""Understanding a turn: what the photo shows (the VLM's attribute reader) and what the shopper
means (the intent LM, or the catalogue's own words), applied to the session's state."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from vlrec.agent.audience import OTHER_SIDE, attending, audience, refused_sides, says_a_side
from vlrec.agent.kinds import (
    body_kinds,
    described_kinds,
    idiom_kinds,
    kind_for_audience,
    lexicon_kinds,
    say_uncarried,
    titled_kinds,
    uncarried_kind,
    want_listed,
    without_idioms,
)
from vlrec.agent.replies import Recommendation, Sight
from vlrec.agent.state import Session, Turn
from vlrec.agent.vocabulary import (
    CATEGORIES,
    _strip_known,
    category_lean,
    category_named,
    colour_family,
    colour_list,
    colour_word,
    context_colours,
    formal_usage,
    guard_negations,
    hot_weather_kinds,
    named_colours,
    negated,
    negated_categories,
    plays_sport,
    set_aside,
    shades,
    sport_usage,
    traditional_usage,
    unnegated,
)
from vlrec.data.lexicon import NEAR_COLOURS
from vlrec.retrieval.words import rrf

_PACK = re.compile(
    r"\b(should i|shall i|do i|to|i'?ll|i will|will|must|gonna|what to|need to|can i|help me)\s+pack\b(?!\s+light\b)"
    r"|\b(packing)\b(?!\s+(?:cubes?|bags?|list|light)\b)",
    re.IGNORECASE,
)
"""Pack said as a verb: the items nearest by their words would be backpacks (not "to pack light":
luggage is wanted)."""


class Understanding:
    """The agent's understanding step (mixed into :class:`vlrec.agent.session.Agent`)."""

    def see(self, images: list[Any]) -> list[Sight]:
        """What the VLM reads off each photo (one batched pass; the server batches across sessions)."""
        if not images:
            return []
        if self.reader is not None:
            from vlrec.adapters.reader import describe_guesses

            out = []
            read, vectors = self.reader.read_with_vectors(images)  # one vision pass: reading and search
            for n, guesses in enumerate(read):
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
                        vectors[n] if vectors is not None else None,
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
        lm_kinds = dict(reading.want.get("articleType", {}))  # the LM's own, before any vote
        d = self.intent.decoding
        if self.words is not None and d.vote_weight > 0:
            vote = self.kind_vote(self._request_text(session), d.vote_k)
            reading = with_vote(reading, "articleType", vote, d.vote_weight)
        text, kinds = self._request_text(session), self.vocab.values.get("articleType", ())
        named = lexicon_kinds(text, kinds)
        by_part = body_kinds(text, kinds, by_part=True) if self.cfg.body_parts else {}
        worn = {k: 1.0 for theirs in by_part.values() for k in theirs}
        described = described_kinds(text, kinds) if worn and named else set()
        if described:  # "something woolly for my head": the part says the kind, not the stuff
            named = {k: v for k, v in named.items() if k not in described}
        if self.needs is not None and (self.cfg.needs_named or not named):  # "to hold my trousers up"
            ruled = negated(text, self.vocab).get("articleType", set()) | {
                v for v, p in reading.avoid.get("articleType", {}).items() if p >= d.avoid_threshold
            }  # "he hates the tight briefs": what is ruled out does not vote
            need = self.needs.vote(text, self.cfg.needs_k, self.cfg.needs_floor, ruled)
            reading = with_vote(reading, "articleType", need, self.cfg.needs_weight, eps=self.cfg.needs_eps)
        # the LM's own likeliest kinds: what fills a reply up where the kind read has too few items
        ranked = sorted(reading.want.get("articleType", {}).items(), key=lambda kv: -kv[1])
        session.fills = [v for v, p in ranked[: 1 + self.cfg.hedge_kinds] if p >= self.cfg.hedge_share]
        if worn and (on_part := [k for k in session.fills if k in worn]):  # "around the neck": no belts
            # then the likeliest kind of each other part named ("hands and neck freezing": gloves,
            # then mufflers)
            share = dict(ranked)
            covered = {k for theirs in by_part.values() if set(theirs) & set(on_part) for k in theirs}
            others = [  # a kind worn on a part already covered first ("head or neck": scarves, not caps)
                next((k for k, _ in sorted(ranked, key=lambda kv: kv[0] not in covered) if k in theirs), None)
                for theirs in by_part.values()
                if not set(theirs) & set(on_part)
            ]
            session.fills = on_part + sorted({k for k in others if k}, key=lambda k: -share[k])
        if self.cfg.lexicon_weight > 0:  # kinds named in everyday words ("a bum bag", "puffer")
            reading = with_vote(reading, "articleType", named, self.cfg.lexicon_weight, named=True)
        if worn and (not named or described):  # "for my neck"
            reading = with_vote(reading, "articleType", worn, self.cfg.lexicon_weight, named=True)
        if self.cfg.context_kinds:  # "to throw over a sleeveless dress", "a black tie gala": not named
            theirs = set(lexicon_kinds(text, kinds, context=True, strict=True)) | idiom_kinds(text, kinds)
            session.goes_with = sorted(theirs - set(named))
            reading = _without(reading, worn_elsewhere(theirs, text) - set(named))
        intent = self.intent.decode(reading)
        self._audience(session, intent)
        sport = sport_usage(self._request_text(session), self.vocab.values.get("usage", ()))
        if sport is not None and "usage" not in intent.want and self.cfg.sport_usage == "want":
            intent.want["usage"] = {sport: 1.0}  # a named sport or workout, where the LM left usage open
            intent.unsure.pop("usage", None)
        elif sport is not None and "usage" not in intent.want and self.cfg.sport_usage == "lean":
            intent.unsure["usage"] = {**intent.unsure.get("usage", {}), sport: 1.0}  # ranks, never filters
        formal = formal_usage(self._request_text(session), self.vocab.values.get("usage", ()))
        if formal is not None and sport is None and "usage" not in intent.want and self.cfg.occasion_usage:
            intent.unsure["usage"] = {**intent.unsure.get("usage", {}), formal: 1.0}  # ranks, never filters
        last = next((t.text for t in reversed(session.turns) if t.role == "user" and t.text), "")
        allowed = self.vocab.values
        ruled = {f: shades(v, allowed.get(f, ()), last) for f, v in negated(last, self.vocab).items()}
        if ruled.get("articleType") and (
            styles := ruled["articleType"]
            - negated(last, self.vocab, everyday=False).get("articleType", set())
        ):  # a kind ruled out in everyday words that the LM reads as the item is a style of it ("eyewear
            # for the sun, not aviators": sunglasses; not "anything except a hoodie" read as jumpers)
            had = set_aside(last, kinds)  # "already has enough timepieces": the kind, no style of it
            kept = {k for k in styles - had if lm_kinds.get(k, 0.0) >= _STYLE_SHARE}
            ruled["articleType"] -= kept
            if not ruled["articleType"]:
                del ruled["articleType"]
        wanted = set(lexicon_kinds(unnegated(last), kinds)) if self.cfg.context_kinds else set()
        # a whole category ruled out: "anything for a boy who loves sport? not clothes or shoes"
        if out := {k for c in negated_categories(last) for k in self.category_kinds(*c)} - wanted:
            ruled.setdefault("articleType", set()).update(out)
        # hot weather: what keeps one warm, where the LM reads one of those ("clothes for hot sticky
        # Chennai weather" read as jackets); not where it reads none ("a picnic, it's too hot")
        if (warm := hot_weather_kinds(last, kinds)) and (
            warm := warm - set(lexicon_kinds(unnegated(text), kinds))
        ):
            read = {k for k, p in lm_kinds.items() if p >= _STYLE_SHARE} | set(
                intent.want.get("articleType", {})
            )
            if warm & read:
                ruled.setdefault("articleType", set()).update(warm)
        # "a formal shirt and trousers ..., no pink shirts": the colour is out, not a kind named as wanted
        if ruled.get("baseColour") and (both := ruled.get("articleType", set()) & wanted):
            ruled["articleType"] -= both
            if not ruled["articleType"]:
                del ruled["articleType"]
        if lm_out := intent.avoid.get("articleType"):  # nor may the LM rule out a kind the words want
            kept = {k: p for k, p in lm_out.items() if k not in wanted or k in ruled.get("articleType", ())}
            intent.avoid.pop("articleType")
            if kept:
                intent.avoid["articleType"] = kept
        intent = guard_negations(intent, ruled)
        read, low_last = set(intent.want.get("articleType", {})), last.lower()
        sported = (
            sport is not None
            and self.cfg.sport_usage != "off"
            and "Sports Shoes" in allowed.get("articleType", ())
            and "Sports Shoes" not in ruled.get("articleType", set())
            and plays_sport(last)
            and (
                (  # "kicks for basketball": shoes for a sport are sports shoes
                    read == {"Casual Shoes"}
                    and not re.search(
                        r"\b(?:casual|loafers?|moccasins?|boat shoes|club|dinner|party)\b", low_last
                    )
                )
                or (  # "trekking in Himachal in May, what do I wear on my feet" read as flip flops
                    bool(read)
                    and read <= _SHOES_READ
                    and not read & set(named)
                    and bool(_ON_FEET.search(low_last))
                    and not _NOT_PLAYED.search(re.sub(r"\bafter work\b", " ", low_last))
                )
            )
        )
        if sported:
            intent.want["articleType"] = {"Sports Shoes": 1.0}
        their_colours, other, unowned = (
            context_colours(last, allowed.get("baseColour", ()))
            if self.cfg.context_colours
            else (set(), set(), last)
        )
        listed = colour_list(unowned, allowed.get("baseColour", ())) - ruled.get("baseColour", set())
        if len(listed) > 1:  # "navy or black": every colour of the list, whatever the LM chose
            intent.want["baseColour"] = dict.fromkeys(sorted(listed), 1.0)
            intent.unsure.pop("baseColour", None)
            if kept := {v: p for v, p in intent.avoid.pop("baseColour", {}).items() if v not in listed}:
                intent.avoid["baseColour"] = kept  # "no heels, brown or tan": the list is not excluded
        family = colour_family(unnegated(last), allowed.get("baseColour", ())) - ruled.get(
            "baseColour", set()
        )
        if family and len(listed) < 2:  # "bright so cars see me" read as Black: the words win
            said = self.vocab.match(last).get("baseColour")
            if not set(intent.want.get("baseColour", {})) & (family | {said}):
                intent.want.pop("baseColour", None)
        if family and "baseColour" not in intent.want:  # "a dark tee": those colours rank, never filter
            intent.unsure["baseColour"] = {
                **dict.fromkeys(family, 1.0),
                **intent.unsure.get("baseColour", {}),
            }
        if self.cfg.said_colour and len(listed) < 2 and not family:  # "jumpers in burgundy" read as Red
            plain = without_idioms(last)  # the catalogue's name, else an everyday word ("blk")
            said = self.vocab.match(plain).get("baseColour") or colour_word(
                plain, allowed.get("baseColour", ()), kinds
            )  # ("a coffee date" names no colour)
            seen = {**intent.want.get("baseColour", {}), **intent.avoid.get("baseColour", {})}
            if said and said not in ruled.get("baseColour", ()) and said not in seen:  # the LM read it
                intent.want["baseColour"] = {said: 1.0}
                intent.unsure.pop("baseColour", None)
        if self.cfg.context_colours:  # "to go with my navy suit", "he has brown ones": not wishes
            for group in (intent.want, intent.unsure):
                kept = {v: p for v, p in group.get("baseColour", {}).items() if v not in their_colours}
                group.pop("baseColour", None)
                if kept:
                    group["baseColour"] = kept
            if other:  # "I own black ones, so something else"
                intent.avoid["baseColour"] = {
                    **dict.fromkeys(other, 1.0),
                    **intent.avoid.get("baseColour", {}),
                }
        if self.cfg.said_avoid and ruled.get("baseColour") and (lm_avoid := intent.avoid.get("baseColour")):
            colours = allowed.get("baseColour", ())  # "isn't black or silver": not the LM's blue and gold
            said = named_colours(
                " ".join(t.text for t in session.turns if t.role == "user" and t.text), colours
            )
            ruled_all = {
                c
                for t in session.turns
                if t.role == "user" and t.text
                for c in shades(negated(t.text, self.vocab).get("baseColour", set()), colours, t.text)
            }
            near = {n for c in ruled_all for n in NEAR_COLOURS.get(c, ())}  # "but grey": charcoal too
            kept = {v: p for v, p in lm_avoid.items() if v in ruled_all | said | other | near}
            intent.avoid.pop("baseColour")
            if kept:
                intent.avoid["baseColour"] = kept
        for f, dist in list(intent.avoid.items()):  # the LM's own exclusions take their shades too
            chosen = set(intent.want.get(f, {})) | set(intent.unsure.get(f, {}))
            intent.avoid[f] = {
                **dict.fromkeys(shades(set(dist), allowed.get(f, ()), last) - chosen, 1.0),
                **dist,
            }
        their_kinds: dict[str, float] = {}  # kinds named as what the wanted item goes with
        if self.cfg.context_kinds:  # "a top to wear with my black skirt" read as skirts: the words' kind
            kinds = allowed.get("articleType", ())
            their_kinds, named = lexicon_kinds(last, kinds, context=True), lexicon_kinds(last, kinds)
            for group in (intent.want, intent.unsure):
                got = group.get("articleType", {})
                if got and named and set(got) <= set(their_kinds) and not set(got) & set(named):
                    del group["articleType"]
                    intent.want["articleType"] = dict.fromkeys(sorted(named), 1.0)
                    intent.unsure.pop("articleType", None)
                    break
        if self.cfg.kind_lists:  # "a handbag or clutch": all of them
            want_listed(
                intent, last, allowed, ruled.get("articleType", set()) | set(their_kinds), named, self.items
            )
        if their_kinds and "gender" not in intent.want and "gender" not in intent.unsure:
            who = Counter(m.get("gender") for m in self.items.values() if m.get("articleType") in their_kinds)
            top, count = max(who.items(), key=lambda kv: kv[1], default=(None, 0))
            if top and count >= 0.9 * sum(who.values()):  # "for my dresses and kurtis": hers; ranks
                intent.unsure["gender"] = {top: 1.0}
        read = {**intent.want.get("articleType", {}), **intent.unsure.get("articleType", {})}
        if (
            read
            and self.cfg.category_words
            and not lexicon_kinds(last, kinds)  # "shades, a wristwatch or a bag": the kinds it names
            and (cat := category_named(last, self.items))
        ):
            within = self.category_kinds(*cat)
            read = self._in_category(
                intent, reading, read, cat, ruled.get("articleType", set()) | set(their_kinds)
            )
        else:
            within = None
        if (
            not read
            and within is None
            and (cat := category_lean(last, ruled.get("articleType", set()), self.items))
        ):
            (intent.want if self.cfg.category_filter else intent.unsure)[cat[0]] = {cat[1]: 1.0}
        if (
            not read
            and "usage" not in intent.want
            and (ethnic := traditional_usage(last, allowed.get("usage", ())))
            and ethnic not in ruled.get("usage", set())
        ):  # "something traditional for my wife for diwali", no kind read: what is worn traditionally
            intent.unsure.pop("usage", None)
            intent.want["usage"] = {ethnic: 1.0}
        if read and self.cfg.hedge_kinds > 0:  # the next likeliest kinds, for a place in the reply
            excluded = set(intent.avoid.get("articleType", {}))
            ranked = sorted(reading.want.get("articleType", {}).items(), key=lambda kv: -kv[1])
            intent.alternatives["articleType"] = {
                v: round(p, 4)
                for v, p in ranked[: 1 + self.cfg.hedge_kinds]
                if v not in read
                and v not in excluded
                and v not in their_kinds
                and p >= self.cfg.hedge_share
                and (within is None or v in within)  # "comfy footwear": no tshirt in case
                and not (sported and v == "Casual Shoes")  # "kicks for basketball": nor a casual shoe
            }
        if self.cfg.audience_kinds:  # "not too dressy, I'm a guy" read as dresses
            self._kind_for_audience(session, intent, reading, their_kinds)
        if self.cfg.uncarried and (missing := uncarried_kind(last, allowed.get("articleType", ()))):
            say_uncarried(session, intent, self.items, *missing)
        return intent

    def kind_places(self) -> dict[str, tuple[str, str]]:
        """Each article type's (master category, subcategory) (most of its items'), read once."""
        if self._kind_places is None:
            counts: dict[str, Counter] = {}
            for m in self.items.values():
                if m.get("articleType"):
                    place = (m.get("masterCategory", ""), m.get("subCategory", ""))
                    counts.setdefault(m["articleType"], Counter())[place] += 1
            self._kind_places = {k: c.most_common(1)[0][0] for k, c in counts.items()}
        return self._kind_places

    def category_kinds(self, field: str, value: str) -> set[str]:
        """The article types of a category (``masterCategory`` or ``subCategory`` ``value``)."""
        at = 0 if field == "masterCategory" else 1
        return {k for k, place in self.kind_places().items() if place[at] == value}

    def _in_category(self, intent, reading, read: dict, cat: tuple[str, str], ruled: set[str]) -> dict:
        """Where kinds read lie outside the category the words name ("a waterproof bag for the
        monsoon" read as umbrellas): those inside it, else the LM's likeliest kind inside it, else
        nothing (:func:`vlrec.agent.vocabulary.category_named`). Returns the kinds now read."""
        inside = self.category_kinds(*cat)
        if set(read) & inside:  # "footwear" read as tshirts or casual shoes: the casual shoes
            for group in (intent.want, intent.unsure):
                if kept := {k: p for k, p in group.get("articleType", {}).items() if k in inside}:
                    group["articleType"] = kept
                else:
                    group.pop("articleType", None)
            return {k: p for k, p in read.items() if k in inside}
        ranked = sorted(reading.want.get("articleType", {}).items(), key=lambda kv: -kv[1])
        best = next((k for k, _ in ranked if k in inside and k not in ruled), None)
        intent.want.pop("articleType", None)
        intent.unsure.pop("articleType", None)
        intent.alternatives.pop("articleType", None)
        if best is None:  # that category alone
            (intent.want if self.cfg.category_filter else intent.unsure)[cat[0]] = {cat[1]: 1.0}
            return {}
        intent.want["articleType"] = {best: 1.0}
        return {best: 1.0}

    def _audience(self, session: Session, intent) -> None:
        """Who the words say the item is for, where they overrule the LM (:func:`vlrec.agent.audience.audience`)."""
        allowed, read = self.vocab.values.get("gender", ()), intent.want.get("gender", {})
        if who := audience(
            self._request_text(session), session.turns, read, allowed, self.cfg.audience_words
        ):
            intent.want["gender"] = dict.fromkeys(sorted(who), 1.0)
            intent.unsure.pop("gender", None)
        elif read and self.cfg.audience_words and attending(self._request_text(session)):
            intent.want.pop("gender")  # "I want to look sharp at my sister's engagement": not hers
        last = next((t.text for t in reversed(session.turns) if t.role == "user" and t.text), "")
        if self.cfg.audience_words and (refused := refused_sides(last, allowed)):
            # "for my sister, nothing that's marketed for men": never men's, and hers where read as his
            want = intent.want.pop("gender", {})
            kept = {v: p for v, p in want.items() if v not in refused}
            if want and not kept:  # the other side, never one refused too ("not for men, not for women")
                other = {OTHER_SIDE[v] for v in want if v in OTHER_SIDE} - refused
                kept = dict.fromkeys(sorted(other & set(allowed)), 1.0)
            if kept:
                intent.want["gender"] = kept
            if unsure := {v: p for v, p in intent.unsure.pop("gender", {}).items() if v not in refused}:
                intent.unsure["gender"] = unsure
            intent.avoid["gender"] = {**intent.avoid.get("gender", {}), **dict.fromkeys(sorted(refused), 1.0)}

    def _kind_for_audience(self, session: Session, intent, reading, their_kinds) -> None:
        """The one kind read has none for the audience read: the LM's next likeliest kind that has
        some, else the nearest such kind, takes its place, and the reply says so. Where the shopper
        named the kind and their words say no audience (the LM's alone: "I'm 5'2 ... for my cousin's
        sangeet. Block heels" read as men's: no one's sex named), the audience gives way instead."""
        kinds, who = set(intent.want.get("articleType", {})), set(intent.want.get("gender", {}))
        if len(kinds) != 1 or not who:
            return
        kind, text = next(iter(kinds)), self._request_text(session)
        if (
            not any((kind, g) in self._pairs for g in who)
            and kind in lexicon_kinds(text, self.vocab.values.get("articleType", ()))
            and not says_a_side(" ".join(t.text for t in session.turns if t.role == "user" and t.text))
        ):
            del intent.want["gender"]
            return
        ruled = set(intent.avoid.get("articleType", {})) | set(their_kinds) | kinds
        ranked = sorted(reading.want.get("articleType", {}).items(), key=lambda kv: -kv[1])
        likely = [k for k, p in ranked if p >= self.cfg.hedge_share]
        # then the nearest, then the LM's likeliest before the lexicon's vote ("a top for men": tshirts)
        candidates = [*likely, *self.near_kinds(kind), *session.fills]
        other = kind_for_audience(kind, who, candidates, ruled, self._pairs)
        if other is None and self.cfg.titled_kinds and not any((kind, g) in self._pairs for g in who):
            key = (kind, frozenset(who))
            if key not in self._titled:
                self._titled[key] = titled_kinds(kind, who, self.items)
            titled = [k for k in self._titled[key] if k not in ruled]  # women's sandals: flats
            if titled:
                intent.want["articleType"] = dict.fromkeys([kind, *titled], 1.0)
                return
            # else, where the words name a side, the nearest kind of its subcategory the audience
            # has ("office shoes for a woman, no heels": her casual shoes, not men's formal shoes),
            # else the LM's next kind they have, however unlikely ("a party outfit, man" read as
            # dresses); not an audience the LM alone read ("a boxed set for my boss" read as women's)
            if says_a_side(" ".join(t.text for t in session.turns if t.role == "user" and t.text)):
                near = self._audience_near(kind, who, ruled)
                other = kind_for_audience(kind, who, [*near, *(k for k, _ in ranked)], ruled, self._pairs)
        if other is not None:
            intent.want["articleType"] = {other: 1.0}
            intent.alternatives.get("articleType", {}).pop(other, None)
            said = " or ".join(sorted(g.lower() for g in who))
            session.notes.append(f"This catalogue has no {kind.lower()} for {said}.")

    def kind_vote(self, text: str, k: int) -> dict[str, int]:
        """How many of the ``k`` items nearest to ``text`` by their own words (dense and BM25, fused
        by rank) are of each article type."""
        if self.words is None or not text:
            return {}
        text = _PACK.sub(lambda m: f"{m.group(1)} take" if m.group(1) else "getting ready", text)
        near = rrf([[h.id for h in self.words.dense(text, k)], self.words.lexical(text, k)])
        top = sorted(near, key=lambda i: -near[i])[:k]
        return dict(
            Counter(self.items[i]["articleType"] for i in top if self.items.get(i, {}).get("articleType"))
        )

    def _apply_intent(self, session: Session, text: str) -> dict[str, str]:
        """Update the session's wants and exclusions from the intent LM; returns new single wants."""
        got = self.lm_intent(session)
        session.hedges = dict(got.alternatives.get("articleType", {}))
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
        words = text
        if self.cfg.context_colours:  # not the colour of something the shopper already has
            words = context_colours(text, self.vocab.values.get("baseColour", ()))[2]
        for f, v in self.vocab.match(words).items():
            if f == "articleType" and v in session.goes_with:
                continue  # "earrings to match a gold saree": the saree is not what is wanted
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
            session.image_vector = sight.vector if sight else None
        if self.cfg.intent == "lm" and self.intent is not None and text:
            found = self._apply_intent(session, text)
        else:
            found = self.vocab.match(text)
        if "articleType" in found and found["articleType"] != session.constraints.get("articleType"):
            session.anchor = None if image is None and ref is None else session.anchor
        for kind in ("articleType", *CATEGORIES):
            if kind in found:  # a new kind replaces the category asked before, and the other way round
                for f in CATEGORIES if kind == "articleType" else ("articleType",):
                    session.constraints.pop(f, None)
                    session.options.pop(f, None)
        session.constraints.update(found)
        leftover = _strip_known(text, self.vocab)
        if leftover:
            session.words = leftover

    def query_text(self, session: Session, relaxed: Iterable[str] = (), heading: bool = False) -> str:
        """The search text the constraints make (without ``relaxed`` fields: the reply's heading
        claims no wish it relaxed; a ``heading`` also names the kinds read as options)."""
        c = dict(session.constraints)
        if "articleType" not in c and (kind := self.anchor_kind(session)):  # "more like the second one"
            c["articleType"] = kind
        photo = session.image is not None and session.anchor is None
        if self.reader is not None and self.cfg.seen_in_query and photo:
            c = {**session.image_attrs, **c}  # the shopper's words win over what the photo shows
        if heading and "articleType" not in c and (kinds := session.options.get("articleType")):
            c["articleType"] = " or ".join(sorted(kinds, key=lambda k: -kinds[k]))  # "clutches or handbags"
        for f in relaxed:
            c.pop(f, None)
        kind = c.get("articleType", "")  # a heading without one names the category ("innerwear")
        kind = kind or (next((c[f] for f in CATEGORIES if c.get(f)), "") if heading else "")
        parts = [c.get("baseColour", ""), c.get("usage", ""), kind]
        q = " ".join(p.lower() for p in parts if p)
        if "gender" in c:
            q += f" for {c['gender'].lower()}"
        if session.image_description and not q and self.reader is None:
            q = session.image_description  # a VLM without heads: its free description
        if (
            not q
            and session.anchor is not None
            and (title := self.items.get(session.anchor, {}).get("title"))
        ):
            q = f"items like {title}"  # every wish relaxed: not the leftover word ("second")
        return (q or session.words or "").strip()


_STYLE_SHARE = 0.5
"""How likely the intent LM must read a kind the words rule out in everyday words for that name to be
a style of the item, not the item ("eyewear for the sun, not aviators": sunglasses at 0.99)."""
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
             "fifth": 4, "5th": 4, "last": -1}  # fmt: skip


def _price(meta: dict) -> float | None:
    try:
        return float(meta["price"])
    except (KeyError, TypeError, ValueError):
        return None


def _seller_summary(turn: Turn) -> str:
    """An assistant turn as the intent LM reads it: what was shown, not the whole list."""
    return f"Here are {len(turn.items)} items." if turn.items else turn.text.split("\n", 1)[0][:200]


_LEGWEAR = {"Jeans", "Trousers", "Track Pants", "Shorts", "Capris", "Leggings", "Churidar", "Lounge Pants",
            "Lounge Shorts"}  # fmt: skip
"""Kinds worn on the legs: an item to wear with one of them is worn elsewhere ("a top to wear with
jeans", "something for over my leggings"; a skirt is not among them: tights go with a skirt)."""


_SHOES_READ = {"Casual Shoes", "Flip Flops", "Sandals", "Formal Shoes", "Flats", "Heels"}
_ON_FEET = re.compile(r"\b(?:on|for)\s+(?:my|his|her|their|your|our)\s+feet\b")
"""A sport and the feet, with a kind of shoe the words do not name ("couch to 5k, what do I put on my
feet", "trekking, what do I wear on my feet"): sports shoes."""
_NOT_PLAYED = re.compile(
    r"\b(?:casual|smart|smarter|office|work(?!\s*outs?\b)|club|dinner|party|watch|watching|all day|slip"
    r"|open|recovery|after (?:a|the)|sports day|shop)\b"
)
"""Feet said beside a sport not played in those shoes ("casual fridays, smarter than gym stuff",
"watching the tennis", "on my feet all day in the sports shop")."""


def worn_elsewhere(theirs: set[str], text: str = "") -> set[str]:
    """The kinds an item to go with ``theirs`` is not: those kinds, and where all of them are worn
    on the legs and the item goes with them (not under or over them: "something warm to wear under
    my jeans" may be leggings), every other kind worn there and skirts ("flowy something to wear
    with jeans")."""
    layered = re.search(r"\b(?:under|underneath|beneath|over|inside)\b", text.lower())
    legs = bool(theirs) and set(theirs) <= _LEGWEAR and not layered
    return set(theirs) | (_LEGWEAR | {"Skirts"} if legs else set())


def _without(reading, theirs: set[str]):
    """The reading with ``theirs`` (kinds named only as what the wanted item goes with, or only
    inside a phrase that names no item) taken out of its article-type distribution (renormalised;
    *none* kept), where some other kind is left."""
    from vlrec.adapters.intent import Reading

    dist = reading.want.get("articleType", {})
    kept = {v: p for v, p in dist.items() if v not in theirs}
    if not theirs or len(kept) == len(dist) or not kept or sum(kept.values()) <= 0:
        return reading
    mass, z = 1.0 - reading.none.get("articleType", 0.0), sum(kept.values())
    return Reading(
        {**reading.want, "articleType": {v: mass * p / z for v, p in kept.items()}},
        reading.avoid,
        reading.none,
    )
