"""What the VLM reads off photos: colour descriptors, heads, neighbour votes, fusion, gates,
the heads training stage and the agent's use of stated fields."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import SAMPLE, sample_catalog


def test_colour_histogram_sees_the_product_not_the_white_background(tmp_path):
    from vlrec.models.colour import HIST_DIM, HUES, SATS, VALS, colour_histogram

    img = Image.new("RGB", (100, 100), (255, 255, 255))
    img.paste((200, 20, 20), (30, 30, 70, 70))  # a red square on a studio-white photo
    path = tmp_path / "red.jpg"
    img.save(path)
    h = colour_histogram([path])[0]
    assert h.shape == (HIST_DIM,)
    hues = h[: HUES * SATS * VALS].view(HUES, SATS, VALS).sum(dim=(1, 2))
    assert float(hues[0] + hues[-1]) > 0.95  # red (either end of the hue circle); no white counted
    assert float(h[-1]) == pytest.approx(0.16, abs=0.05)  # foreground share of the photo
    blank = colour_histogram([Image.new("RGB", (50, 50), (255, 255, 255))])[0]
    assert float(blank[: HUES * SATS * VALS].sum()) == pytest.approx(
        1.0, abs=1e-5
    )  # no foreground: all pixels
    assert float(blank[-1]) == 0.0


def test_fusion_follows_the_informative_source_and_is_calibrated():
    from vlrec.adapters.reader import ece, fit_fusion, fuse

    rng = np.random.default_rng(0)
    n, v = 400, 5
    truth = rng.integers(0, v, n)
    noise = rng.dirichlet(np.ones(v), n).astype(np.float32)  # heads that know nothing
    knn = np.full((n, v), 0.0, np.float32)
    right = rng.random(n) < 0.8  # neighbours right 80 % of the time
    knn[np.arange(n), np.where(right, truth, (truth + 1) % v)] = 1.0
    parts = {"head": noise, "knn": knn}
    w = fit_fusion(parts, truth)
    assert w["knn"] > 0 and w["head"] <= 0.5
    p = fuse(parts, w)
    assert (p.argmax(1) == truth).mean() == right.mean()  # the neighbours decide
    assert np.allclose(p.sum(1), 1.0, atol=1e-5)
    conf, correct = p.max(1), p.argmax(1) == truth
    assert ece(conf, correct) < 0.05  # log-loss weights calibrate the confidence
    assert ece(np.ones(n), correct) == pytest.approx(1 - right.mean(), abs=1e-6)  # always sure


def test_array_and_chroma_datastores_give_the_same_neighbours_and_skip_the_item_itself(tmp_path):
    from tests.conftest import store_config, unique
    from vlrec.adapters.reader import ArrayDatastore, knn_vote
    from vlrec.retrieval.datastore import ChromaDatastore
    from vlrec.retrieval.store import Store

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(30, 8)).astype(np.float32)
    ids = [f"i{j}" for j in range(30)]
    meta = [{"articleType": "Shirts" if j % 3 else "Watches"} for j in range(30)]
    memory = ArrayDatastore(ids, vecs, meta)
    store = Store(store_config(tmp_path))
    col = store.collection(unique("ds"), {"name": "test", "dim": 8})
    store.upsert(col, ids, vecs, meta)
    chroma = ChromaDatastore(store, col)
    a = memory.neighbours(vecs[:5], 4, ids[:5])
    b = chroma.neighbours(vecs[:5], 4, ids[:5])
    assert [[m["id"] for m in row] for row in a] == [[m["id"] for m in row] for row in b]
    assert all(ids[i] not in [m["id"] for m in row] and len(row) == 4 for i, row in enumerate(a))
    vote = knn_vote(a, "articleType", ["Shirts", "Watches"])
    assert vote.shape == (5, 2) and np.allclose(vote.sum(1), 1.0)


def test_new_colour_histogram_path_starts_at_zero_and_heads_survive_save_and_load(tiny_lm_dir, tmp_path):
    from tests.test_vlm import _photos, build_tiny_vlm
    from vlrec.adapters.heads import AttributeHeads
    from vlrec.adapters.vlm import VLMConfig
    from vlrec.adapters.vlm_load import build_vlm
    from vlrec.models.lm import LMConfig

    vlm = build_tiny_vlm(tiny_lm_dir, "none")
    photos = _photos(2)
    ids, mask, _ = vlm.collate([(vlm.render("what colour is it?"), None)] * 2)
    before = vlm.logits(ids, mask, patches=vlm.image_patches(photos))
    vlm.save_pretrained(tmp_path / "plain")
    lm = LMConfig(path=str(tiny_lm_dir), quantization="none")
    warm = build_vlm(VLMConfig(adapter=str(tmp_path / "plain"), colour_hist=True), lm, device="cpu")
    assert warm.projector.hist_dim > 0
    torch.testing.assert_close(warm.logits(ids, mask, patches=warm.image_patches(photos)), before)
    warm.heads = AttributeHeads(
        warm.projector.out_dim, {"baseColour": ["Black", "Red"], "gender": ["Men", "Women"]}
    )
    warm.heads.eval()
    warm.fusion = {"gender": {"weights": {"head": 1.0, "knn": 0.5}, "gate": 0.7, "k": 10}}
    with torch.no_grad():
        warm.projector.hist[2].weight.normal_()  # a trained histogram path
        tokens = warm.projector(warm.image_patches(photos))
        logits = warm.heads(tokens)["gender"]
    warm.save_pretrained(tmp_path / "heads")
    back = build_vlm(VLMConfig(adapter=str(tmp_path / "heads")), lm, device="cpu")
    assert back.heads.fields == warm.heads.fields and back.fusion == warm.fusion
    with torch.no_grad():
        torch.testing.assert_close(back.heads(back.projector(back.image_patches(photos)))["gender"], logits)


def _sample_rows(n=120):
    return [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:n]


@pytest.mark.integration
def test_heads_stage_learns_fields_fits_gates_and_resumes(tiny_lm_dir, tmp_path, monkeypatch):
    """Stage heads on the sample catalogue (real Lite0 features, tiny LM): the loss falls, the
    heads beat the majority class on the training items, fusion and gates are saved, and a run
    stopped after some epochs ends with the same weights as an uninterrupted one."""
    from vlrec.adapters.reader import FIELDS, AttributeReader
    from vlrec.adapters.train.heads import train_heads
    from vlrec.adapters.vlm import VLMConfig
    from vlrec.adapters.vlm_load import build_vlm
    from vlrec.config import load_config
    from vlrec.models.lm import LMConfig
    from vlrec.models.vision import VisionConfig

    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path / "cache"))
    # the sample has few held-out items: hold out every fourth for dev, none for test
    monkeypatch.setattr(
        "vlrec.adapters.train.heads.split_of", lambda i: "dev" if int(i) % 4 == 0 else "train"
    )

    balanced = sample_catalog(tmp_path / "sample", 300)[0]  # one to six items of every kind

    def cfg(out, epochs):
        return load_config(None, [
            f"lm.path={tiny_lm_dir}", "lm.quantization=none", "runtime.device=cpu", "vlm.adapter=",
            "vlm.image_tokens=4", "vlm.colour_stats=true", "vlm.colour_hist=true", "train.stage=heads",
            "train.init=", f"train.fashion_data={balanced}", f"train.epochs={epochs}",
            "train.batch_size=32", "train.lr=0.003", "train.heads_hidden=64", f"train.out={out}",
            "vision.backend=onnx",  # fp32 features on every machine (auto is bf16 OpenVINO on some)
        ])  # fmt: skip

    final = train_heads(cfg(tmp_path / "run", 6), log=lambda *_: None)
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 6 and records[-1]["loss"] < records[0]["loss"]
    meta = json.loads((final / "config.json").read_text())
    assert set(meta["heads"]["fields"]) == set(FIELDS)
    assert set(meta["fusion"]) == set(FIELDS) and all(0 < f["gate"] <= 1 for f in meta["fusion"].values())
    assert (final / "heads.safetensors").is_file() and (final / "projector.safetensors").is_file()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["dev"]["gender"]["head_acc"] > 0
    vlm = build_vlm(
        VLMConfig(adapter=str(final)), LMConfig(path=str(tiny_lm_dir), quantization="none"),
        VisionConfig(backend="onnx"), device="cpu",
    )  # fmt: skip
    rows = [r for r in _sample_rows(80)]
    guesses = AttributeReader(vlm).read([SAMPLE / r["image"] for r in rows])
    right = np.mean([g["articleType"].value == r["articleType"] for g, r in zip(guesses, rows)])
    values = [r["articleType"] for r in rows]
    majority = max(values.count(v) for v in set(values)) / len(values)
    assert right > majority + 0.2  # training items: the heads learned the field
    assert all(0 < g["gender"].confidence <= 1 for g in guesses)

    # a run killed while writing its epoch-3 checkpoint resumes from epoch 2 and ends the same
    import vlrec.adapters.train.checkpoints as ck

    killed = tmp_path / "killed"

    class Killed(Exception):
        pass

    monkeypatch.setattr(ck, "write_state", _save_then_stop_after(ck.write_state, 3, Killed))
    with pytest.raises(Killed):
        train_heads(cfg(killed, 6), log=lambda *_: None)
    monkeypatch.undo()
    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(
        "vlrec.adapters.train.heads.split_of", lambda i: "dev" if int(i) % 4 == 0 else "train"
    )
    final2 = train_heads(cfg(killed, 6), log=lambda *_: None)
    from safetensors.torch import load_file

    a, b = load_file(str(final / "heads.safetensors")), load_file(str(final2 / "heads.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-4, rtol=1e-3)
    assert len((killed / "metrics.jsonl").read_text().splitlines()) == 6

    # the evaluation table: every baseline row beside the VLM's, on the same items
    from vlrec.eval.attributes import eval_attributes, format_table

    monkeypatch.setattr("vlrec.eval.attributes.split_of", lambda i: "dev" if int(i) % 4 == 0 else "train")
    result, detail = eval_attributes(cfg(tmp_path / "unused", 1), vlm, SAMPLE / "catalog.jsonl", split="dev")
    rows_all = _sample_rows(10_000)
    dev = sorted((r for r in rows_all if int(r["id"]) % 4 == 0), key=lambda r: r["id"])
    assert result["items"] == len(dev) == len(detail)
    names = list(result["accuracy"])
    assert names[:3] == ["majority", "kNN vote (k=10)", "probe (Lite0 pooled)"] and names[-1] == "VLM reader"
    train_types = [r["gender"] for r in rows_all if int(r["id"]) % 4]
    top = max(set(train_types), key=train_types.count)
    assert result["accuracy"]["majority"]["gender"] == pytest.approx(
        100 * np.mean([r["gender"] == top for r in dev])
    )
    assert all(0 <= v <= 100 for row in result["accuracy"].values() for v in row.values())
    assert {d["id"] for d in detail} == {r["id"] for r in dev} and "| VLM reader |" in format_table(result)


def _save_then_stop_after(save, epoch, exc):
    """``write_state`` that writes epoch ``epoch``'s checkpoint folder, then dies before it is renamed."""

    def wrapped(folder, weights, *a, **meta):
        save(folder, weights, *a, **meta)
        if meta.get("epoch") == epoch:
            raise exc()

    return wrapped


