"""The agent's reading of a request beside the intent LM's: the words' colour, the category a
request names, and kinds the catalogue does not carry (the intent LM stands in as a fixed reading)."""

from __future__ import annotations


def test_a_colour_the_words_name_wins_over_another_the_lm_read(shop):
    """ "A white tshirt" read by the intent LM as black: the catalogue colour the words name is
    wanted; where the LM excludes it ("I refuse to wear white") the exclusion stands."""
    from tests.test_intent import _lm_agent

    said, ruled = "a white tshirt please", "a tshirt, I refuse to wear white"
    agent, rows = _lm_agent(shop, {said: ({"articleType": ["Tshirts"], "baseColour": ["Black"]}, {}),
                                   ruled: ({"articleType": ["Tshirts"]}, {"baseColour": ["White"]})}, k=4)  # fmt: skip
    reply = agent.session().send(said)
    assert reply.constraints["baseColour"] == "White"
    assert reply.items and all(rows[i.id]["baseColour"] == "White" for i in reply.items)
    other = agent.session().send(ruled)
    assert other.avoid["baseColour"] == ["White"] and "baseColour" not in other.constraints
    agent.cfg.said_colour = False
    assert agent.session().send(said).constraints["baseColour"] == "Black"


def test_the_lms_exclusions_of_colour_answer_to_the_words(shop):
    """``agent.said_avoid``: where the words rule colours out ("a tshirt that isn't black") the LM's
    exclusions of colours no turn names go (it read black and white); a colour the words name
    outside a negation stays excluded where the LM excluded it (it reads refusals the rules miss:
    "any colour apart from white" before that phrase was a rule, "so something else"). Off, the
    LM's exclusions stand."""
    from tests.test_intent import _lm_agent

    listed, missed = "a tshirt that isn't black", "a tshirt, she always wears white, so something else"
    agent, rows = _lm_agent(shop, {listed: ({"articleType": ["Tshirts"]}, {"baseColour": ["Black", "White"]}),
                                   missed: ({"articleType": ["Tshirts"]}, {"baseColour": ["White"]})},
                            k=4)  # fmt: skip
    reply = agent.session().send(listed)
    assert reply.avoid == {"baseColour": ["Black"]}
    assert reply.items and all(rows[i.id]["baseColour"] == "White" for i in reply.items)
    reply = agent.session().send(missed)
    assert reply.avoid == {"baseColour": ["White"]} and all(
        rows[i.id]["baseColour"] == "Black" for i in reply.items
    )
    agent.cfg.said_avoid = False
    assert sorted(agent.session().send(listed).avoid["baseColour"]) == ["Black", "White"]


def test_a_category_named_where_no_kind_is_read_filters(shop):
    """ "Comfortable footwear for men", no kind read: the category filters (every item is a shoe)
    and heads the reply; with ``agent.category_filter`` off it only ranks."""
    from tests.test_intent import _lm_agent

    text = "comfortable footwear for men"
    agent, rows = _lm_agent(shop, {text: ({"gender": ["Men"]}, {})}, k=4)
    reply = agent.session().send(text)
    assert reply.constraints == {"gender": "Men", "masterCategory": "Footwear"}
    assert reply.items and all(rows[i.id]["articleType"] == "Casual Shoes" for i in reply.items)
    assert reply.text.startswith("Here are 4 from the catalogue for footwear for men:")
    later = agent.session()
    later.send(text)
    agent.intent.table["tshirts then"] = ({"articleType": ["Tshirts"], "gender": ["Men"]}, {})
    then = later.send("tshirts then")  # a kind named later replaces the category
    assert then.constraints == {"gender": "Men", "articleType": "Tshirts"}
    assert then.items and all(rows[i.id]["articleType"] == "Tshirts" for i in then.items)
    agent.cfg.category_filter = False
    assert "masterCategory" not in agent.session().send(text).constraints


