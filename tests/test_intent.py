"""The shopper-intent LM: generated training conversations, value heads, constrained decoding,
training with resume, and the agent's use of wants and exclusions."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import SAMPLE

ROWS = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").read_text().splitlines() if line.strip()]


def test_generated_conversations_are_labelled_with_real_catalogue_values():
    from vlrec.data.intent import FIELDS, Generator, render

    gen = Generator(ROWS)
    reqs = gen.samples(400, seed=3)
    combos = {tuple(r.get(f) for f in ("articleType", "gender")) for r in ROWS}
    for r in reqs:
        assert r.turns[0][0] == "user" and r.text
        for f, values in {**r.want, **r.avoid}.items():
            assert f in FIELDS and values and set(values) <= set(gen.values[f])
        assert not any(set(v) & set(r.want.get(f, [])) for f, v in r.avoid.items())  # never also wanted
        if "articleType" in r.want and len(r.want["articleType"]) == 1 and "gender" in r.want:
            assert (r.want["articleType"][0], r.want["gender"][0]) in combos  # items exist that fit
        lines, kept = render(r.turns).split("\n"), [who for who, t in r.turns[-8:] if t]  # the last 8
        assert lines[-1] == "The shopper wants:" and len(lines) == len(kept) + 1
        assert lines[0].startswith("Shopper: " if kept[0] == "user" else "Seller: ")
    assert 0.1 < sum(bool(r.avoid) for r in reqs) / len(reqs) < 0.5
    assert any(len(r.turns) > 1 for r in reqs) and any("use" in r.tags for r in reqs)


def test_labelled_requests_load_and_a_broken_line_is_named(tmp_path):
    from vlrec.data.intent import load_requests

    path = tmp_path / "r.jsonl"
    rows = [
        {"id": "a", "split": "dev", "text": "sunnies, not black", "want": {"articleType": ["Sunglasses"]},
         "avoid": {"baseColour": ["Black"]}},
        {"id": "b", "split": "test", "text": "a tee", "want": {"articleType": ["Tshirts"]}},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dev = load_requests(path, "dev")
    assert [r.id for r in dev] == ["a"] and dev[0].avoid == {"baseColour": ["Black"]}
    assert len(load_requests(path)) == 2
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(ValueError, match=r"r.jsonl:3"):
        load_requests(path)


def test_committed_freeform_requests_are_valid_and_satisfiable():
    """The free-form evaluation set: >= 300 dev requests, every value a catalogue value."""
    from vlrec.cli.common import FREEFORM
    from vlrec.data.intent import load_requests

    dev = load_requests(FREEFORM, "dev")
    assert len(dev) >= 300
    assert sum(bool(r.avoid) for r in dev) >= 50
    assert sum("no-catalogue-words" in r.tags for r in dev) >= len(dev) // 2
    assert len({r.id for r in load_requests(FREEFORM)}) == len(load_requests(FREEFORM))


def test_soft_targets_spread_over_acceptable_values():
    from vlrec.adapters.intent import targets
    from vlrec.data.intent import Request

    values = {"articleType": ["Backpacks", "Duffel Bag", "Wallets"], "baseColour": ["Black", "White"]}
    reqs = [
        Request(
            [("user", "a gym bag")], {"articleType": ["Duffel Bag", "Backpacks"]}, {"baseColour": ["White"]}
        ),
        Request([("user", "hello")]),
    ]
    t = targets(reqs, values)
    want, avoid = t["articleType"]
    assert torch.allclose(want[0], torch.tensor([0.5, 0.5, 0.0, 0.0]))
    assert torch.allclose(want[1], torch.tensor([0.0, 0.0, 0.0, 1.0]))  # none
    assert t["baseColour"][1][0].tolist() == [0.0, 1.0] and t["baseColour"][0][0, -1] == 1.0


def _tiny_intent(tiny_lm_dir, values):
    from vlrec.adapters.intent import IntentHeads, IntentModel
    from vlrec.models.lm import LMConfig, load_lm

    torch.manual_seed(0)
    lm = load_lm(LMConfig(path=str(tiny_lm_dir), quantization="none"), "cpu", "float32")
    return IntentModel(lm, IntentHeads(2 * 64, values), layer=2)


def test_decoding_only_chooses_values_the_catalogue_has(tiny_lm_dir):
    values = {"articleType": ["Tshirts", "Unicorns"], "baseColour": ["Black", "Ultraviolet"]}
    model = _tiny_intent(tiny_lm_dir, values)
    with torch.no_grad():
        model.heads.want["articleType"].bias.copy_(
            torch.tensor([0.0, 20.0, -20.0])
        )  # the invented kind is top
        model.heads.want["baseColour"].bias.copy_(torch.tensor([-20.0, -20.0, 20.0]))  # no colour wanted...
        model.heads.avoid["baseColour"].bias.copy_(torch.tensor([-20.0, 20.0]))  # ...one invented excluded
    conv = [("user", "show me something")]
    free = model.predict([conv])[0]
    assert list(free.want["articleType"]) == ["Unicorns"] and list(free.avoid["baseColour"]) == [
        "Ultraviolet"
    ]
    got = model.predict([conv], allowed={"articleType": {"Tshirts"}, "baseColour": {"Black"}})[0]
    assert list(got.want["articleType"]) == ["Tshirts"]
    assert "Ultraviolet" not in str(got) and "Unicorns" not in str(got)


def test_several_likely_values_become_options_and_none_wins_when_unasked(tiny_lm_dir):
    values = {"articleType": ["Backpacks", "Duffel Bag", "Wallets"]}
    model = _tiny_intent(tiny_lm_dir, values)
    with torch.no_grad():
        model.heads.want["articleType"].weight.zero_()
        model.heads.want["articleType"].bias.copy_(torch.tensor([3.0, 2.8, -5.0, 0.0]))
        model.heads.avoid["articleType"].bias.fill_(-10.0)
    got = model.predict([[("user", "a bag for my gym kit")]])[0]
    assert set(got.want["articleType"]) == {"Backpacks", "Duffel Bag"} and not got.avoid
    with torch.no_grad():
        model.heads.want["articleType"].bias.copy_(torch.tensor([0.0, 0.0, 0.0, 5.0]))
    assert model.predict([[("user", "hello")]])[0].want == {}


def test_train_intent_tiny_run_resumes_and_the_saved_model_predicts_the_same(tiny_lm_dir, tmp_path):
    from vlrec.adapters.intent import load_intent
    from vlrec.adapters.train.intent import train_intent
    from vlrec.config import load_config

    (tmp_path / "c.jsonl").write_text((SAMPLE / "catalog.jsonl").read_text())
    (tmp_path / "images").symlink_to(SAMPLE / "images")
    out = tmp_path / "run"
    cfg = load_config(None, [
        f"lm.path={tiny_lm_dir}", "lm.quantization=none", "intent.layer=1",
        f"intent.train.catalog={tmp_path / 'c.jsonl'}", "intent.train.examples=48", "intent.train.batch_size=8",
        "intent.train.dev_examples=16", "intent.train.eval_every=2", "intent.train.checkpoint_every=2",
        f"intent.train.out={out}",
    ])  # fmt: skip
    train_intent(cfg, log=lambda *a: None, stop_after=3)
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-2"]
    assert {p.name for p in (out / "checkpoints" / "step-2").iterdir()} == {
        "weights.safetensors",
        "optimizer.safetensors",
        "state.json",
    }
    logs: list[str] = []
    final = train_intent(cfg, log=logs.append)
    assert any("resuming" in m and "step 2" in m for m in logs)
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]  # the step-3 record of the killed run is not duplicated
    meta = json.loads((final / "intent.json").read_text())
    assert meta["layer"] == 1 and set(meta["values"]) == {"articleType", "baseColour", "gender", "usage"}
    model = load_intent(final, cfg.lm)
    assert len(model._backbone().layers) == 1
    conv = [[("user", "black casual shoes for men")], [("user", "a watch, not silver")]]
    a = model.predict(conv)
    b = load_intent(final, cfg.lm).predict(conv)
    assert [x.want for x in a] == [x.want for x in b]
    with pytest.raises(ValueError, match="trained on LM"):
        load_intent(final, type(cfg.lm)(path="some/other-lm"))


class FakeIntent:
    """Stands in for the intent LM: a fixed reading per request text (decoded like the real one)."""

    def __init__(self, table):
        from vlrec.adapters.intent import Decoding

        self.table = table
        self.seen = []
        self.decoding = Decoding()

    def readings(self, conversations, allowed=None):
        from vlrec.adapters.intent import Reading

        out = []
        for conv in conversations:
            self.seen.append(conv)
            want, avoid = self.table.get(conv[-1][1], ({}, {}))
            dist = {}
            for f, vs in want.items():
                ok = [v for v in vs if allowed is None or v in allowed[f]]
                dist[f] = {v: vs[v] for v in ok} if isinstance(vs, dict) else {v: 1.0 / len(ok) for v in ok}
            out.append(Reading(dist, {f: dict.fromkeys(vs, 0.9) for f, vs in avoid.items()},
                               {f: 0.0 for f in dist}))  # fmt: skip
        return out

    def decode(self, reading):
        from vlrec.adapters.intent import IntentModel

        return IntentModel.decode(self, reading)


def _lm_agent(shop, readings, k=5):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, _ = shop
    agent = Agent(AgentConfig(k=k, candidates=24), searcher, intent=FakeIntent(readings))
    return agent, rows


def test_agent_excludes_what_the_shopper_rules_out_even_when_the_words_name_it(shop):
    agent, rows = _lm_agent(shop, {"trainers in any colour but black": ({"articleType": ["Casual Shoes"]},
                                                                         {"baseColour": ["Black"]})})  # fmt: skip
    s = agent.session()
    reply = s.send("trainers in any colour but black")
    assert reply.items and reply.avoid == {"baseColour": ["Black"]}
    assert "baseColour" not in reply.constraints  # the rules' "black" did not come back in
    assert all(rows[i.id]["baseColour"] != "Black" and rows[i.id]["articleType"] == "Casual Shoes"
               for i in reply.items)  # fmt: skip


def test_agent_takes_any_of_several_fitting_kinds_and_keeps_values_the_catalogue_has(shop):
    agent, rows = _lm_agent(shop, {"something to carry or wear": ({"articleType": ["Handbags", "Tshirts", "Kites"],
                                                                   "gender": ["Women"]}, {})})  # fmt: skip
    s = agent.session()
    reply = s.send("something to carry or wear")
    assert set(reply.options["articleType"]) == {"Handbags", "Tshirts"}  # no invented kind
    kinds = {rows[i.id]["articleType"] for i in reply.items}
    assert kinds <= {"Handbags", "Tshirts"} and all(rows[i.id]["gender"] == "Women" for i in reply.items)
    assert agent.intent.seen[-1] == [("user", "something to carry or wear")]


def test_a_later_turn_lifts_an_exclusion_and_seller_turns_reach_the_lm_short(shop):
    agent, rows = _lm_agent(shop, {"a tshirt, not white": ({"articleType": ["Tshirts"]}, {"baseColour": ["White"]}),
                                   "ok white is fine actually": ({"articleType": ["Tshirts"], "baseColour": ["White"]}, {})})  # fmt: skip
    s = agent.session()
    first = s.send("a tshirt, not white")
    assert all(rows[i.id]["baseColour"] != "White" for i in first.items)
    second = s.send("ok white is fine actually")
    assert second.avoid == {} and all(rows[i.id]["baseColour"] == "White" for i in second.items)
    seller = agent.intent.seen[-1][1]
    assert seller[0] == "assistant" and seller[1].startswith("Here are") and len(seller[1]) < 40


def test_neighbours_vote_and_gates_shape_the_decoded_intent(tiny_lm_dir):
    from vlrec.adapters.intent import Decoding, Reading, with_vote

    model = _tiny_intent(tiny_lm_dir, {"articleType": ["Gloves", "Mufflers", "Socks"]})
    reading = Reading(want={"articleType": {"Socks": 0.5, "Gloves": 0.4, "Mufflers": 0.05}},
                      avoid={"articleType": {"Socks": 0.1}}, none={"articleType": 0.05})  # fmt: skip
    model.decoding = Decoding(min_share=0.9)
    assert model.decode(reading).want == {"articleType": {"Socks": 0.5}}
    voted = with_vote(reading, "articleType", {"Gloves": 9, "Mufflers": 1}, weight=1.0)
    assert abs(sum(voted.want["articleType"].values()) - 0.95) < 1e-6  # none keeps its 0.05
    assert list(model.decode(voted).want["articleType"]) == ["Gloves"]
    assert with_vote(reading, "articleType", {"Gloves": 9}, weight=0.0) is reading
    model.decoding = Decoding(min_share=0.9, gate={"articleType": 0.6})
    unsure = model.decode(reading)
    assert unsure.want == {} and unsure.unsure == {"articleType": {"Socks": 0.5}}


def test_agent_ranks_by_an_unsure_reading_without_filtering(shop):
    from vlrec.adapters.intent import Intent
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, _ = shop

    agent = Agent(AgentConfig(k=6, candidates=48, typicality=0.0), searcher, intent=FakeIntent({}))
    agent.lm_intent = lambda session: Intent(unsure={"articleType": {"Handbags": 0.45}})
    reply = agent.session().send("something nice")
    kinds = [rows[i.id]["articleType"] for i in reply.items]
    assert "articleType" not in reply.constraints and not reply.options  # nothing filtered...
    assert set(kinds) != {"Handbags"}
    agent.lm_intent = lambda session: Intent()
    before = [rows[i.id]["articleType"] for i in agent.session().send("something nice").items]
    assert kinds.count("Handbags") > before.count("Handbags") and kinds[0] == "Handbags"  # ...it ranks


def test_a_named_sport_fills_the_usage_the_intent_lm_left_open(shop):
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, _ = shop
    text = "a breathable tee for football practice"
    reading = {text: ({"articleType": ["Tshirts"]}, {})}
    agents = [Agent(AgentConfig(k=4, candidates=24, sport_usage=mode), searcher, intent=FakeIntent(reading))
              for mode in ("want", "off")]  # fmt: skip
    on, off = agents[0].session().send(text), agents[1].session().send(text)
    assert "usage" not in on.constraints  # this catalogue sells nothing for Sports: no such wish
    for agent in agents:  # now it does
        agent.vocab.values["usage"].add("Sports")
    on, off = agents[0].session().send(text), agents[1].session().send(text)
    assert on.constraints.get("usage") == "Sports" and "usage" not in off.constraints
    assert on.items and all(rows[i.id]["articleType"] == "Tshirts" for i in on.items)  # kind never relaxed
    lean = Agent(AgentConfig(k=4, candidates=24, sport_usage="lean"), searcher, intent=FakeIntent(reading))
    lean.vocab.values["usage"].add("Sports")
    session = lean.session()
    reply = session.send(text)
    assert "usage" not in reply.constraints and session.leanings["usage"] == {"Sports": 1.0}  # ranks only


def test_an_everyday_name_of_a_kind_outvotes_the_lm_when_weighted(shop):
    """agent.lexicon_weight: "a tote bag" (the intent LM's own lexicon: Handbags) wins over an LM
    reading of Casual Shoes; at weight 0 the LM's reading stands."""
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, _ = shop
    text = "a tote bag for the weekend"
    reading = {text: ({"articleType": ["Casual Shoes"]}, {})}
    on = Agent(AgentConfig(k=4, candidates=24, lexicon_weight=3.0), searcher, intent=FakeIntent(reading))
    off = Agent(AgentConfig(k=4, candidates=24, lexicon_weight=0.0), searcher, intent=FakeIntent(reading))
    a, b = on.session().send(text), off.session().send(text)
    assert (
        a.constraints.get("articleType") == "Handbags" and b.constraints.get("articleType") == "Casual Shoes"
    )
    assert a.items and all(rows[i.id]["articleType"] == "Handbags" for i in a.items)


def test_other_likely_kinds_take_the_last_places_of_a_reply(shop):
    """agent.hedge_kinds: where the intent LM reads one kind but finds others likely too (each at
    least agent.hedge_share), the best item of each, under the shopper's other wishes, takes one of
    the reply's last places (at most agent.hedge_places of it) and the reply says so; a kind the
    shopper ruled out never gets a place, and 0 turns it off."""
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent, Session

    searcher, rows, _ = shop
    text = "something for my feet, women"
    dist = {"articleType": {"Casual Shoes": 0.74, "Handbags": 0.15, "Tshirts": 0.11}, "gender": ["Women"]}
    table = {text: (dist, {}), "the same, no bags": (dist, {"articleType": ["Handbags"]})}

    def agent(k, **kw):  # fill-ups widen to men's shoes (the shop's nearest kinds are not shoes)
        cfg = AgentConfig(k=k, candidates=24, kinds_before_audience=False, **kw)
        return Agent(cfg, searcher, intent=FakeIntent(table))

    session = agent(10).session()
    reply = session.send(text)
    got = [(rows[i.id]["articleType"], rows[i.id]["gender"]) for i in reply.items]
    assert reply.constraints["articleType"] == "Casual Shoes" and session.hedges == {
        "Handbags": 0.15,
        "Tshirts": 0.11,
    }
    assert got == [("Casual Shoes", "Women")] * 8 + [("Handbags", "Women"), ("Tshirts", "Women")]
    assert "In case you meant handbags or tshirts, the last 2 are of those kinds." in reply.text
    again = Session.from_state(session.agent, session.state())
    assert again.hedges == session.hedges
    five = [rows[i.id]["articleType"] for i in agent(5).session().send(text).items]  # one place in five
    assert five == ["Casual Shoes"] * 4 + ["Handbags"]
    ruled = agent(10).session().send("the same, no bags")
    assert [rows[i.id]["articleType"] for i in ruled.items] == ["Casual Shoes"] * 9 + ["Tshirts"]
    off = agent(10, hedge_kinds=0).session().send(text)
    assert [rows[i.id]["articleType"] for i in off.items] == ["Casual Shoes"] * 10  # filled up with men's
    assert "In case you meant" not in off.text


def test_an_excluded_colour_takes_its_shades_and_a_negated_list_is_read_whole(shop):
    """The LM's own exclusion of white also excludes off white (a value the catalogue names after
    it); a colour ruled out in words is removed from what the LM wanted."""
    text = "tshirts, anything but white"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Tshirts"]}, {"baseColour": ["White"]}),
                                   "a tshirt, not white, black or grey": ({"articleType": ["Tshirts"],
                                                                           "baseColour": ["Black"]}, {})})  # fmt: skip
    agent.vocab.values["baseColour"] |= {"Off White", "Grey"}
    reply = agent.session().send(text)
    assert set(reply.avoid["baseColour"]) == {"White", "Off White"}
    assert reply.items and all(rows[i.id]["baseColour"] == "Black" for i in reply.items)
    listed = agent.session().send("a tshirt, not white, black or grey")
    assert set(listed.avoid["baseColour"]) == {"White", "Off White", "Black", "Grey"}
    assert "baseColour" not in listed.constraints


