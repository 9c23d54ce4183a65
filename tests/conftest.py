"""Shared fixtures: tiny random models built from configs, and isolated user dirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "fashion"

WORDS = (
    "the of a is and to in on for with cat dog red blue black white shirt shoes bag "
    "capital france paris user assistant : . , ? ! what colour it"
).split()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Stores written by tests go to a temp dir; the model cache stays the user's
    (converting the packaged LM once per machine is the point of the cache)."""
    monkeypatch.setenv("VLREC_DATA_DIR", str(tmp_path_factory.mktemp("data")))


def build_tiny_lm(folder: Path, model_type: str = "gemma3_text") -> Path:
    """Write a tiny random causal LM with a word-level tokenizer to ``folder``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>"
    )
    # Sizes are multiples of 64 so bitsandbytes can quantize every linear layer.
    config = AutoConfig.for_model(
        model_type,
        vocab_size=128,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=128,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(str(folder))
    fast.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture
def tiny_catalog(tmp_path) -> Path:
    """A 12-item catalogue from the bundled sample, images copied beside it."""
    import shutil

    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:12]
    (tmp_path / "images").mkdir()
    for row in rows:
        shutil.copy(SAMPLE / row["image"], tmp_path / row["image"])
    path = tmp_path / "catalog.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
