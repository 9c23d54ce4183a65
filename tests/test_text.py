import importlib.util

import numpy as np
import pytest

from vlrec.models.text import TextConfig, load_text_embedder

KITTEN, CAT, TRUCK = "a kitten resting on a couch", "a cat on a sofa", "a truck on a highway"


@pytest.fixture(scope="module")
def minilm():
    return load_text_embedder(TextConfig(name="minilm", batch_size=2), "cpu")


@pytest.mark.integration
def test_minilm_is_384d_normalised_and_semantic(minilm):
    v = minilm.embed([KITTEN, CAT, TRUCK])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert minilm.get_config()["dim"] == 384


@pytest.mark.integration
def test_minilm_batching_does_not_change_vectors(minilm):
    texts = [KITTEN, CAT, TRUCK, "black leather shoes", "x"]
    together = minilm.embed(texts)  # batch_size=2 -> 3 batches with padding
    alone = np.concatenate([minilm.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        minilm.embed(KITTEN)


@pytest.mark.integration
def test_glove_mean_of_words_baseline():
    glove = load_text_embedder(TextConfig(name="glove"))
    v = glove.embed([KITTEN, CAT, TRUCK, "zzqxv qqzzx"])
    assert v.shape == (4, 50)
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert not v[3].any()  # no known word: the zero vector


@pytest.mark.integration
def test_a_sentence_transformers_folder_is_embedded_as_its_modules_json_says(tmp_path):
    """Another sentence-transformers model works unchanged: here the packaged MiniLM with its
    pooling switched to the CLS token; the vectors follow the folder's config, not a fixed mean."""
    import json
    import shutil

    import torch
    from transformers import AutoModel, AutoTokenizer

    from vlrec.models.text import minilm_path

    folder = tmp_path / "cls-model"
    shutil.copytree(minilm_path(), folder)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    pooling |= {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    emb = load_text_embedder(TextConfig(path=str(folder), backend="onnx"), "cpu")
    got = emb.embed([KITTEN, TRUCK])
    tok, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        cls = model(**tok([KITTEN, TRUCK], padding=True, return_tensors="pt")).last_hidden_state[:, 0]
    want = torch.nn.functional.normalize(cls, dim=-1).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert emb.get_config()["name"] == "st:cls-model"


@pytest.mark.integration
def test_onnx_backend_gives_the_pytorch_vectors(tmp_path, monkeypatch):
    """text.backend=onnx: MiniLM's transformer runs in ONNX Runtime on a graph exported once per
    weights into the cache, with the same vectors as sentence-transformers; OpenVINO runs the
    same graph (bf16 where the CPU has it) with vectors close to them; without onnxruntime a
    warning and PyTorch."""
    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path))
    texts = [KITTEN, CAT, TRUCK, "black leather shoes for men, size 9, formal", "x"]
    fast = load_text_embedder(TextConfig(batch_size=2, backend="onnx"), "cpu")
    plain = load_text_embedder(TextConfig(batch_size=2, backend="torch"), "cpu")
    got, want = fast.embed(texts), plain.embed(texts)
    assert fast._onnx not in (None, False) and plain._onnx is None
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert len(list((tmp_path / "onnx").glob("text-*.onnx"))) == 1
    load_text_embedder(TextConfig(), "cpu").embed([KITTEN])  # same weights: the same graph
    assert len(list((tmp_path / "onnx").glob("text-*.onnx"))) == 1
    if importlib.util.find_spec("openvino") is not None:
        ov = load_text_embedder(TextConfig(batch_size=2, backend="openvino"), "cpu")
        close = ov.embed(texts)
        assert ov.runtime == "openvino" and type(ov._onnx.session).__name__ == "_OpenVinoSession"
        assert (close * want).sum(1).min() > 0.999
        assert len(list((tmp_path / "onnx").glob("text-*.onnx"))) == 1

    import vlrec.models.text_onnx as to

    def missing(*a, **k):
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(to, "OnnxSentenceEncoder", missing)
    without = load_text_embedder(TextConfig(batch_size=2, backend="onnx"), "cpu")
    with pytest.warns(UserWarning, match="onnxruntime.*PyTorch"):
        np.testing.assert_allclose(without.embed(texts), want, atol=1e-6)
    assert without._onnx is False


def test_a_layout_without_an_onnx_path_stays_in_pytorch():
    """Only Transformer -> mean/CLS Pooling (-> Normalize) goes to ONNX Runtime; e.g. a Dense
    projection after the pooling, or max pooling, keeps sentence-transformers' own forward."""
    from vlrec.models.text_onnx import supported

    def named(kind, **attrs):
        return type(kind, (), attrs)()

    pooling = lambda mode: named("Pooling", pooling_mode=mode, include_prompt=True)  # noqa: E731
    assert supported([named("Transformer"), pooling("mean"), named("Normalize")]) == "mean"
    assert supported([named("Transformer"), pooling("cls")]) == "cls"
    assert supported([named("Transformer"), pooling("max")]) is None
    assert supported([named("Transformer"), pooling("mean"), named("Dense"), named("Normalize")]) is None
