"""``vlrec eval chat``: a simulated shopper looks for a hidden target item.

Protocol. Targets are drawn at random (seeded) from catalogue items that have an
article type, colour, gender and usage. The shopper reveals the target's attributes
one turn at a time, in words of its own (never the title, the id, or text copied
from the item):

    turn 1  "I'm looking for <article type> for <gender>."
            (with ``--image``: plus a photo of *another* item of the same type,
            colour and gender: "something like this")
    turn 2  "In <colour>, please."
    turn 3  "Something for <usage> use, for <season>."

Latency is reported for turns in words (``latency_*``) and, with ``--image``, for the
turns with a photo apart (``latency_photo_*``). The agent answers each turn with ``k`` items (10 by default) and excludes items it
has shown. success@10 after turn t = the target was among the items shown in turns
1..t. Every reply is checked: each item it names must be a catalogue item whose
title and reason match the stored record (ungrounded items must be 0).

``ceiling_success@k_turn<t>`` is the most any agent could expect after turn t: nothing
tells the target apart from the other items sharing what the shopper has shown by then
(type and gender; the colour, in the photo or in words; usage and season), so the t * k
distinct items shown hold it with probability at most t * k / their number. A run of a
few hundred shoppers can land a few points above it by chance; its expectation cannot.
"""

from __future__ import annotations

import random
import re
import sys
import time
from collections import Counter

import numpy as np

from vlrec.data.lexicon import GENDER_NOUNS


def shopper_turns(target: dict) -> list[str]:
    t = [
        f"I'm looking for {target['articleType'].lower()} for {GENDER_NOUNS.get(target['gender'], target['gender'].lower())}."
    ]
    t.append(f"In {target['baseColour'].lower()}, please.")
    last = f"Something for {target['usage'].lower()} use"
    if target.get("season"):
        last += f", for {str(target['season']).lower()}"
    t.append(last + ".")
    return t


_SAID = (("articleType", "gender"), ("baseColour",), ("usage", "season"))


def _said_group_sizes(kin: list[dict], meta: dict, photo: dict | None) -> list[int]:
    """For each turn, how many of ``kin`` (the items of the target's type and gender) share every
    attribute the shopper has shown by then: said, or on turn 1 the colour in the ``photo`` (an
    item of the target's type, colour and gender, never the target itself)."""
    fields: list[str] = [] if photo is None else ["baseColour"]
    sizes = []
    for said in _SAID:
        fields += [f for f in said if meta.get(f)]  # the shopper names only what the target has
        sizes.append(sum(m is not photo and all(m.get(f) == meta[f] for f in fields) for m in kin))
    return sizes


def eval_chat(
    agent,
    images: dict[str, str] | None = None,
    n: int = 100,
    seed: int = 0,
    with_image: bool = False,
    turns: int = 3,
) -> dict:
    """Run the protocol; ``images`` maps item ids to photo files (needed with ``with_image``)."""
    from tqdm import tqdm

    from vlrec.agent.replies import verify

    rng = random.Random(seed)
    items = agent.items
    pool = [
        i for i, m in items.items() if all(m.get(k) for k in ("articleType", "baseColour", "gender", "usage"))
    ]
    if not pool:
        raise ValueError(
            "no catalogue item has articleType, baseColour, gender and usage to simulate a shopper"
        )
    targets = rng.sample(pool, min(n, len(pool)))
    found_at: list[int | None] = []
    sizes_seen: list[list[int]] = []
    by_kind: dict[tuple, list[dict]] = {}
    for m in items.values():
        by_kind.setdefault((m.get("articleType"), m.get("gender")), []).append(m)
    latency: list[float] = []
    photo_latency: list[float] = []
    replies = ungrounded = named = 0
    for target_id in tqdm(targets, desc="shoppers", unit="shopper", file=sys.stderr):
        meta = items[target_id]
        photo = shown_id = None
        if with_image:
            same = [
                i for i in (images or {})
                if i != target_id and i in items
                and all(items[i].get(k) == meta[k] for k in ("articleType", "baseColour", "gender"))
            ]  # fmt: skip
            shown_id = rng.choice(same) if same else None
            photo = images[shown_id] if shown_id is not None else None
        kin = by_kind[meta["articleType"], meta["gender"]]
        sizes_seen.append(_said_group_sizes(kin, meta, items[shown_id] if shown_id is not None else None))
        session = agent.session()
        hit = None
        for t, text in enumerate(shopper_turns(meta)[:turns], start=1):
            start = time.perf_counter()
            reply = session.send(text, image=photo if t == 1 else None)
            (photo_latency if photo is not None and t == 1 else latency).append(time.perf_counter() - start)
            replies += 1
            kept, dropped = verify(reply.items, items)
            named += len(reply.items)
            ungrounded += len(dropped) + len(reply.dropped)
            cited = set(re.findall(r"\(id ([^)]+)\)", reply.text))
            ungrounded += len(cited - set(items))
            if hit is None and target_id in [r.id for r in reply.items]:
                hit = t
        found_at.append(hit)
    out: dict = {"shoppers": len(targets), "with_image": with_image}
    for t in range(1, turns + 1):
        out[f"success@{agent.cfg.k}_turn{t}"] = float(np.mean([h is not None and h <= t for h in found_at]))
    for t in range(1, turns + 1):
        # The most any agent can reach: after turn t the shopper has shown some of the target's
        # attributes (in words, or the photo's colour) and nothing else about it (the photo is of
        # another item drawn at random among those sharing type, colour and gender), so the target
        # is equally likely to be any item sharing them but the photo's, and the t * k distinct
        # items shown hold it with probability at most t * k / that many, in expectation.
        out[f"ceiling_success@{agent.cfg.k}_turn{t}"] = float(
            np.mean([min(1.0, t * agent.cfg.k / max(1, s[min(t, len(s)) - 1])) for s in sizes_seen])
        )
    hits = [h for h in found_at if h is not None]
    out["mean_turns_to_success"] = float(np.mean(hits)) if hits else None
    out["replies"] = replies
    out["items_named"] = named
    out["ungrounded_items"] = ungrounded
    if latency:  # turns in words (none when a one-turn run opens with a photo)
        out["latency_p50_s"] = float(np.percentile(latency, 50))
        out["latency_p95_s"] = float(np.percentile(latency, 95))
    if with_image:
        # What turn 1 can reach at best: an agent that knows the photo's type, colour and gender
        # exactly (the words give type and gender) but has nothing else to tell the target from
        # the other items sharing them (the photo shows one of those others) finds it with
        # probability min(1, k / |items sharing type, colour and gender|), in expectation.
        key = lambda m: tuple(m.get(f) for f in ("articleType", "baseColour", "gender"))  # noqa: E731
        sizes = Counter(key(m) for m in items.values())
        out[f"attribute_oracle_success@{agent.cfg.k}_turn1"] = float(
            np.mean([min(1.0, agent.cfg.k / sizes[key(items[t])]) for t in targets])
        )
    if photo_latency:  # turns with a photo, apart: the VLM describes it
        out["latency_photo_p50_s"] = float(np.percentile(photo_latency, 50))
        out["latency_photo_p95_s"] = float(np.percentile(photo_latency, 95))
    return out
