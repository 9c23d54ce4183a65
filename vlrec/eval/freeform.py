"""``vlrec eval freeform``: shopper requests in everyday words, against the whole agent and its baselines.

Each labelled request (``benchmarks/data/freeform_requests.jsonl``: ``text``, ``want`` = field ->
acceptable values, ``avoid`` = field -> excluded values) is sent once, as the first turn of a new
conversation, and the 10 items that come back are judged: an item *fits* when each asked field's
value is acceptable and no excluded value appears. One run reports, on the same requests:

- **aligned-space search**: the request against the items' text vectors in the shared image-text
  space, no filters (where the hub items of that space show);
- **keyword rules**: catalogue words found in the text filter an aligned-space search (the
  agent's ``intent=rules`` pipeline, without the words paths);
- **plain MiniLM search**: the request's all-MiniLM-L6-v2 vector against each item's document
  (title and catalogue fields), no filters, no LM (:class:`vlrec.retrieval.words.WordsIndex`);
- **LM intent + MiniLM**: the intent LM's wants and exclusions as the filter of that same search;
- **full agent**: the default agent (intent LM, aligned + words paths fused by rank, rerank).

Metrics: P@10, success@10 (any fitting item), constraint exact match and per-field accuracy of
the written intent (rules and LM), the hub skew of the returned lists (skewness of how often
each catalogue item appears in them, and the largest share of lists one item is in), and the
intent step and whole-turn latency.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

import numpy as np

from vlrec.agent.state import Turn
from vlrec.data.intent import FIELDS, Request


def fits(meta: dict, req: Request) -> bool:
    return all(meta.get(f) in v for f, v in req.want.items()) and all(
        meta.get(f) not in v for f, v in req.avoid.items()
    )


def field_right(pred_want: dict, pred_avoid: dict, req: Request, f: str) -> bool:
    """A field is read right when its wanted values are all acceptable (none when none asked) and its
    excluded values are all excluded by the shopper (none when none excluded)."""
    pw, gw = set(pred_want.get(f, ())), set(req.want.get(f, ()))
    pa, ga = set(pred_avoid.get(f, ())), set(req.avoid.get(f, ()))
    want_ok = (not pw and not gw) or (bool(pw) and pw <= gw)
    avoid_ok = (not pa and not ga) or (bool(pa) and pa <= ga)
    return want_ok and avoid_ok


def hub_skew(lists: list[list[str]], n_items: int) -> dict[str, float]:
    """Skewness of the k-occurrence N_k over all catalogue items, and the top item's share of lists."""
    counts = Counter(i for ids in lists for i in ids)
    n = np.zeros(max(n_items, len(counts)))
    n[: len(counts)] = sorted(counts.values(), reverse=True)
    sd = n.std()
    skew = float(((n - n.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0
    return {"hub_skew": skew, "top_item_share": (max(counts.values()) / len(lists)) if counts else 0.0}


def _scores(name: str, reqs: list[Request], lists: list[list[str]], items: dict, k: int,
            intents: list | None = None, seconds: list[float] | None = None,
            intent_seconds: list[float] | None = None) -> dict:  # fmt: skip
    p = [sum(fits(items.get(i, {}), r) for i in ids[:k]) / k for r, ids in zip(reqs, lists)]
    s = [any(fits(items.get(i, {}), r) for i in ids[:k]) for r, ids in zip(reqs, lists)]
    row = {"system": name, f"P@{k}": float(np.mean(p)), f"success@{k}": float(np.mean(s))}
    if intents is not None:
        per = {f: np.mean([field_right(w, a, r, f) for (w, a), r in zip(intents, reqs)]) for f in FIELDS}
        row["exact"] = float(
            np.mean([all(field_right(w, a, r, f) for f in FIELDS) for (w, a), r in zip(intents, reqs)])
        )
        row |= {f: float(v) for f, v in per.items()}
    row |= hub_skew(lists, len(items))
    if intent_seconds:
        row["intent_p50_ms"] = 1000 * float(np.median(intent_seconds))
    if seconds:
        row["turn_p50_ms"] = 1000 * float(np.median(seconds))
    return row


def eval_freeform(
    agent, rules_agent, reqs: list[Request], k: int = 10, log=print
) -> tuple[list[dict], list[dict]]:
    """Score the four systems on ``reqs``; returns (one row per system, one row per request)."""
    from tqdm import tqdm

    items = agent.items
    words = agent.words
    if words is None:
        raise ValueError("eval freeform needs the words index (agent.words=true)")
    out_rows = [{"id": r.id, "text": r.text, "want": r.want, "avoid": r.avoid} for r in reqs]
    rows = []

    # keyword rules (the intent=rules agent without the words paths)
    lists, intents, secs = [], [], []
    for r, o in zip(tqdm(reqs, desc="keyword rules", unit="request"), out_rows):
        sess = rules_agent.session()
        sess.k = k
        t = time.perf_counter()
        reply = sess.send(r.text)
        secs.append(time.perf_counter() - t)
        lists.append([x.id for x in reply.items])
        intents.append(({f: [v] for f, v in reply.constraints.items()}, {}))
        o["rules"] = lists[-1]
    rows.append(_scores("keyword rules", reqs, lists, items, k, intents, secs))

    # the aligned image-text space alone (what a text request met before the words paths)
    lists = []
    for r in tqdm(reqs, desc="aligned space", unit="request"):
        lists.append([h.id for h in agent.searcher.search(text=r.text, k=k)])
    rows.append(_scores("aligned-space search", reqs, lists, items, k))

    # plain MiniLM search
    lists = []
    for r, o in zip(tqdm(reqs, desc="plain MiniLM", unit="request"), out_rows):
        lists.append([h.id for h in words.dense(r.text, k)])
        o["minilm"] = lists[-1]
    rows.append(_scores("plain MiniLM search", reqs, lists, items, k))

    # LM intent as the filter of the plain search, and the full agent
    if agent.intent is not None:
        from vlrec.agent.retrieve import _where

        lists, intents, isecs = [], [], []
        for r, o in zip(tqdm(reqs, desc="LM intent", unit="request"), out_rows):
            sess = agent.session()
            sess.turns = [Turn(role, text) for role, text in r.turns]
            t = time.perf_counter()
            got = agent.lm_intent(sess)
            isecs.append(time.perf_counter() - t)
            want, avoid = got.constraints(), got.exclusions()
            intents.append((want, avoid))
            hard = {f: ({"$in": v} if len(v) > 1 else v[0]) for f, v in want.items()}
            hard |= {f"!{f}": {"$nin": v} for f, v in avoid.items()}
            hits = words.dense(r.text, k, _where(hard)) if hard else []
            lists.append([h.id for h in hits] or [h.id for h in words.dense(r.text, k)])
            o["lm_intent"] = {"want": want, "avoid": avoid}
            o["lm"] = lists[-1]
        rows.append(_scores("LM intent + MiniLM", reqs, lists, items, k, intents, None, isecs))
    lists, secs = [], []
    intents = []
    for r, o in zip(tqdm(reqs, desc="full agent", unit="request"), out_rows):
        sess = agent.session()
        sess.k = k
        t = time.perf_counter()
        for role, text in r.turns:
            if role == "user":
                reply = sess.send(text)
        secs.append(time.perf_counter() - t)
        lists.append([x.id for x in reply.items])
        want = {f: [v] for f, v in reply.constraints.items()} | {f: list(v) for f, v in reply.options.items()}
        intents.append((want, reply.avoid))
        o["agent"] = lists[-1]
    rows.append(_scores("full agent", reqs, lists, items, k, intents, secs, isecs if agent.intent else None))
    return rows, out_rows


def agent_readings(agent, reqs: list[Request]) -> list[tuple]:
    """Per request: the intent LM's reading (conversation as the agent renders it) and the vote of
    the request's nearest catalogue items on its article type (what the agent pools them with)."""
    from tqdm import tqdm

    k = agent.intent.decoding.vote_k
    out = []
    for r in tqdm(reqs, desc="intent readings", unit="request"):
        reading = agent.intent.readings([r.turns], allowed=agent.vocab.values)[0]
        vote = agent.kind_vote(" ".join(t for role, t in r.turns if role == "user"), k)
        out.append((reading, vote))
    return out


def _intent_scores(intents: list[tuple[dict, dict]], reqs: list[Request]) -> dict[str, float]:
    row = {
        "exact": float(
            np.mean([all(field_right(w, a, r, f) for f in FIELDS) for (w, a), r in zip(intents, reqs)])
        )
    }
    row |= {f: float(np.mean([field_right(w, a, r, f) for (w, a), r in zip(intents, reqs)])) for f in FIELDS}
    return row


def _decoded(model, readings, decoding) -> list[tuple[dict, dict]]:
    from vlrec.adapters.intent import with_vote

    saved = model.decoding
    model.decoding = decoding
    try:
        out = []
        for reading, vote in readings:
            it = model.decode(with_vote(reading, "articleType", vote, decoding.vote_weight))
            out.append((it.constraints(), it.exclusions()))
        return out
    finally:
        model.decoding = saved


def fit_decoding(model, readings, reqs: list[Request], log=print):
    """Choose the decoding on a dev split, field by field: the vote weight and value share for the
    article type, the exclusion threshold, and each field's gate (a field read below its gate
    ranks instead of filtering), each maximising the field's accuracy (ties: the first, i.e. the
    least change from no vote / no gate)."""
    import dataclasses

    d = dataclasses.replace(model.decoding, gate={}, vote_weight=0.0)

    def acc(dec, f):
        return _intent_scores(_decoded(model, readings, dec), reqs)[f]

    best = max(
        ((w, s) for w in (0.0, 0.25, 0.5, 1.0, 2.0) for s in (0.2, 0.35, 0.5, 0.75, 1.01)),
        key=lambda ws: acc(dataclasses.replace(d, vote_weight=ws[0], min_share=ws[1]), "articleType"),
    )
    d = dataclasses.replace(d, vote_weight=best[0], min_share=best[1])
    d.avoid_threshold = max(
        (0.5, 0.2, 0.3, 0.4, 0.6, 0.7),
        key=lambda t: acc(dataclasses.replace(d, avoid_threshold=t), "baseColour"),
    )
    gate = {}
    for f in FIELDS:
        gate[f] = max((0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01),
                      key=lambda g: acc(dataclasses.replace(d, gate={**gate, f: g}), f))  # fmt: skip
    d.gate = gate
    log(f"vlrec: fitted decoding on {len(reqs)} requests: {d}")
    return d


def eval_intent(agent, reqs: list[Request], fit: bool = False) -> tuple[list[dict], list[dict]]:
    """Keyword rules vs the intent LM on labelled requests: constraint exact match, per-field
    accuracy and the intent step's latency, for the LM's plain decoding and as the agent reads it
    (neighbours' vote on the kind, per-field gates, the negation guard). ``fit``: first fit the
    decoding on these requests (a dev split) and keep it on the model."""
    model, vocab = agent.intent, agent.vocab
    rules = []
    for r in reqs:
        found = {}
        for role, text in r.turns:
            if role == "user":
                found.update(vocab.match(text))
        rules.append(({f: [v] for f, v in found.items()}, {}))
    readings = agent_readings(agent, reqs)
    rows = [{"system": "keyword rules", **_intent_scores(rules, reqs)}]
    plain = dataclasses.replace(model.decoding, gate={}, vote_weight=0.0)
    rows.append(
        {
            "system": "intent LM alone (no vote, no gates)",
            **_intent_scores(_decoded(model, readings, plain), reqs),
        }
    )
    if fit:
        model.decoding = fit_decoding(model, readings, reqs)
    lm, secs = [], []
    for r in reqs:  # as the agent reads it: LM, neighbours' vote, gates, negation guard
        sess = agent.session()
        sess.turns = [Turn(role, text) for role, text in r.turns]
        t = time.perf_counter()
        got = agent.lm_intent(sess)
        secs.append(time.perf_counter() - t)
        lm.append((got.constraints(), got.exclusions()))
    rows.append({"system": "intent LM as the agent reads it", **_intent_scores(lm, reqs),
                 "intent_p50_ms": 1000 * float(np.median(secs))})  # fmt: skip
    per = [{"id": r.id, "text": r.text, "want": r.want, "avoid": r.avoid, "rules": ru[0], "lm_want": w, "lm_avoid": a}
           for r, ru, (w, a) in zip(reqs, rules, lm)]  # fmt: skip
    return rows, per


def format_rows(rows: list[dict], k: int = 10, cols: str = "freeform") -> str:
    cols = ["system", f"P@{k}", f"success@{k}", "exact", *FIELDS, "hub_skew", "top_item_share",
            "intent_p50_ms", "turn_p50_ms"] if cols == "freeform" else ["system", "exact", *FIELDS, "intent_p50_ms"]  # fmt: skip
    head = "| " + " | ".join(cols) + " |"
    lines = [head, "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            cells.append(
                ""
                if v is None
                else v
                if isinstance(v, str)
                else f"{v:.0f}"
                if c.endswith("_ms")
                else f"{v:.2f}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
