"""Finding the items: filters from the session's wants and exclusions (relaxed one by one while
nothing matches; when fewer than k items match, the nearest items under relaxed filters follow
them), the aligned-space search fused by rank with the words paths, the user's
history, and the rerank (constraints, typicality, history, what the photo shows, diversity)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from vlrec.agent.kinds import AUDIENCE as _AUDIENCE
from vlrec.agent.kinds import wider_audience
from vlrec.agent.replies import _FITS, _LIKED, Recommendation, reason
from vlrec.agent.state import Session
from vlrec.agent.vocabulary import CATEGORIES, FIELDS, asked_colours
from vlrec.retrieval.words import passes as _passes
from vlrec.retrieval.words import rrf


class Retrieving:
    """The agent's retrieval and rerank step (mixed into :class:`vlrec.agent.session.Agent`)."""

    def retrieve(
        self, session: Session
    ) -> tuple[list[Recommendation], list[str], tuple[int, list[str]] | None]:
        """Candidates under the hard constraints (relaxed one by one while none match), reranked;
        the fields relaxed; and, when the reply was filled up, how many items met every wish and
        which fields the items after them relax."""
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
        if "articleType" not in hard and (kind := self.anchor_kind(session)):
            hard["articleType"] = (
                kind  # "more like the second one": that kind, the other wishes relaxed first
            )
        every_wish, asked = _where(hard), dict(hard)
        blocked = list(session.rejected)
        if session.user is not None:  # what the user already has is not recommended again
            blocked += [i for i in self.profiles.seen(session.user) if i in self.items]
        exclude = list(dict.fromkeys(session.shown + blocked))
        text = self.query_text(session) or None
        image = session.image if session.anchor is None else None
        request = self._request_text(session) if session.anchor is None else ""
        last = session.turns[-1] if session.turns else None
        photo_turn = image is not None and last is not None and last.role == "user" and last.image is not None
        weight = self.cfg.words_photo_weight if photo_turn else self.cfg.words_weight
        n = max(self.cfg.candidates, session.k or 0)
        relaxed: list[str] = []
        shaded = False  # the colour widened to its nearest shades (once)
        order = ["price", "usage", "season", "baseColour", "gender", "articleType", *CATEGORIES]
        order = [k for k in order if k in hard] + [k for k in hard if k.startswith("!")]

        def find(where, exclude) -> list:
            if session.anchor is not None:
                return self.searcher.search(item_id=session.anchor, k=n, where=where, exclude=exclude)
            if text is None and image is None and not request:
                return []
            vector = session.image_vector if image is not None else None
            return self._search(text, image, request, n, where, exclude, vector, weight)

        tried_kinds = False
        while True:
            where = _where(hard)
            hits = find(where, exclude)
            if hits or not order:
                break
            if order[0] == "baseColour" and not shaded:  # none in the colour
                widened = self._before_colour(hard)
                shaded = widened == "baseColour"
                if widened:
                    if widened not in relaxed:
                        relaxed.append(widened)
                    continue
            if order[0] == "baseColour" and not tried_kinds and (near := self._colour_kinds(hard, session)):
                tried_kinds = True  # "a kurta set in red or maroon": kurtas in those colours first
                trial = {**hard, "articleType": {"$in": [hard["articleType"], *near]}}
                if hits := find(_where(trial), exclude):
                    hard, where = trial, _where(trial)
                    relaxed.append("articleType")
                    break
            eased_key = "gender" if self._unisex(hard) else self._ease(hard, order)
            if eased_key not in relaxed:
                relaxed.append(eased_key)
        if hits and session.anchor is None and self.cfg.lean_fields:  # "to time my laps": sports watches
            have = {h.id for h in hits}  # among the candidates, not only those the words found first
            for f, dist in session.leanings.items():
                enough = sum(h.metadata.get(f) in dist for h in hits) >= (session.k or self.cfg.k)
                if f in self.cfg.lean_fields and f not in hard and dist and not enough:  # too few found
                    more = find(_where({**hard, f: {"$in": sorted(dist)}}), exclude)
                    hits = list(hits) + [h for h in more if h.id not in have]  # each at its own search's
                    have |= {h.id for h in more}  # score (at the first's weakest they ranked too low: dev)
        wishes = {**session.image_attrs, **session.constraints}
        if session.anchor is not None and isinstance(anchored := asked.get("articleType"), str):
            wishes["articleType"] = anchored  # "more like the fourth one": its kind, not the photo's
        if session.profile:
            hits = self._with_profile(session, hits, where, set(exclude))
        items = self.rerank(hits, wishes, session.k, session)
        want = session.k or self.cfg.k
        backfill = None
        if self.cfg.backfill and hits and len(items) < want and order:  # too few meet every wish
            seen = exclude + [h.id for h in hits]
            extra: list = []
            eased: list[str] = []
            shades = 0  # how many of ``extra`` are of the nearest shades: they come first
            unwanted = {*session.goes_with, *session.avoid.get("articleType", ())}  # never a fill
            while len(extra) < want - len(items) and order and order[0] != "articleType":  # the kind: below
                if order[0] == "baseColour" and not shaded:  # brown and beige belts before any colour
                    widened = self._before_colour(hard)
                    shaded = widened == "baseColour"
                    if widened:
                        if widened not in eased:
                            eased.append(widened)
                        extra += find(_where(hard), seen + [h.id for h in extra])
                        shades = len(extra) if shaded else shades
                        continue
                kind = hard.get("articleType")
                kids = _values(hard["gender"]) - {"Unisex"} if order[0] == "gender" else set()
                if isinstance(kind, str) and self._kinds_first(order[0], hard, session):
                    # here, not in _ease: the no-match path would keep the nearest kinds in the
                    # filter even where the audience or colour has none of them
                    near = [k for k in self.near_kinds(kind) if k not in unwanted]
                    child = _values(hard["gender"]) - {"Unisex"} if order[0] == "gender" else set()
                    if not near and child and child <= _CHILDREN:
                        # a child's clothes: the LM's other likely kinds before an adult's size
                        near = [k for k in session.fills if k != kind and k not in unwanted]
                    coloured = False  # the LM's next kinds in the colour asked: they come first
                    colours, who = _values(hard.get("baseColour")), _values(hard.get("gender"))
                    if (
                        order[0] == "baseColour"
                        and not any(self._in_colour(k, colours, who) for k in near)  # none in the colour
                        and _said_colour(session)  # not a colour the photo was read as
                    ):
                        # four stoles in grey or white: grey and white mufflers next; one purple
                        # clutch: purple handbags next; three olive messenger bags (laptop and
                        # duffel bags, the nearest kinds, have none in olive): olive backpacks next
                        fills = [k for k in self._fills(session, kind) if k not in unwanted]
                        fills = fills if self._scarce(kind, session) else []
                        found = [k for k in fills if self._in_colour(k, colours, who)]
                        if colours & asked_colours(
                            self._request_text(session), self.vocab.values.get("baseColour", ())
                        ):  # named
                            found += [
                                k for k in self._colour_near(kind, colours, unwanted, who) if k not in found
                            ]
                        coloured = bool(found) or (not near and bool(fills))
                        near = found or near or fills  # (else the colour is eased with them in)
                    elif (
                        not near
                        and order[0] == "gender"
                        # where no colour, use or price was asked (each is eased before the audience)
                        and not {*relaxed, *eased} & {"baseColour", "usage", "price"}
                        and self._scarce(kind, session, _values(hard["gender"]))
                    ):
                        # one stole for women: her scarves and mufflers before men's stoles (not
                        # "formal pants for a woman, black", one pair: her track pants in any colour)
                        near = [k for k in self._fills(session, kind) if k not in unwanted]
                        if not near:
                            near = self._audience_near(kind, _values(hard["gender"]), unwanted)
                        coloured = bool(near)
                    if near:
                        hard["articleType"] = {"$in": [kind, *near]}
                        eased.append("articleType")
                        extra += find(_where(hard), seen + [h.id for h in extra])
                        shades = len(extra) if coloured else shades
                        continue
                if (
                    isinstance(kind, str)
                    and kids
                    and kids <= _CHILDREN
                    and not self.near_kinds(kind)
                    and not [k for k in session.fills if k != kind and k not in unwanted]
                    and (siblings := [k for k in self._child_kinds(kind, kids) if k not in unwanted])
                ):  # with no nearest kinds nor other kinds read: the child's items of the same
                    # category, before unisex (adult-sized) ones ("trainers for my 9 year old":
                    # children's casual shoes before an adult's trainers; "t-shirts for my daughter
                    # who's 7": girls' tops before unisex tees)
                    first = not extra  # nothing found yet under an eased wish
                    hard["articleType"] = {"$in": [kind, *siblings]}
                    eased.append("articleType")
                    extra += find(_where(hard), seen + [h.id for h in extra])
                    shades = len(extra) if first else shades  # the child's own items first
                    continue
                eased_key = "gender" if self._unisex(hard) else self._ease(hard, order)  # one step each time
                if eased_key not in eased:
                    eased.append(eased_key)
                extra += find(_where(hard), seen + [h.id for h in extra])
            kind = asked.get("articleType")  # short: its nearest kinds, then the LM's next likeliest
            kinds = _values(hard.get("articleType"))  # (the nearest kinds may be in already: boxers,
            short = len(extra) < want - len(items) and isinstance(kind, str) and kind in kinds  # briefs)
            near = {*self.near_kinds(kind), *session.fills} - kinds - unwanted if short else set()
            if near:  # the kind has no more: its nearest kinds follow
                hard["articleType"] = {"$in": [kind, *sorted(kinds - {kind}), *sorted(near)]}
                if "articleType" not in eased:
                    eased.append("articleType")
                extra += find(_where(hard), seen + [h.id for h in extra])
            if extra:
                backfill = (len(items), eased)
                first = self.rerank(extra[:shades], wishes, want - len(items), session) if shades else []
                items += first + self.rerank(extra[shades:], wishes, want - len(items) - len(first), session)
        if (
            self.cfg.backfill
            and hits
            and len(items) < want
            and session.anchor is None
            and self.photo_kind(session) is None
        ):
            used = _values(hard.get("articleType"))
            items, backfill = self._any_kind(
                session, items, backfill, asked, used, find, exclude, wishes, want
            )
        kind = self.photo_kind(session)
        if kind is not None and not relaxed and session.wishes not in (None, every_wish):  # a new wish
            items, backfill = self._seen_again(session, items, backfill, kind, every_wish, set(blocked), want)
        if session.hedges and session.anchor is None and self.photo_kind(session) is None:
            items, backfill = self._hedge(session, items, backfill, asked, find, exclude, wishes, want)
        session.wishes = every_wish
        return items, relaxed, backfill

    def _colour_kinds(self, hard: dict, session: Session) -> list[str]:
        """Where the one kind asked for has none in the colour asked for, the kinds that come before
        the colour is dropped (``agent.kinds_before_colour``): its nearest kinds, else, where the
        catalogue has fewer of the kind than a reply holds (:meth:`_scarce`), the LM's other likely
        kinds of its master category (not one it goes with nor one ruled out)."""
        kind = hard.get("articleType")
        if not isinstance(kind, str) or session.anchor is not None or not self.cfg.kinds_before_colour:
            return []
        if self.photo_kind(session) is not None:  # "this bag in red": bags of other colours first
            return []
        if not _said_colour(session):  # a colour the photo was read as may be misread: the kind stays
            return []
        unwanted = {*session.goes_with, *session.avoid.get("articleType", ()), kind}
        likely = self._fills(session, kind) if self._scarce(kind, session) else []
        return [k for k in (self.near_kinds(kind) or likely) if k not in unwanted]

    def _scarce(self, kind: str, session: Session, genders: set[str] | None = None) -> bool:
        """Whether the catalogue holds fewer items of ``kind`` (for one of ``genders``, where given)
        than a reply does (two kurta sets, four stoles, one stole for women): then its neighbours
        fill the reply anyway, better in the colour and for the audience asked."""
        counts = self._counts()
        if genders is None:
            return counts.get(kind, 0) < (session.k or self.cfg.k)
        return sum(counts.get((kind, g), 0) for g in genders) < (session.k or self.cfg.k)

    def _counts(self) -> Counter:
        """How many items the catalogue holds of each kind and of each (kind, gender), read once."""
        if self._kind_counts is None:
            self._kind_counts = Counter(m.get("articleType") for m in self.items.values())
            self._kind_counts.update((m.get("articleType"), m.get("gender")) for m in self.items.values())
        return self._kind_counts

    def _audience_near(self, kind: str, genders: set[str], unwanted: set[str]) -> list[str]:
        """Where the LM read no other kind: the three kinds nearest ``kind`` of its subcategory
        (else near kinds of its master category) that the catalogue has for one of ``genders``
        ("office shoes for a woman, no heels": her casual shoes and flats before men's formal shoes;
        "a spray for women": her perfume after her three deodorants). None (an empty list) where no
        man's or woman's item is asked for (a child's, or "a wallet anyone could use": another
        side's items of the kind are nearer), nor with the nearest kinds off (``agent.near_kinds``)."""
        if not genders & {"Men", "Women"} or self.cfg.near_kinds >= 1.0:  # (nearest kinds off)
            return []
        places = self.kind_places()
        master, sub = places.get(kind, ("", ""))
        counts = self._counts()

        def nearest(floor: float) -> list[str]:
            return [
                k
                for k in self.near_kinds(kind, floor=floor, n=len(places))
                if k not in unwanted and k != kind and any(counts.get((k, g), 0) for g in genders)
            ]

        same = [k for k in nearest(-1.0) if sub and places.get(k, ("", ""))[1] == sub]
        # of the master category, only a kind that is near indeed ("stoles": scarves, not wallets)
        return (same or [k for k in nearest(_NEAR_IN_MASTER) if places.get(k, ("", ""))[0] == master])[:3]

    def _colour_near(
        self, kind: str, colours: set[str], unwanted: set[str], genders: set[str] = frozenset()
    ) -> list[str]:
        """The two kinds of ``kind``'s subcategory nearest it that the catalogue has in one of
        ``colours`` (for one of ``genders``, where given): "a purple clutch", one in the catalogue:
        purple handbags next; none with the nearest kinds off (``agent.near_kinds``)."""
        if not colours or self.cfg.near_kinds >= 1.0:
            return []
        places = self.kind_places()
        sub = places.get(kind, ("", ""))[1]
        return [
            k
            for k in self.near_kinds(kind, floor=-1.0, n=len(places))
            if k != kind
            and k not in unwanted
            and sub
            and places.get(k, ("", ""))[1] == sub
            and self._in_colour(k, colours, genders)
        ][:2]

    def _in_colour(self, kind: str, colours: set[str], genders: set[str] = frozenset()) -> int:
        """How many items of ``kind`` the catalogue has in one of ``colours`` (for one of ``genders``,
        where given: white handbags for men, not for women)."""
        if self._colour_counts is None:
            self._colour_counts = Counter(
                (m.get("articleType"), m.get("baseColour"), m.get("gender")) for m in self.items.values()
            )
        return sum(
            n
            for (k, c, g), n in self._colour_counts.items()
            if k == kind and c in colours and (not genders or g in genders)
        )

    def _fills(self, session: Session, kind: str) -> list[str]:
        """The LM's other likely kinds (``session.fills``) of ``kind``'s master category ("a warm
        wrap for my neck": mufflers after stoles, not vests)."""
        places = self.kind_places()
        master, sub = places.get(kind, ("", ""))
        same = [k for k in session.fills if k != kind and places.get(k, ("", ""))[0] == master]
        return sorted(same, key=lambda k: places.get(k, ("", ""))[1] != sub)  # its subcategory's first

    def _any_kind(self, session, items, backfill, asked, used, find, exclude, wishes, want: int):
        """Where every kind near the one asked for has run out and the reply is still short ("a
        salwar suit": two kurta sets), the items of the three kinds nearest it (however far; of its
        subcategory where that has other kinds, else of its master category; not one it goes with,
        one ruled out or one already used) under its other wishes fill it up, after the LM's other
        likely kinds of its master category; where none are found, the usual wishes are eased
        (price, usage, season), then the colour."""
        kind = asked.get("articleType")
        if not isinstance(kind, str):
            return items, backfill
        unwanted = {*session.goes_with, *session.avoid.get("articleType", ()), kind, *used}
        places = self.kind_places()
        master, sub = places.get(kind, ("", ""))
        nearest = [k for k in self.near_kinds(kind, floor=-1.0, n=len(places)) if k not in unwanted]
        near = [k for k in nearest if sub and places.get(k, ("", ""))[1] == sub][:3] or [
            k for k in nearest if places.get(k, ("", ""))[0] == master
        ][:3]  # of its subcategory where it has others ("jewellery": not wallets), else its master category
        in_sub = bool(sub) and any(places.get(k, ("", ""))[1] == sub for k in nearest)
        likely = [  # of its subcategory where that has others, as the nearest
            k for k in self._fills(session, kind) if k not in unwanted and (not in_sub or places[k][1] == sub)
        ]
        near = [k for k in near if k not in likely]
        if not likely and not near:
            return items, backfill
        have = [r.id for r in items]
        eased = list(backfill[1] if backfill else [])
        extra: list = []
        # the LM's other likely kinds first, then the nearest; under every other wish, then with the
        # usual ones eased (price, usage, season), then the colour too: "a kurta set in mustard"
        for drop in ((), ("price", "usage", "season"), ("price", "usage", "season", "baseColour")):
            for kinds in (likely, near):
                if not kinds or len(extra) >= want - len(items):
                    continue
                hard = {f: v for f, v in asked.items() if f not in CATEGORIES and f not in drop}
                hard["articleType"] = {"$in": kinds}
                found = find(_where(hard), [*exclude, *have, *(r.id for r in extra)])
                extra += self.rerank(found, wishes, want - len(items) - len(extra), session)
            if extra:
                eased += [f for f in drop if f in asked]
                break
        if not extra:
            return items, backfill
        eased = list(dict.fromkeys([*eased, "articleType"]))
        return items + extra, (backfill[0] if backfill else len(items), list(dict.fromkeys(eased)))

    def _hedge(self, session, items, backfill, asked, find, exclude, wishes, want: int):
        """The best item of each other kind the intent LM found likely (``session.hedges``) under
        every other wish takes one of the reply's last places (at most ``agent.hedge_places``)."""
        places = int(want * self.cfg.hedge_places + 1e-9)
        ranked = sorted(session.hedges.items(), key=lambda kv: -kv[1])
        have, extra = {r.id for r in items}, []
        for kind, _ in ranked[:places]:
            hits = find(_where({**asked, "articleType": kind}), [*exclude, *have])
            if hits:
                extra += self.rerank(hits, wishes, 1, session)[:1]
                have.add(extra[-1].id)
        if not extra:
            return items, backfill
        keep = min(len(items), want - len(extra))
        if backfill is not None:
            backfill = backfill if backfill[0] < keep else None  # none of the filled-up items left
        kinds = " or ".join(dict.fromkeys(r.metadata.get("articleType", "").lower() for r in extra))
        last = (
            "the last item is of that kind"
            if len(extra) == 1
            else f"the last {len(extra)} are of those kinds"
        )
        session.notes.append(f"In case you meant {kinds}, {last}.")
        return items[:keep] + extra, backfill

    def near_kinds(self, kind: str, floor: float | None = None, n: int = 2) -> list[str]:
        """Up to two kinds whose items' texts lie nearest those of ``kind`` (cosine of the kinds'
        centroids in the shared space at least ``agent.near_kinds``: tights → stockings, a hat →
        caps, gloves → none); what fills up a reply when the kind asked for has no more items.
        ``floor`` (instead of that setting) and ``n``: how near, how many.
        The centroids are read from the text collection once, on first use."""
        import numpy as np

        floor = self.cfg.near_kinds if floor is None else floor
        if floor >= 1.0:
            return []
        if self._kind_centroids is None:
            groups: dict[str, list] = {}
            for i, v in self.searcher.store.vectors(self.searcher.cols["text"], list(self.items)).items():
                if self.items[i].get("articleType"):
                    groups.setdefault(self.items[i]["articleType"], []).append(
                        v / max(np.linalg.norm(v), 1e-12)
                    )
            names = sorted(groups)
            centroids = np.stack([np.mean(groups[n], axis=0) for n in names]) if names else np.zeros((0, 1))
            centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
            self._kind_centroids = (names, centroids)
        names, centroids = self._kind_centroids
        if kind not in names:
            return []
        sims = centroids @ centroids[names.index(kind)]
        near = [names[j] for j in np.argsort(-sims) if names[j] != kind and sims[j] >= floor]
        return near[:n]

    def _child_kinds(self, kind: str, child: set[str]) -> list[str]:
        """The other kinds of ``kind``'s subcategory that hold items for ``child`` (boys, girls),
        most such items first."""
        if self._child_kind_counts is None:
            counts: dict[tuple[str, str], dict[str, int]] = {}
            for item in self.items.values():
                if item.get("gender") in _CHILDREN and item.get("articleType"):
                    group = counts.setdefault((item.get("subCategory", ""), item["gender"]), {})
                    group[item["articleType"]] = group.get(item["articleType"], 0) + 1
            self._child_kind_counts = counts
        sub = next(
            (it.get("subCategory", "") for it in self.items.values() if it.get("articleType") == kind), ""
        )
        total: dict[str, int] = {}
        for who in child:
            for k, n in self._child_kind_counts.get((sub, who), {}).items():
                total[k] = total.get(k, 0) + n
        return sorted((k for k in total if k != kind), key=lambda k: (-total[k], k))

    def _kinds_first(self, key: str, hard: dict, session: Session) -> bool:
        """Whether the nearest kinds fill a reply up before the wish ``key`` is eased: for a child's
        audience (an adult's item is the wrong size), before an adult's audience is dropped altogether
        (``agent.kinds_before_audience``) and before a named colour is (``agent.kinds_before_colour``);
        never for "more like the fifth one", which keeps that item's kind."""
        if key == "gender":
            audience = _values(hard[key])
            if audience and audience <= _CHILDREN:
                return True
            widest = not self.cfg.widen_gender or all(
                n in audience for v in audience for n in _AUDIENCE.get(v, ())
            )
            return bool(audience) and session.anchor is None and self.cfg.kinds_before_audience and widest
        return key == "baseColour" and session.anchor is None and self.cfg.kinds_before_colour

    def _before_colour(self, hard: dict) -> str | None:
        """Before the colour wish is dropped (``agent.near_colours``): widen to unisex items, else to
        the colour's nearest shades; the field widened, or None."""
        if not self.cfg.near_colours:
            return None
        return "gender" if self._unisex(hard) else "baseColour" if self._near_colours(hard) else None

    def _near_colours(self, hard: dict) -> bool:
        """Widen the colour wish to its nearest shades the catalogue has (``agent.near_colours``);
        whether it widened."""
        from vlrec.data.lexicon import NEAR_COLOURS

        values = _values(hard.get("baseColour"))
        if not self.cfg.near_colours or not values:
            return False
        have = set(self.vocab.values.get("baseColour", ()))
        wider = [*sorted(values), *(n for v in sorted(values) for n in NEAR_COLOURS.get(v, ()) if n in have)]
        wider = list(dict.fromkeys(wider))
        if len(wider) == len(values):
            return False
        hard["baseColour"] = {"$in": wider}
        return True

    def _unisex(self, hard: dict) -> bool:
        """Widen the gender wish to unisex items (``agent.unisex_first``); whether it widened."""
        values = _values(hard.get("gender")) if self.cfg.unisex_first and self.cfg.widen_gender else set()
        if (wider := wider_audience(values, nearest_only=True)) is None:
            return False
        hard["gender"] = {"$in": wider}
        return True

    def _ease(self, hard: dict, order: list[str]) -> str:
        """Relax the first wish of ``order`` one step; returns the field's name. Who an item is for
        widens to the nearest audience first, one step at a time (girls' → unisex → women's, men's →
        unisex; with ``agent.widen_gender``), and is dropped only after the widest."""
        key = order[0]
        if key == "gender" and self.cfg.widen_gender and (wider := wider_audience(_values(hard[key]))):
            hard[key] = {"$in": wider}
            return key
        order.pop(0)
        hard.pop(key)
        return key.lstrip("!")

    def anchor_kind(self, session: Session) -> str | None:
        """The kind of the listed item the shopper pointed at ("more like the second one"), if any."""
        return self.items.get(session.anchor, {}).get("articleType") if session.anchor is not None else None

    def photo_kind(self, session: Session) -> str | None:
        """The kind of item the photo shows, where it decides the kind (the shopper named none and
        did not point at a listed item)."""
        if session.image is None or session.anchor is not None or "articleType" in session.constraints:
            return None
        return session.image_attrs.get("articleType")

    def _seen_again(self, session, items, backfill, kind, where, blocked: set, want: int):
        """On a turn that changed the wishes, when fewer than ``want`` new items of the photo's kind
        meet every wish, the ones already shown that do come back after them, before any other kind:
        a shopper who narrows ("in black") wants the black ones of the photo's kind seen before, not
        the nearest other kinds; "show me others" (the same wishes) shows none again."""
        from vlrec.retrieval.store import Hit

        full, rest = (items[: backfill[0]], items[backfill[0] :]) if backfill else (items, [])
        same = [r for r in full if r.metadata.get("articleType") == kind]
        if len(same) >= want:
            return items, backfill
        have = {r.id for r in items}
        wishes = {**session.image_attrs, **session.constraints}
        again = [
            self._rec(Hit(i, 0.0, 1.0, meta, None), wishes)
            for i in session.shown
            if i not in have and i not in blocked
            and (meta := self.items.get(i)) is not None
            and meta.get("articleType") == kind and _passes(meta, where)
        ][: want - len(same)]  # fmt: skip
        if not again:
            return items, backfill
        full = same + again + [r for r in full if r.metadata.get("articleType") != kind]
        items = (full + rest)[:want]
        others = any(r.metadata.get("articleType") != kind for r in items)
        session.notes.append(
            f"{len(again)} {kind.lower()} you have already seen meet this wish too, so they are listed again"
            + ("; the others are the nearest other items." if others else ".")
        )
        return items, ((len(full), backfill[1]) if backfill and len(full) < len(items) else None)

    def _request_text(self, session: Session) -> str:
        """The shopper's own words of the latest text turns (the words paths' query)."""
        said = [t.text for t in session.turns if t.role == "user" and t.text][-3:]
        return " ".join(said).strip()

    def _search(self, text, image, request: str, n: int, where, exclude, vector=None, weight=1.0) -> list:
        """The aligned-space search, fused by reciprocal rank with the words paths (each of
        ``weight``) for a text request."""
        from vlrec.retrieval.store import Hit

        hits = (
            self.searcher.search(
                text=text, image=image, k=n, where=where, exclude=exclude, image_vector=vector
            )
            if (text or image is not None)
            else []
        )
        if self.words is None or not self.cfg.words or not request or weight <= 0:
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
                weights.append(weight)
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
            kind = self.anchor_kind(session)
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


_CHILDREN = {"Boys", "Girls"}
"""Audiences whose items an adult's do not replace (sizes): their nearest kinds come first."""
_NEAR_IN_MASTER = 0.4
"""How near (cosine of the kinds' text centroids) a kind of another subcategory must lie to stand
in for one the audience has too few of (stoles: scarves at 0.43; gloves at 0.37 and wallets do not)."""


def _said_colour(session: Session) -> bool:
    """Whether the shopper's words asked for the colour (not only the photo, as read)."""
    return "baseColour" in session.constraints or "baseColour" in session.options


def _values(wish: Any) -> set:
    """The values a hard wish accepts (a value, or ``{"$in": [...]}``); empty for other filters."""
    if isinstance(wish, str):
        return {wish}
    return set(wish["$in"]) if isinstance(wish, dict) and "$in" in wish else set()


def _combo(meta: dict) -> tuple:
    return tuple(meta.get(f) for f in FIELDS)


def _where(hard: dict[str, Any]) -> dict | None:
    """A Chroma filter from hard constraints (keys ``!field`` hold a field's exclusions)."""
    parts = [{k.lstrip("!"): v if isinstance(v, dict) else {"$eq": v}} for k, v in hard.items()]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}