def test_a_kind_the_catalogue_does_not_carry_is_said_not_swapped(shop):
    """ "A swimsuit for women", read by the intent LM as tshirts: the reply says the catalogue has
    no swimwear and reads no kind; a kind the catalogue has, named beside it, is read as usual."""
    from tests.test_intent import _lm_agent
    from vlrec.agent.kinds import uncarried_kind

    kinds = {"Tshirts", "Handbags", "Casual Shoes"}
    assert uncarried_kind("gold earrings for a wedding", kinds) == ("earrings", ("subCategory", "Jewellery"))
    assert uncarried_kind("gold earrings", {*kinds, "Earrings"}) is None  # this catalogue has them
    assert uncarried_kind("a handbag for my lipstick and phone", kinds) is None  # what it holds
    assert uncarried_kind("something to carry my phone and lipstick", kinds) is None
    assert uncarried_kind("a small thing to carry on a night out, just phone, keys, lipstick", kinds) is None
    assert uncarried_kind("a lipstick that can hold all day", kinds) == (
        "lipstick",
        None,
    )  # not what it holds
    assert uncarried_kind("a purse for my sister, holds phone, cards, a lipstick", kinds) is None
    assert uncarried_kind("a carry-on for a work trip that isn't a suitcase", kinds) is None  # negated
    assert uncarried_kind("no earrings, thanks", kinds) is None
    text = "a swimsuit for women"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Tshirts"], "gender": ["Women"]}, {})}, k=4)
    reply = agent.session().send(text)
    assert reply.text.startswith("This catalogue has no swimwear;") and "articleType" not in reply.constraints
    assert reply.items and all(rows[i.id]["gender"] == "Women" for i in reply.items)
    agent.cfg.uncarried = False
    assert agent.session().send(text).constraints["articleType"] == "Tshirts"


def test_a_kind_named_only_as_what_the_item_goes_with_does_not_fill_an_open_kind(shop):
    """ "Something to match a white tshirt", no kind read by the LM: the catalogue word "tshirt"
    names what the item goes with, so it does not become the kind wanted."""
    from tests.test_intent import _lm_agent

    text = "something for her to match a white tshirt"
    agent, _ = _lm_agent(shop, {text: ({"gender": ["Women"]}, {})}, k=4)
    reply = agent.session().send(text)
    assert reply.constraints.get("gender") == "Women" and "articleType" not in reply.constraints


def test_a_filled_up_reply_names_only_the_wishes_its_later_items_miss():
    from vlrec.agent.replies import Recommendation, render_reply

    def item(i, colour):
        return Recommendation(str(i), f"item {i}", "", 1.0, {"gender": "Women", "baseColour": colour})

    items = [item(1, "Red"), item(2, "Blue"), item(3, "Blue")]
    wishes = {"gender": "Women", "baseColour": "Red"}
    text = render_reply(items, wishes, [], "red for women", backfill=(1, ["gender", "baseColour"]))
    assert (
        "(Only the first matches every wish; the others are the nearest without the baseColour wish.)" in text
    )


def test_a_kind_the_catalogue_has_not_for_that_audience_gives_way_to_the_next(shop):
    """Handbags read for men in a catalogue with no men's (nor unisex) handbags: the intent LM's
    next likeliest kind that men have is wanted, and the reply says why; off, the kind stands."""
    from tests.test_intent import _lm_agent

    text = "something smart to carry, I'm a guy"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": {"Handbags": 0.9, "Tshirts": 0.1}, "gender": ["Men"]}, {})}, k=4
    )
    agent._pairs -= {("Handbags", "Men"), ("Handbags", "Unisex")}
    reply = agent.session().send(text)
    assert reply.constraints == {"articleType": "Tshirts", "gender": "Men"}
    assert reply.text.startswith("This catalogue has no handbags for men.")
    assert reply.items and all(rows[i.id]["articleType"] == "Tshirts" for i in reply.items)
    agent._pairs |= {("Handbags", "Unisex")}  # the nearest audience has some: the kind stands
    assert agent.session().send(text).constraints["articleType"] == "Handbags"
    agent._pairs -= {("Handbags", "Unisex")}
    agent.cfg.audience_kinds = False
    assert agent.session().send(text).constraints["articleType"] == "Handbags"
    agent.cfg.audience_kinds = True
    only = "a handbag for me, a man"  # no other kind likely: the nearest kind men have
    agent.intent.table[only] = ({"articleType": {"Handbags": 1.0}, "gender": ["Men"]}, {})
    agent.near_kinds = lambda kind, floor=None, n=2: ["Casual Shoes"] if kind == "Handbags" else []
    assert agent.session().send(only).constraints == {"articleType": "Casual Shoes", "gender": "Men"}
    # none near at the usual floor: the nearest kind of its category he has, however far
    agent.near_kinds = lambda kind, floor=None, n=2: ["Casual Shoes"] if floor is not None else []
    agent._kind_places = {"Handbags": ("Accessories", "Bags"), "Casual Shoes": ("Accessories", "Bags"),
                          "Tshirts": ("Apparel", "Topwear")}  # fmt: skip
    assert agent.session().send(only).constraints == {"articleType": "Casual Shoes", "gender": "Men"}
    # nor that: the LM's next kind he has, however unlikely ("a party outfit, man" read as dresses)
    agent.near_kinds = lambda kind, floor=None, n=2: []
    unlikely = "an outfit for a party, man"
    agent.intent.table[unlikely] = (
        {"articleType": {"Handbags": 0.98, "Tshirts": 0.02}, "gender": ["Men"]},
        {},
    )
    assert agent.session().send(unlikely).constraints == {"articleType": "Tshirts", "gender": "Men"}
    boss = "a gift for my boss"  # no one's sex said: the LM's audience alone brings no stand-in kind
    agent.intent.table[boss] = ({"articleType": {"Handbags": 0.98, "Tshirts": 0.02}, "gender": ["Men"]}, {})
    assert agent.session().send(boss).constraints["articleType"] == "Handbags"


