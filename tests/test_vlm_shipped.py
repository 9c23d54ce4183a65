"""The shipped VLM (vlrec/assets/vlm/default) on the packaged models: real captions and answers."""

import json

import pytest

from tests.conftest import SAMPLE
from vlrec.cli.main import main

QUERIES = SAMPLE / "queries"


@pytest.mark.integration
def test_shipped_vlm_answers_about_a_product_photo(capsys):
    shoes = str(next(QUERIES.glob("casual_shoes_black_*.jpg")))
    assert main(["ask", shoes, "What colour is it?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] == "Black"
    assert main(["ask", shoes, "What type of product is this?"]) == 0
    # a shoe type of the catalogue (the shipped model says "Sports Shoes" for these casual shoes)
    assert capsys.readouterr().out.strip() in {"Casual Shoes", "Sports Shoes", "Formal Shoes"}


@pytest.mark.integration
def test_shipped_vlm_captions_photos(capsys):
    photos = sorted(str(p) for p in QUERIES.glob("*.jpg"))[:2]
    assert main(["caption", *photos, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in rows] == photos
    assert all(len(r["caption"].split()) >= 3 for r in rows)


@pytest.mark.integration
def test_caption_names_a_corrupt_photo(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    assert main(["caption", str(bad)]) == 1
    assert "broken.jpg" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize("model", ["vlm", "intent"])
def test_exported_peft_adapter_loads_in_plain_peft_with_vlrecs_logits(tmp_path, capsys, model):
    """`vlrec export peft` turns a shipped LoRA (the VLM's is stored int8) into a standard folder that
    `PeftModel.from_pretrained` loads on the base model, with the LoRA's effect exactly as vlrec has it."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vlrec.models.lm import packaged_lm_dir

    out = tmp_path / "peft"
    assert main(["export", "peft", str(out), "--model", model]) == 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "google/gemma-3-270m"
    assert (out / "adapter_model.safetensors").is_file()

    base_dir = packaged_lm_dir(log=lambda *a: None)
    tok = AutoTokenizer.from_pretrained(base_dir)
    ids = tok("User: a red shirt for men\nAssistant:", return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        plain = base(ids).logits
    peft_model = PeftModel.from_pretrained(base, str(out)).eval()
    with torch.no_grad():
        adapted = peft_model(ids).logits
    assert not torch.allclose(adapted, plain, atol=1e-3)  # the LoRA does something
    # the same LoRA through vlrec's own loading (the shipped folder, int8 dequantized for the VLM)
    from vlrec.adapters.vlm_load import adapter_folder
    from vlrec.core.paths import ASSETS

    again = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval(),
        str(adapter_folder(ASSETS / model / "default" / "adapter")),
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(ids).logits, adapted)