class FakeReader:
    """Reads a handbag for sure and white without confidence (``white``: its probability)."""

    fields = ["articleType", "baseColour"]

    def __init__(self, white: float = 0.41):
        self.calls = 0
        self.white = white

    def read_with_vectors(self, images):
        return self.read(images), None

    def read(self, images):
        from vlrec.adapters.reader import Guess

        self.calls += 1
        return [
            {
                "articleType": Guess("Handbags", 0.97, True, [("Handbags", 0.97)]),
                "baseColour": Guess(
                    "White", self.white, False, [("White", self.white), ("Black", 1 - self.white)]
                ),
            }
            for _ in images
        ]


def test_agent_uses_only_the_fields_the_vlm_states_about_a_photo(shop):
    from tests.conftest import FakeVLM
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, tmp = shop
    reader = FakeReader()
    vlm = FakeVLM()
    agent = Agent(AgentConfig(k=4, candidates=24), searcher, vlm, reader=reader)
    photo = str(tmp / rows["112"]["image"])
    reply = agent.session().send("something like this", image=photo)
    assert reply.query == "handbags"  # stated type joins the query; unsure colour does not
    assert reply.seen["articleType"] == {"value": "Handbags", "confidence": 0.97, "stated": True}
    assert reply.seen["baseColour"]["stated"] is False
    assert not vlm.prompts  # the reader, not free generation, read the photo
    s = agent.session()
    assert s.send("for men please", image=photo).query == "handbags for men"  # words add to the photo
    assert s.send("show me tshirts").query == "tshirts for men"  # the shopper's words win
    answer = agent.session().send("what colour is it?", image=photo)
    assert answer.answer == "White (41 % confident, but I'm not sure)"
    assert agent.session().send("what kind of item is this?", image=photo).answer.startswith("Handbags (97 %")
    strict = Agent(AgentConfig(k=4, candidates=24, seen_filter=True), searcher, vlm, reader=reader)
    items = strict.session().send("something like this", image=photo).items
    assert len(items) == 4 and all(rows[r.id]["articleType"] == "Handbags" for r in items)
    off = Agent(AgentConfig(k=4, candidates=24, seen_in_query=False), searcher, vlm, reader=reader)
    assert off.session().send("something like this", image=photo).query == ""