def test_an_audience_only_the_lm_read_gives_way_to_a_kind_the_shopper_named(shop):
    """A named kind the catalogue has not for the audience the LM read, where the words name no
    one's sex ("a handbag for the sangeet" read as men's): the kind stands, the audience goes."""
    from tests.test_intent import _lm_agent

    text = "a handbag for the sangeet"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": {"Handbags": 0.9, "Tshirts": 0.1}, "gender": ["Men"]}, {})}
    )
    agent._pairs -= {("Handbags", "Men"), ("Handbags", "Unisex")}
    reply = agent.session().send(text)
    assert reply.constraints == {"articleType": "Handbags"}
    assert reply.items and all(rows[i.id]["articleType"] == "Handbags" for i in reply.items)
    said = "a handbag for my husband"  # a sex named: the kind gives way as before
    agent.intent.table[said] = ({"articleType": {"Handbags": 0.9, "Tshirts": 0.1}, "gender": ["Men"]}, {})
    assert agent.session().send(said).constraints == {"articleType": "Tshirts", "gender": "Men"}


def test_a_colour_that_runs_out_goes_on_with_its_nearest_shades(shop, monkeypatch):
    """Four white men's tshirts for a reply of eight: the nearest shade (here, by a patched table,
    black) fills the reply with men's tshirts before the colour is dropped; the table only names
    colours the catalogue has, and a colour is widened once."""
    from tests.test_intent import _lm_agent
    from vlrec.data import lexicon

    monkeypatch.setitem(lexicon.NEAR_COLOURS, "White", ["Off White", "Black"])
    text = "white tshirts for men"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": ["Tshirts"], "gender": ["Men"], "baseColour": ["White"]}, {})}, k=8
    )
    reply = agent.session().send(text)
    got = [rows[i.id] for i in reply.items]
    assert len(got) == 8 and all(r["articleType"] == "Tshirts" and r["gender"] == "Men" for r in got)
    assert [r["baseColour"] for r in got[:4]] == ["White"] * 4 and {r["baseColour"] for r in got[4:]} == {
        "Black"
    }
    hard = {"baseColour": "White"}
    assert agent._near_colours(hard) and hard == {"baseColour": {"$in": ["White", "Black"]}}
    assert not agent._near_colours(hard)  # nothing nearer the catalogue has
    agent.cfg.near_colours = False
    assert not agent._near_colours({"baseColour": "White"})


def test_a_listed_colour_the_lm_excluded_is_wanted(shop):
    """ "No handbags, black or white" read by the intent LM as excluding both colours: the list
    after the ruled-out kind is what the shopper wants (the handbags stay excluded)."""
    from tests.test_intent import _lm_agent

    text = "a tshirt, no handbags at all, black or white"
    reading = ({"articleType": ["Tshirts"]}, {"articleType": ["Handbags"], "baseColour": ["Black", "White"]})
    agent, rows = _lm_agent(shop, {text: reading}, k=4)
    reply = agent.session().send(text)
    assert reply.avoid == {"articleType": ["Handbags"]}
    assert reply.items and all(rows[i.id]["articleType"] == "Tshirts" for i in reply.items)


