"""Misspelt request words are put right before the agent reads them, and nothing else is changed."""

import pytest

VALUES = {
    "articleType": {
        "Jeans",
        "Casual Shoes",
        "Sunglasses",
        "Tshirts",
        "Wallets",
        "Perfume and Body Mist",
        "Caps",
        "Sweatshirts",
        "Shorts",
        "Sandals",
        "Flip Flops",
    },
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
        ("wallett", "wallets"),  # as long as the word
        ("watchs", "watch"),  # two forms of one word, equally near: the shorter
        ("sunglasess", "sunglasses"),
        ("hoodei", "hoodie"),  # two letters swapped wins over "hooded"
        ("shortz", "shorts"),  # the form as long as the word
        ("blet", "belt"),  # four letters: only by a swap of two
        ("blck", "black"),  # or by one letter left out of a colour's name
        ("blak", "black"),
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
        "gurl",  # four letters, and no swap of two letters of a word: too short to tell
        "tei",  # under four letters
        "mits",  # four letters: a swap into "mist" (a word of "body mist", no kind's name)
        "pari",  # nor "pair"
        "wach",  # four letters: a letter put back only into a colour's name, not a kind's ("watch")
        "capsz",  # under six letters: never shortened into "caps"
        "jandals",  # "sandals" would change its first letter
        "mochi",  # a brand, one edit from "mocha": the lexicon's colour words are never targets
        "bhabhi",  # nothing near enough
    ],
)
def test_known_short_and_unmatched_words_stay(speller, word):
    assert speller.correct(word) is None


def test_respell_keeps_the_rest_of_the_text(speller):
    assert speller.respell("Snekers for my gf, size 7!") == "sneakers for my gf, size 7!"
    assert speller.respell("fiancé wants jeanz") == "fiancé wants jeans"  # accents are letters
    assert speller.respell("jeanz like Jeanz wore") == "jeans like Jeanz wore"  # a name inside a sentence
    assert speller.respell("ok. Jeanz please") == "ok. jeans please"  # a sentence's first word is not


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
    old = s.state() | {"v": 1}  # a state saved before ``said`` existed still loads
    old["turns"] = [{k: v for k, v in t.items() if k != "said"} for t in old["turns"]]
    assert type(s).from_state(agent, old).turns[0].said is None
    agent.cfg.spelling = False
    off = agent.session()
    off.send("black tshirtz for women")
    assert agent.intent.seen[-1] == [("user", "black tshirtz for women")] and off.turns[0].said is None