def test_a_dark_tee_ranks_dark_colours_first_without_filtering(shop):
    """A word for a range of colours where the LM left the colour open: those colours rank first
    (a leaning), nothing is filtered out."""
    text = "a dark tshirt for a party"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Tshirts"]}, {})}, k=12)
    session = agent.session()
    reply = session.send(text)
    colours = [rows[i.id]["baseColour"] for i in reply.items]
    assert "baseColour" not in reply.constraints and session.leanings["baseColour"] == {"Black": 1.0}
    assert colours[:8] == ["Black"] * 8 and "White" in colours  # ranked, not filtered


def test_a_range_of_colours_outweighs_an_lm_colour_outside_it(shop):
    """ "Bright" with the LM's reading Black (a colour the words never name, outside the range): the
    words win, the range ranks and Black no longer filters; "dark" with Black keeps Black."""
    bright, dark = "a bright tshirt so cars see me", "a dark tshirt for a party"
    agent, rows = _lm_agent(shop, {t: ({"articleType": ["Tshirts"], "baseColour": ["Black"]}, {})
                                   for t in (bright, dark)}, k=8)  # fmt: skip
    agent.vocab.values["baseColour"] |= {"Red"}
    session = agent.session()
    reply = session.send(bright)
    assert "baseColour" not in reply.constraints and session.leanings["baseColour"] == {"Red": 1.0}
    assert {rows[i.id]["baseColour"] for i in reply.items} == {"Black", "White"}
    assert agent.session().send(dark).constraints["baseColour"] == "Black"