def test_unisex_items_come_before_any_other_wish_is_relaxed(shop):
    """With nothing for the audience asked, the gender wish first widens to unisex items (a unisex
    item suits anyone), before the colour is relaxed; a child's adult audience waits for its turn."""
    from tests.test_agent import _agent

    agent = _agent(shop)
    hard = {"gender": "Women", "baseColour": "Black"}
    assert agent._unisex(hard) and hard == {"gender": {"$in": ["Women", "Unisex"]}, "baseColour": "Black"}
    assert not agent._unisex(hard)  # already as wide as unisex goes
    hard = {"gender": "Girls"}
    assert agent._unisex(hard) and hard == {"gender": {"$in": ["Girls", "Unisex"]}}
    assert not agent._unisex({"baseColour": "Black"})
    agent.cfg.unisex_first = False
    assert not agent._unisex({"gender": "Men"})


def test_a_kind_its_audience_has_only_under_another_name_is_wanted_beside_it(shop):
    """Women's sandals in a catalogue that files them as flats (titled "... Women ... Sandals"):
    the kinds whose items for that audience carry the name are wanted beside the kind read;
    where the audience has the kind of its own, or the switch is off, the kind stands alone."""
    from tests.test_intent import _lm_agent
    from vlrec.agent.kinds import titled_kinds

    items = {str(i): {"articleType": "Flats", "gender": "Women", "title": f"Rocia {i} Women Brown Sandals"}
             for i in range(10)}  # fmt: skip
    items["x"] = {"articleType": "Sandals", "gender": "Men", "title": "Fila Men Sandals"}
    assert titled_kinds("Sandals", {"Women"}, items) == ["Flats"]
    assert titled_kinds("Sandals", {"Women"}, items, least=11) == []
    assert titled_kinds("Sandals", {"Men"}, items) == []
    text = "a handbag for a guy"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Handbags"], "gender": ["Men"]}, {})}, k=4)
    agent._pairs = (agent._pairs - {("Handbags", "Men")}) | {("Handbags", "Unisex")}
    agent._titled[("Handbags", frozenset({"Men"}))] = ["Tshirts"]
    reply = agent.session().send(text)
    assert reply.items and {rows[i.id]["articleType"] for i in reply.items} <= {"Handbags", "Tshirts"}
    assert "Tshirts" in {rows[i.id]["articleType"] for i in reply.items}
    agent.cfg.titled_kinds = False
    off = agent.session().send(text)
    assert off.constraints["articleType"] == "Handbags"


def test_a_colour_that_runs_out_goes_on_with_the_lms_other_likely_kinds_of_the_same_category(
    shop, monkeypatch
):
    """ "A warm wrap for my neck, grey or white": where the kind read has too few in those colours
    and no nearest kind, the LM's other likely kinds of the same master category (mufflers, not
    vests) come before the colour is dropped; never a kind the item goes with or one ruled out."""
    from tests.test_intent import _lm_agent

    agent, _ = _lm_agent(shop, {})
    places = {"Stoles": ("Accessories", "Scarves"), "Mufflers": ("Accessories", "Scarves"),
              "Innerwear Vests": ("Apparel", "Innerwear"), "Caps": ("Accessories", "Headwear")}  # fmt: skip
    monkeypatch.setattr(agent, "kind_places", lambda: places)
    monkeypatch.setattr(agent, "near_kinds", lambda kind, floor=None, n=2: [])
    session = agent.session()
    session.fills = ["Stoles", "Innerwear Vests", "Mufflers", "Caps"]
    assert agent._fills(session, "Stoles") == ["Mufflers", "Caps"]
    assert agent._colour_kinds({"articleType": "Stoles", "baseColour": "Grey"}, session) == []  # the photo's
    session.constraints = {"baseColour": "Grey"}  # a colour the shopper said
    assert agent._colour_kinds({"articleType": "Stoles", "baseColour": "Grey"}, session) == [
        "Mufflers",
        "Caps",
    ]
    session.goes_with = ["Caps"]
    assert agent._colour_kinds({"articleType": "Stoles"}, session) == ["Mufflers"]
    assert agent._colour_kinds({"articleType": {"$in": ["Stoles", "Caps"]}}, session) == []  # not one kind
    agent.cfg.kinds_before_colour = False
    assert agent._colour_kinds({"articleType": "Stoles"}, session) == []