def test_a_photos_description_hedges_what_the_vlm_reads_below_its_gate(shop):
    """The description names the stated fields, then what the reader finds likely (at least 0.5)
    but not sure enough to state, as "probably"; an unlikely reading is left out, and the hedge
    never joins the query."""
    from tests.conftest import FakeVLM
    from vlrec.adapters.reader import Guess, describe_guesses
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, tmp = shop
    photo = str(tmp / rows["112"]["image"])
    sure = Agent(AgentConfig(k=4, candidates=24), searcher, FakeVLM(), reader=FakeReader(white=0.8))
    reply = sure.session().send("something like this", image=photo)
    assert reply.image_description == "Handbags; probably White" and reply.query == "handbags"
    unsure = Agent(AgentConfig(k=4, candidates=24), searcher, FakeVLM(), reader=FakeReader(white=0.41))
    assert unsure.session().send("something like this", image=photo).image_description == "Handbags"
    guesses = {"baseColour": Guess("Red", 0.9, False), "gender": Guess("Men", 0.99, True)}
    assert describe_guesses(guesses) == "An item for Men; probably Red"
    assert describe_guesses({"baseColour": Guess("Red", 0.9, False)}) == "Probably Red"
    assert describe_guesses(guesses, stated_only=False) == "Red for Men"


