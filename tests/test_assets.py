"""The shipped adapters as the Hugging Face ecosystem reads them: model cards with metadata, peft
configs that name the hub base model rather than a local cache path."""

import json

import pytest

from vlrec.core.paths import ASSETS


@pytest.mark.parametrize("name", ["vlm", "intent", "align"])
def test_model_cards_carry_hugging_face_metadata(name):
    from huggingface_hub import ModelCard

    card = ModelCard.load(ASSETS / name / "default" / "README.md")
    data = card.data.to_dict()
    assert data["license"] and data["datasets"] and data["tags"]
    if name != "align":
        assert data["base_model"] == "google/gemma-3-270m" and data["library_name"] == "peft"
        results = card.data.eval_results
        assert results and all(r.metric_value is not None for r in results)
        config = json.loads((ASSETS / name / "default" / "adapter" / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == "google/gemma-3-270m" and config["peft_type"] == "LORA"