def test_a_kind_with_none_in_the_colour_gives_way_to_the_lms_next_kind_in_that_colour(shop, monkeypatch):
    """No white handbags for men, and fewer handbags than a reply holds: the LM's next likely kind
    of the same category in white comes before handbags of another colour (here tshirts, the master
    categories patched to agree)."""
    from tests.test_intent import _lm_agent

    text = "something white for him"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": ["Handbags"], "gender": ["Men"], "baseColour": ["White"]}, {})}, k=20
    )
    monkeypatch.setattr(agent, "near_kinds", lambda kind, floor=None, n=2: [])
    monkeypatch.setattr(agent, "kind_places", lambda: {"Handbags": ("Things", ""), "Tshirts": ("Things", "")})
    white_mens_bags = {i for i, r in rows.items() if r["articleType"] == "Handbags" and r["gender"] == "Men"
                       and r["baseColour"] == "White"}  # fmt: skip
    session = agent.session()
    session.rejected = sorted(white_mens_bags)  # none left in white
    session.fills = ["Tshirts"]
    monkeypatch.setattr(agent, "lm_intent", _keep_fills(agent.lm_intent, ["Tshirts"]))
    reply = session.send(text)
    got = [rows[i.id] for i in reply.items][:4]
    assert all(
        r["baseColour"] == "White" and r["gender"] == "Men" and r["articleType"] == "Tshirts" for r in got
    )
    assert len(got) == 4
    agent.cfg.k = 4  # as many handbags as a reply holds: handbags of another colour come first
    session = agent.session()
    session.rejected = sorted(white_mens_bags)
    session.k = 4
    got = [rows[i.id] for i in session.send(text).items]
    assert got and all(r["articleType"] == "Handbags" and r["baseColour"] == "Black" for r in got)


def _keep_fills(lm_intent, fills):
    def read(session):
        out = lm_intent(session)
        session.fills = fills
        return out

    return read


def test_a_colour_that_runs_out_in_the_kind_goes_on_with_the_lms_next_kind_in_that_colour(shop, monkeypatch):
    """Four white women's handbags for a reply of twenty (more than the 16 handbags), no nearest
    kind: the LM's next likely kind of the same master category (tshirts, the categories patched
    to agree) fills the reply in white before handbags of another colour."""
    from tests.test_intent import _lm_agent

    text = "a white bag for her"
    agent, rows = _lm_agent(
        shop, {text: ({"articleType": ["Handbags"], "gender": ["Women"], "baseColour": ["White"]}, {})}, k=20
    )
    monkeypatch.setattr(agent, "near_kinds", lambda kind, floor=None, n=2: [])
    monkeypatch.setattr(agent, "kind_places", lambda: {"Handbags": ("Things", ""), "Tshirts": ("Things", "")})
    monkeypatch.setattr(agent, "lm_intent", _keep_fills(agent.lm_intent, ["Tshirts"]))
    got = [rows[i.id] for i in agent.session().send(text).items][:8]
    assert len(got) == 8 and all(r["baseColour"] == "White" and r["gender"] == "Women" for r in got)
    assert [r["articleType"] for r in got] == ["Handbags"] * 4 + ["Tshirts"] * 4


def test_a_colour_that_runs_out_in_a_plentiful_kind_goes_on_with_a_kind_of_its_subcategory_in_that_colour(
    shop, monkeypatch
):
    """Eight white handbags for a reply of ten (16 handbags: not scarce), no nearest kind above the
    floor and no other kind read: the kind of the same subcategory nearest it that has the colour
    (tshirts, the categories patched to agree) fills the reply in white before handbags of another
    colour ("a purple clutch", one in the catalogue: purple handbags next); not where no kind of its
    subcategory has the colour, nor for a colour the words do not name (read off a range)."""
    from tests.test_intent import _lm_agent

    text, ranged = "a white bag", "a bag in light colours"
    agent, rows = _lm_agent(
        shop,
        {text: ({"articleType": ["Handbags"], "baseColour": ["White"]}, {}),
         ranged: ({"articleType": ["Handbags"], "baseColour": ["White"]}, {})},
        k=10,
    )  # fmt: skip
    monkeypatch.setattr(
        agent,
        "near_kinds",
        lambda kind, floor=None, n=2: (
            ["Tshirts", "Casual Shoes"] if floor == -1.0 and kind == "Handbags" else []
        ),
    )
    places = {
        "Handbags": ("Things", "Bags"),
        "Tshirts": ("Things", "Bags"),
        "Casual Shoes": ("Things", "Shoes"),
    }
    monkeypatch.setattr(agent, "kind_places", lambda: places)
    got = [rows[i.id] for i in agent.session().send(text).items]
    assert [r["articleType"] for r in got] == ["Handbags"] * 8 + ["Tshirts"] * 2
    assert all(r["baseColour"] == "White" for r in got)
    got = [rows[i.id] for i in agent.session().send(ranged).items]
    assert [(r["articleType"], r["baseColour"]) for r in got[8:]] == [("Handbags", "Black")] * 2
    places["Tshirts"] = ("Things", "Tops")  # no kind of its subcategory: handbags of another colour
    got = [rows[i.id] for i in agent.session().send(text).items]
    assert [(r["articleType"], r["baseColour"]) for r in got[8:]] == [("Handbags", "Black")] * 2