def test_an_unsure_reading_still_ranks_by_its_probability(shop):
    from tests.conftest import FakeVLM
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, tmp = shop
    photo = str(tmp / rows["112"]["image"])

    def colours(seen_weight, white):
        cfg = AgentConfig(k=8, candidates=24, seen_weight=seen_weight, typicality=0.0, diversity=0.0)
        agent = Agent(cfg, searcher, FakeVLM(), reader=FakeReader(white))
        reply = agent.session().send("handbags please", image=photo)
        assert all(rows[r.id]["articleType"] == "Handbags" for r in reply.items)  # the words filter
        assert reply.query == "handbags"  # an unsure colour never joins the query
        return [rows[r.id]["baseColour"] for r in reply.items]

    assert colours(1.0, 0.95) == ["White"] * 8  # probably white: the 8 white handbags come first
    assert colours(1.0, 0.05) == ["Black"] * 8


def test_a_narrowed_wish_shows_the_photos_kind_again_and_says_when_none_is_left(shop):
    """The photo's kind ranks (it does not filter). A turn that narrows the wishes ("in black")
    lists the items of that kind already seen that meet it before any other kind, and says so;
    a turn with the same wishes shows none again, and when none of the kind is left unshown the
    reply says so instead of claiming the kind in its first line."""
    from tests.conftest import FakeVLM
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, tmp = shop
    agent = Agent(AgentConfig(k=8, candidates=48), searcher, FakeVLM(), reader=FakeReader())
    s = agent.session()
    first = s.send("something like this, for women", image=str(tmp / rows["112"]["image"]))
    assert [rows[r.id]["articleType"] for r in first.items] == ["Handbags"] * 8  # all 8 women's handbags
    assert "No more" not in first.text
    second = s.send("in black")
    seen_black = {r.id for r in first.items if rows[r.id]["baseColour"] == "Black"}
    assert len(seen_black) == 4 and {r.id for r in second.items[:4]} == seen_black
    assert all(rows[r.id]["articleType"] != "Handbags" for r in second.items[4:])
    assert all(rows[r.id]["baseColour"] == "Black" and rows[r.id]["gender"] == "Women" for r in second.items)
    assert second.text.startswith(
        "4 handbags you have already seen meet this wish too, so they are listed again; the others are"
    )
    assert "No more" not in second.text
    third = s.send("show me others")  # the same wishes: nothing is shown again
    assert third.items and not {r.id for r in third.items} & {r.id for r in first.items + second.items}
    head = third.text.splitlines()[0]
    assert "No more handbags like your photo meet your other wishes" in head
    assert "for black items for women" in head and "black handbags" not in head
    from vlrec.agent.state import Session  # a restored session knows what the last reply was to meet

    assert s.wishes is not None and Session.from_state(agent, s.state()).wishes == s.wishes


def test_more_like_a_listed_item_stays_with_its_kind(shop):
    """After a photo, "more like the fifth one" (an item of another kind than the photo's) searches
    from that item and keeps its kind: the shopper's other wishes are relaxed before it, and the
    reply's heading names that kind."""
    from tests.conftest import FakeVLM
    from vlrec.agent.config import AgentConfig
    from vlrec.agent.session import Agent

    searcher, rows, tmp = shop
    agent = Agent(AgentConfig(k=8, candidates=48), searcher, FakeVLM(), reader=FakeReader())
    s = agent.session()
    s.send("something like this, for women", image=str(tmp / rows["112"]["image"]))
    second = s.send("in black")  # 4 black handbags seen before, then other kinds
    other = second.items[4]
    kind = rows[other.id]["articleType"]
    assert kind != "Handbags"
    third = s.send("more like the fifth one")
    assert s.anchor == other.id and third.items and other.id not in [r.id for r in third.items]
    assert all(rows[r.id]["articleType"] == kind for r in third.items)
    assert kind.lower() in third.text.splitlines()[0].lower()
    # each item's reason counts that kind as met, not the photo's kind
    assert all(f"matches {kind.lower()}" in r.reason for r in third.items)
    assert not any("handbags" in r.reason.split("matches")[-1] for r in third.items)