def test_a_kids_request_with_no_side_is_for_boys_and_girls(shop):
    text = "a watch for the kids"
    agent, _ = _lm_agent(shop, {text: ({"articleType": ["Watches"], "gender": ["Girls"]}, {})})
    agent.vocab.values["gender"] |= {"Boys", "Girls"}
    session = agent.session()
    session.send(text)
    assert set(session.options["gender"]) == {"Boys", "Girls"}  # the LM read Girls


def test_a_kind_read_outside_the_category_named_gives_way_to_one_inside_it(shop):
    """ "comfy footwear" read as tshirts: the LM's likeliest kind that is footwear is wanted."""
    text = "comfy footwear for a long day"
    agent, rows = _lm_agent(shop, {text: ({"articleType": {"Tshirts": 0.7, "Casual Shoes": 0.3}}, {})})
    reply = agent.session().send(text)
    assert reply.constraints.get("articleType") == "Casual Shoes"
    assert reply.items and all(rows[i.id]["articleType"] == "Casual Shoes" for i in reply.items)
    off, _ = _lm_agent(shop, {text: ({"articleType": {"Tshirts": 0.7, "Casual Shoes": 0.3}}, {})})
    off.cfg.category_words = False
    assert off.session().send(text).options["articleType"] == ["Tshirts", "Casual Shoes"]  # both, as read


