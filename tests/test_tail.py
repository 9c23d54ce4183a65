"""The VLM's fine-tuned tail: the vision encoder's last stage trained for the catalogue's fields
(``train.stage: tail``), saved with the VLM, fused by the reader and shown by ``eval vqa``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import SAMPLE
from tests.test_reader import _sample_rows, _save_then_stop_after


def _dev_split(i):
    return "dev" if int(i) % 4 == 0 else "train"


@pytest.mark.integration
def test_tail_stage_trains_saves_fuses_and_resumes(tiny_lm_dir, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from vlrec.adapters.reader import FIELDS, AttributeReader
    from vlrec.adapters.train.heads import train_heads
    from vlrec.adapters.train.tail import train_tail
    from vlrec.adapters.vlm import VLMConfig
    from vlrec.adapters.vlm_load import build_vlm
    from vlrec.config import load_config
    from vlrec.models.lm import LMConfig

    def patch():
        monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path / "cache"))
        for module in ("heads", "tail"):
            monkeypatch.setattr(f"vlrec.adapters.train.{module}.split_of", _dev_split)

    patch()

    def cfg(stage, out, epochs, init=""):
        return load_config(None, [
            f"lm.path={tiny_lm_dir}", "lm.quantization=none", "runtime.device=cpu", "vlm.adapter=",
            "vlm.image_tokens=4", "vlm.colour_hist=true", f"train.stage={stage}", f"train.init={init}",
            f"train.fashion_data={SAMPLE / 'catalog.jsonl'}", f"train.epochs={epochs}", "train.batch_size=32",
            "train.lr=0.003", "train.tail_lr=0.001", "train.heads_hidden=64", f"train.out={out}",
        ])  # fmt: skip

    heads = train_heads(cfg("heads", tmp_path / "heads", 2), log=lambda *_: None)
    with pytest.raises(ValueError, match="train.init"):
        train_tail(cfg("tail", tmp_path / "no-init", 1), log=lambda *_: None)
    final = train_tail(cfg("tail", tmp_path / "tail", 4, heads), log=lambda *_: None)
    records = [json.loads(x) for x in (tmp_path / "tail" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 4 and records[-1]["loss"] < records[0]["loss"]
    meta = json.loads((final / "config.json").read_text())
    assert meta["tail"]["cut"] == 11 and set(meta["tail"]["fields"]) == set(FIELDS)
    assert all("tail" in f["weights"] for f in meta["fusion"].values())  # the reader weighs the tail too
    for name in ("heads.safetensors", "projector.safetensors"):  # copied from the init unchanged
        assert (final / name).read_bytes() == (heads / name).read_bytes()
    summary = json.loads((tmp_path / "tail" / "summary.json").read_text())
    assert "tail_acc" in summary["dev"]["articleType"]

    vlm = build_vlm(
        VLMConfig(adapter=str(final)), LMConfig(path=str(tiny_lm_dir), quantization="none"), device="cpu"
    )
    assert vlm.tail is not None and not vlm.tail.training
    rows = _sample_rows(80)
    reader = AttributeReader(vlm)
    images = [SAMPLE / r["image"] for r in rows]
    pooled, _, tail, probe = reader.encode(images)
    assert tail is not None and tail[0].shape == (80, 112, 14, 14) and probe is None  # no probe yet
    parts, _ = reader.parts(pooled, tail=tail)
    got = parts["articleType"]["tail"].argmax(1)
    vocab = reader.vocab("articleType")
    right = np.mean([vocab[j] == r["articleType"] for j, r in zip(got, rows)])
    values = [r["articleType"] for r in rows]
    assert right > max(values.count(v) for v in set(values)) / len(values) + 0.2  # it learned the field
    guesses = reader.read(images)
    assert all(0 < g["articleType"].confidence <= 1 for g in guesses)

    # a run killed while writing its epoch-3 checkpoint resumes from epoch 2 and ends the same
    import vlrec.adapters.train.checkpoints as ck

    class Killed(Exception):
        pass

    monkeypatch.setattr(ck, "write_state", _save_then_stop_after(ck.write_state, 3, Killed))
    with pytest.raises(Killed):
        train_tail(cfg("tail", tmp_path / "killed", 4, heads), log=lambda *_: None)
    monkeypatch.undo()
    patch()
    again = train_tail(cfg("tail", tmp_path / "killed", 4, heads), log=lambda *_: None)
    a, b = load_file(str(final / "tail.safetensors")), load_file(str(again / "tail.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-4, rtol=1e-3)

    # eval vqa shows the tail's own row beside the heads and the reader
    from vlrec.eval.attributes import eval_attributes

    monkeypatch.setattr("vlrec.eval.attributes.split_of", _dev_split)
    result, _ = eval_attributes(
        cfg("tail", tmp_path / "unused", 1), vlm, SAMPLE / "catalog.jsonl", split="dev"
    )
    names = list(result["accuracy"])
    assert (
        names.index("VLM heads") < names.index("VLM tail (fine-tuned last stage)") < names.index("VLM reader")
    )

    # stage probe: the colour probe on top of the tail model, weighed by the reader for colour only
    from vlrec.adapters.train.tail import train_probe

    probed = train_probe(cfg("probe", tmp_path / "probe", 1, final), log=lambda *_: None)
    meta = json.loads((probed / "config.json").read_text())
    assert list(meta["probe"]["fields"]) == ["baseColour"] and meta["probe"]["dim"] > 700
    assert (
        "probe" in meta["fusion"]["baseColour"]["weights"]
        and "probe" not in meta["fusion"]["gender"]["weights"]
    )
    assert (probed / "tail.safetensors").read_bytes() == (final / "tail.safetensors").read_bytes()
    vlm = build_vlm(
        VLMConfig(adapter=str(probed)), LMConfig(path=str(tiny_lm_dir), quantization="none"), device="cpu"
    )
    reader = AttributeReader(vlm)
    pooled, _, tail, probe = reader.encode(images[:8])
    assert probe is not None and probe.shape == (8, vlm.probe.dim)
    parts, _ = reader.parts(pooled, tail=tail, probe=probe)
    colour = parts["baseColour"]["probe"]
    assert colour.shape == (8, len(reader.vocab("baseColour"))) and np.allclose(colour.sum(1), 1, atol=1e-5)
    assert "probe" not in parts["gender"]
    result, _ = eval_attributes(
        cfg("probe", tmp_path / "unused", 1), vlm, SAMPLE / "catalog.jsonl", split="dev"
    )
    assert set(result["accuracy"]["colour probe (Lab histogram)"]) == {"baseColour"}


def test_int8_rows_round_trip_convolutions_and_pass_plain_weights_through():
    """The shipped tail is stored as int8 rows (one scale per output channel of each conv or
    linear weight); loading dequantizes it, and a plain fp16/fp32 file loads unchanged."""
    from vlrec.adapters.vlm_load import from_int8_rows, int8_rows

    torch.manual_seed(0)
    state = {
        "conv.weight": torch.randn(8, 4, 3, 3),
        "lin.weight": torch.randn(5, 7) * 10,
        "lin.bias": torch.randn(5),
    }
    q = int8_rows(state)
    assert q["conv.weight"].dtype == torch.int8 and q["conv.weight.scale"].shape == (8, 1, 1, 1)
    back = from_int8_rows(q)
    assert set(back) == set(state)
    for k, w in state.items():
        step = w.abs().flatten(1).amax(1).view(-1, *[1] * (w.dim() - 1)) / 127 if w.dim() > 1 else 1e-2
        assert ((back[k] - w).abs() <= step / 2 + 1e-3 * w.abs() + 1e-6).all()
    plain = from_int8_rows({k: v.half() for k, v in state.items()})
    assert all(plain[k].dtype == torch.float32 for k in plain) and set(plain) == set(state)