def test_a_short_reply_filled_with_the_nearest_kind_eases_its_colour_where_it_has_none(shop, monkeypatch):
    """All 16 handbags shown in a reply of 20, no near kind and no other kind read: the kind nearest
    however far (tshirts, the categories patched to agree) fills the rest, in the colour asked where
    it has any (here none left), else in any colour."""
    from tests.test_intent import _lm_agent

    text = "a white bag"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Handbags"], "baseColour": ["White"]}, {})}, k=20)
    monkeypatch.setattr(
        agent,
        "near_kinds",
        lambda kind, floor=None, n=2: ["Tshirts"] if floor == -1.0 and kind == "Handbags" else [],
    )
    monkeypatch.setattr(agent, "kind_places", lambda: {"Handbags": ("Things", ""), "Tshirts": ("Things", "")})
    session = agent.session()
    session.rejected = [
        i for i, r in rows.items() if r["articleType"] == "Tshirts" and r["baseColour"] == "White"
    ]
    got = [rows[i.id] for i in session.send(text).items]
    assert [r["articleType"] for r in got] == ["Handbags"] * 16 + ["Tshirts"] * 4
    assert [r["baseColour"] for r in got[:8]] == ["White"] * 8
    assert all(r["baseColour"] == "Black" for r in got[16:])


def test_a_kind_scarce_for_the_audience_goes_on_with_the_lms_next_kind_for_that_audience(shop, monkeypatch):
    """Eight men's handbags for a reply of twenty: the LM's next likely kind of the same master
    category for men (tshirts, the categories patched to agree) comes before handbags for women
    ("a wrap for my wife": her scarves before men's stoles)."""
    from tests.test_intent import _lm_agent

    text = "a bag for him"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Handbags"], "gender": ["Men"]}, {})}, k=20)
    monkeypatch.setattr(agent, "near_kinds", lambda kind, floor=None, n=2: [])
    monkeypatch.setattr(agent, "kind_places", lambda: {"Handbags": ("Things", ""), "Tshirts": ("Things", "")})
    monkeypatch.setattr(agent, "lm_intent", _keep_fills(agent.lm_intent, ["Tshirts"]))
    got = [rows[i.id] for i in agent.session().send(text).items]
    assert [(r["articleType"], r["gender"]) for r in got] == (
        [("Handbags", "Men")] * 8 + [("Tshirts", "Men")] * 8 + [("Handbags", "Women")] * 4
    )
    monkeypatch.setattr(agent, "lm_intent", _keep_fills(agent.lm_intent, []))  # no other kind read
    got = [rows[i.id] for i in agent.session().send(text).items]
    assert [(r["articleType"], r["gender"]) for r in got[8:16]] == [("Handbags", "Women")] * 8
    # nor any read, but a kind of the same category near it has some for him: that kind next
    monkeypatch.setattr(
        agent, "near_kinds", lambda kind, floor=None, n=2: ["Tshirts"] if floor is not None else []
    )
    got = [rows[i.id] for i in agent.session().send(text).items]
    assert [(r["articleType"], r["gender"]) for r in got[8:16]] == [("Tshirts", "Men")] * 8