def test_a_kind_the_words_want_is_not_ruled_out_by_a_negation_of_one_of_its_colours(shop):
    """ "a tshirt for work, no white tshirts please": white is ruled out, not tshirts (nor by the LM)."""
    text = "a tshirt for work, no white tshirts please"
    agent, rows = _lm_agent(
        shop, {text: ({"gender": ["Men"]}, {"articleType": ["Tshirts"], "baseColour": ["White"]})}
    )
    reply = agent.session().send(text)
    assert "articleType" not in reply.avoid and reply.avoid["baseColour"] == ["White"]
    assert reply.items and all(rows[i.id]["baseColour"] != "White" for i in reply.items)
    assert any(rows[i.id]["articleType"] == "Tshirts" for i in reply.items)


def test_a_short_reply_is_filled_with_the_nearest_kinds_of_the_same_category(shop):
    """Where the kind asked for and its nearest kinds have run out, the kinds nearest it in its
    master category fill the reply, under the other wishes; never one of another category."""
    text = "black casual shoes for men"
    read = {text: ({"articleType": ["Casual Shoes"], "gender": ["Men"], "baseColour": ["Black"]}, {})}
    agent, rows = _lm_agent(shop, read, k=20)  # the shop has 16 casual shoes
    agent.cfg.near_kinds, agent.cfg.hedge_kinds = 1.0, 0  # no nearest kinds, no other kinds read
    agent.items = {i: dict(m) for i, m in agent.items.items()}
    kinds = [rows[i.id]["articleType"] for i in agent.session().send(text).items]
    assert kinds == ["Casual Shoes"] * 16  # nothing else is footwear
    for m in agent.items.values():  # now tshirts share the category: they fill the reply up
        m["masterCategory"] = "Footwear" if m["articleType"] == "Tshirts" else m["masterCategory"]
    agent._kind_places = None
    reply = agent.session().send(text)
    assert [rows[i.id]["articleType"] for i in reply.items] == ["Casual Shoes"] * 16 + ["Tshirts"] * 4
    assert all(
        rows[i.id]["gender"] == "Men" and rows[i.id]["baseColour"] == "Black" for i in reply.items[16:]
    )
