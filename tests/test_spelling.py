"""Misspelt request words are put right before the agent reads them, and nothing else is changed."""

import pytest

VALUES = {
    "articleType": {"Jeans", "Casual Shoes", "Sunglasses", "Tshirts", "Wallets", "Perfume and Body Mist"},
    "baseColour": {"Black", "Navy Blue"},
    "gender": {"Men", "Women", "Girls"},
}


@pytest.fixture(scope="module")
def speller():
    from vlrec.agent.spelling import Speller

    return Speller(VALUES, titles=["Fastrack Men Black Wallet", "Quiksilver Men Navy Tshirts"])


@pytest.mark.parametrize(
    "word,want",
    [
        ("jeanz", "jeans"),
        ("snekers", "sneakers"),  # the lexicon's word for casual shoes
        ("sunglases", "sunglasses"),  # the lexicon's own form, not a made-up singular
        ("tshrit", "tshirt"),  # two letters swapped
        ("perfum", "perfume"),  # not "parfum", which keeps fewer of its first letters
        ("wallett", "wallet"),  # two forms of one word, equally near
        ("sunglasess", "sunglasses"),
    ],
)
def test_a_misspelt_word_becomes_the_vocabulary_word(speller, word, want):
    assert speller.correct(word) == want


@pytest.mark.parametrize(
    "word",
    [
        "shirt",  # English
        "quiksilver",  # a brand of the catalogue's titles
        "schoolbag",  # two common words run together ("schoolboy" is two edits away)
        "gurl",  # under five letters: too short to tell
        "sando",  # never shortened into "sand" (a colour word)
        "bhabhi",  # nothing near enough
    ],
)
def test_known_short_and_unmatched_words_stay(speller, word):
    assert speller.correct(word) is None


def test_respell_keeps_the_rest_of_the_text(speller):
    assert speller.respell("Snekers for my gf, size 7!") == "sneakers for my gf, size 7!"
    assert speller.respell("fiancé wants jeanz") == "fiancé wants jeans"  # accents are letters


def test_the_agent_reads_the_words_put_right_and_keeps_the_shoppers_own(shop):
    """The misspelt "tshirtz" reaches the intent LM (a fixed table here) as "tshirts"; the turn
    keeps what the shopper typed, across a restart; with ``agent.spelling`` off the words go as typed."""
    from tests.test_intent import _lm_agent

    table = {
        "black tshirts for women": (
            {"articleType": ["Tshirts"], "baseColour": ["Black"], "gender": ["Women"]},
            {},
        )
    }
    agent, rows = _lm_agent(shop, table, k=4)
    s = agent.session()
    reply = s.send("black tshirtz for women")
    assert agent.intent.seen[-1] == [("user", "black tshirts for women")]
    assert s.turns[0].text == "black tshirts for women" and s.turns[0].said == "black tshirtz for women"
    assert reply.items and all(rows[i.id]["articleType"] == "Tshirts" for i in reply.items)
    restored = type(s).from_state(agent, s.state())  # the shopper's words survive a restart
    assert restored.turns[0].said == "black tshirtz for women"
    agent.cfg.spelling = False
    off = agent.session()
    off.send("black tshirtz for women")
    assert agent.intent.seen[-1] == [("user", "black tshirtz for women")] and off.turns[0].said is None