def test_a_side_ruled_out_is_never_wanted_and_the_other_side_is(shop):
    """ "A tshirt for my sister, nothing that's marketed for men", read by the LM as men's: women's
    tshirts, men's excluded; where the LM read no side, men's are still excluded."""
    from tests.test_intent import _lm_agent

    text, plain = "a tshirt for my sister, nothing that's marketed for men", "a tshirt, not for men"
    agent, rows = _lm_agent(shop, {text: ({"articleType": ["Tshirts"], "gender": ["Men"]}, {}),
                                   plain: ({"articleType": ["Tshirts"]}, {})}, k=4)  # fmt: skip
    reply = agent.session().send(text)
    assert reply.constraints["gender"] == "Women" and reply.avoid == {"gender": ["Men"]}
    assert reply.items and all(rows[i.id]["gender"] == "Women" for i in reply.items)
    reply = agent.session().send(plain)
    assert "gender" not in reply.constraints and reply.avoid == {"gender": ["Men"]}
    assert reply.items and all(rows[i.id]["gender"] != "Men" for i in reply.items)


def test_a_kind_ruled_out_in_everyday_words_is_out_unless_the_lm_reads_it_as_the_item(shop):
    """ "Something for him, not sneakers" rules casual shoes out; "shoes for him, not sneakers",
    read by the LM as casual shoes, names a style of the item: casual shoes stay wanted."""
    from tests.test_intent import _lm_agent

    out, style = "something for him, not sneakers", "shoes for him, not sneakers"
    agent, rows = _lm_agent(shop, {out: ({"articleType": {"Tshirts": 0.9, "Casual Shoes": 0.1}, "gender": ["Men"]}, {}),
                                   style: ({"articleType": {"Casual Shoes": 0.9, "Tshirts": 0.1}, "gender": ["Men"]}, {})},
                            k=4)  # fmt: skip
    reply = agent.session().send(out)
    assert reply.avoid == {"articleType": ["Casual Shoes"]}
    assert reply.items and all(rows[i.id]["articleType"] != "Casual Shoes" for i in reply.items)
    reply = agent.session().send(style)
    assert "articleType" not in reply.avoid and reply.constraints["articleType"] == "Casual Shoes"


def test_a_whole_category_ruled_out_rules_out_its_kinds_even_the_one_the_lm_read(shop):
    """ "Something for a boy who loves sport, not clothes or shoes", read by the LM as a tshirt:
    every kind of clothing and footwear is out, so the reply holds neither. A tshirt asked for by
    name with "no other clothes or shoes" stays wanted; "he's got no shoes" is a lack, no refusal."""
    from tests.test_intent import _lm_agent

    text = "something for him, he loves sport. not clothes or shoes"
    agent, rows = _lm_agent(shop, {text: ({"articleType": {"Tshirts": 0.9, "Casual Shoes": 0.1}, "gender": ["Men"]}, {})},
                            k=4)  # fmt: skip
    reply = agent.session().send(text)
    assert {"Tshirts", "Casual Shoes"} <= set(reply.avoid["articleType"])
    assert reply.items and all(rows[i.id]["articleType"] == "Handbags" for i in reply.items)
    named = "just a tshirt for him, no other clothes or shoes"
    agent.intent.table[named] = ({"articleType": ["Tshirts"], "gender": ["Men"]}, {})
    reply = agent.session().send(named)
    assert reply.constraints["articleType"] == "Tshirts" and reply.avoid["articleType"] == ["Casual Shoes"]
    lack = "he's got no shoes for the wedding, need something"
    agent.intent.table[lack] = ({"articleType": ["Casual Shoes"], "gender": ["Men"]}, {})
    reply = agent.session().send(lack)
    assert reply.constraints["articleType"] == "Casual Shoes" and not reply.avoid


def test_pack_said_as_a_verb_is_not_sent_to_the_kind_vote():
    """ "What should I pack to stay warm": the nearest items by their words would be backpacks, so
    the vote reads "take" (a pack named as a thing stays: "a pack for hiking")."""
    from vlrec.agent.understand import Understanding

    class Words:
        def __init__(self):
            self.texts = []

        def dense(self, text, k):
            self.texts.append(text)
            return []

        def lexical(self, text, k):
            self.texts.append(text)
            return []

    reader = Understanding.__new__(Understanding)
    reader.words, reader.items = Words(), {}
    assert reader.kind_vote("Going to Ladakh. What should I pack to stay warm?", 10) == {}
    assert reader.words.texts == ["Going to Ladakh. What should I take to stay warm?"] * 2
    reader.words.texts.clear()
    for text in ("a pack for hiking", "need to pack light for Europe"):
        reader.words.texts.clear()
        reader.kind_vote(text, 10)
        assert reader.words.texts == [text] * 2
