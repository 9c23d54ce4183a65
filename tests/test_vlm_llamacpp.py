"""vlm.engine=llamacpp: vlrec's weights in a GGUF file, and decoding through llama.cpp."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from vlrec.adapters.vlm_llamacpp import decoder_for, gguf_weights, merged_gguf


def _tiny_gguf(path, seed=0):
    """A two-block 'gemma3' GGUF: quantized attention weights, an f32 embedding, some metadata."""
    import gguf
    from gguf.quants import quantize

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_block_count(2)
    writer.add_string("general.name", "tiny")
    for b in range(2):
        w = rng.standard_normal((64, 32)).astype(np.float32)
        writer.add_tensor(f"blk.{b}.attn_q.weight", quantize(w, gguf.GGMLQuantizationType.Q8_0),
                          raw_dtype=gguf.GGMLQuantizationType.Q8_0)  # fmt: skip
    writer.add_tensor("token_embd.weight", rng.standard_normal((10, 32)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


class _Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(32, 64, bias=False)


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Module()
        self.model.layers = nn.ModuleList([nn.Module() for _ in range(2)])
        for layer in self.model.layers:
            layer.self_attn = _Attn()
        self.lm_head = nn.Linear(32, 10, bias=False)  # not a decoder layer: the file's own stays


def test_merged_gguf_carries_the_models_own_linear_weights(tmp_path):
    """The decoder layers' weights are found by gguf-py's name map and written as Q8_0 into a copy
    of the file (metadata and other tensors kept), once per weights."""
    import gguf
    from gguf.quants import dequantize

    source = _tiny_gguf(tmp_path / "tiny.gguf")
    torch.manual_seed(0)
    model = _Tiny()
    weights = gguf_weights(model, source)
    assert sorted(weights) == ["blk.0.attn_q.weight", "blk.1.attn_q.weight"]
    out = merged_gguf(source, weights, tmp_path / "cache")
    reader = gguf.GGUFReader(str(out))
    tensors = {t.name: t for t in reader.tensors}
    for b in range(2):
        t = tensors[f"blk.{b}.attn_q.weight"]
        got = dequantize(t.data, t.tensor_type).reshape(64, 32)
        want = model.model.layers[b].self_attn.q_proj.weight.detach().numpy()
        assert t.tensor_type == gguf.GGMLQuantizationType.Q8_0
        assert np.abs(got - want).max() < 0.01 * np.abs(want).max()
    original = {t.name: t for t in gguf.GGUFReader(str(source)).tensors}
    np.testing.assert_array_equal(tensors["token_embd.weight"].data, original["token_embd.weight"].data)
    assert reader.fields["general.name"].contents() == "tiny"
    assert reader.fields["general.architecture"].contents() == "gemma3"
    stamp = out.stat().st_mtime_ns
    assert merged_gguf(source, gguf_weights(model, source), tmp_path / "cache") == out
    assert out.stat().st_mtime_ns == stamp  # cached: not written again
    with torch.no_grad():
        model.model.layers[0].self_attn.q_proj.weight.add_(1.0)
    assert (
        merged_gguf(source, gguf_weights(model, source), tmp_path / "cache") != out
    )  # new weights, new file
    assert not list((tmp_path / "cache").glob("*.tmp"))


def test_a_model_with_4bit_or_unknown_layers_is_refused(tmp_path):
    source = _tiny_gguf(tmp_path / "tiny.gguf")

    class Packed(nn.Linear):
        pass

    model = _Tiny()
    model.model.layers[0].self_attn.q_proj = Packed(32, 64)
    with pytest.raises(ValueError, match="cpu_dequantize"):
        gguf_weights(model, source)
    model = _Tiny()
    model.model.layers[0].self_attn.w_odd = nn.Linear(4, 4)
    with pytest.raises(ValueError, match="w_odd.*no tensor"):
        gguf_weights(model, source)


def test_the_engine_needs_the_packaged_gguf_lm():
    vlm = SimpleNamespace(lm_config=SimpleNamespace(path="/models/qwen"), _llamacpp=None)
    with pytest.raises(ValueError, match="lm.path=gemma3-270m"):
        decoder_for(vlm)


@pytest.mark.integration
def test_llamacpp_engine_decodes_what_the_transformers_path_decodes():
    """The shipped VLM through llama.cpp: the next-token distribution after a photo prompt matches
    PyTorch's (same top token, correlation > 0.999), and captions come back cut at stop strings."""
    pytest.importorskip("llama_cpp")
    from tests.conftest import SAMPLE
    from vlrec.adapters.vlm_load import load_vlm
    from vlrec.config import VlrecConfig
    from vlrec.core.config import load
    from vlrec.data.vlm_tasks import CAPTION_QUESTION

    vlm = load_vlm(load(VlrecConfig, None, ["vlm.engine=llamacpp"]))
    photos = sorted((SAMPLE / "images").glob("*.jpg"))[:2]
    ids, mask, _ = vlm.collate([(vlm.render(CAPTION_QUESTION), None)], pad_left=True)
    with torch.inference_mode():
        embeds = vlm.embed_inputs(ids, vlm._features(vlm.image_patches(photos[:1]), None))
        want = vlm.lm_model(inputs_embeds=embeds).logits[0, -1].float().numpy()
    seen = {}
    decoder = decoder_for(vlm)
    decoder.decode(
        embeds[0].float().numpy(), 1, lambda lg: seen.setdefault("l", lg).argmax(), lambda got: True
    )
    assert seen["l"].argmax() == want.argmax()
    assert np.corrcoef(seen["l"], want)[0, 1] > 0.999
    captions = vlm.caption([str(p) for p in photos], max_new_tokens=12, stop=[" in "])
    assert len(captions) == 2 and all(c and " in " not in c for c in captions)
    assert decoder_for(vlm) is decoder  # built once
