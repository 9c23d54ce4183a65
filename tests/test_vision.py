import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import SAMPLE
from vlrec.core.images import ImageError
from vlrec.models.vision import VisionConfig, load_vision_encoder

CAT_CLASSES = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


def _photos(n):
    return sorted((SAMPLE / "images").glob("*.jpg"))[:n]


@pytest.mark.parametrize(
    "name, size, patches", [("efficientnet-lite0", 224, 49), ("efficientnet-lite2", 260, 81)]
)
def test_random_encoder_shapes_follow_the_variant(name, size, patches):
    enc = load_vision_encoder(VisionConfig(name=name, pretrained=False, batch_size=2), "cpu")
    assert enc.image_size == size and enc.num_patches == patches and enc.feature_dim == 1280
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    feats = enc.encode(_photos(3))
    assert feats.patches.shape == (3, patches, 1280)
    assert feats.pooled.shape == (3, 1280)
    torch.testing.assert_close(feats.pooled, feats.patches.mean(1))


def test_preprocess_resizes_any_shape_to_the_variant_size():
    enc = load_vision_encoder(VisionConfig(pretrained=False), "cpu")
    wide = Image.new("RGB", (640, 100), (255, 0, 0))
    tall = Image.new("L", (30, 500), 200)
    pixels = enc.preprocess([wide, tall])
    assert pixels.shape == (2, 3, 224, 224)
    # (255/255 - 127/255) / (128/255) = 1.0 for a saturated red channel.
    assert torch.allclose(pixels[0, 0], torch.ones(224, 224))


def test_batching_does_not_change_features():
    enc = load_vision_encoder(VisionConfig(pretrained=False, batch_size=4), "cpu")
    photos = _photos(5)
    together = enc.encode(photos).pooled
    alone = torch.cat([enc.encode([p]).pooled for p in photos])
    torch.testing.assert_close(together, alone, atol=1e-4, rtol=1e-4)


def test_bad_image_names_the_file(tmp_path):
    enc = load_vision_encoder(VisionConfig(pretrained=False), "cpu")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageError, match="broken.jpg"):
        enc.encode([bad])


@pytest.mark.integration
@pytest.mark.parametrize("name", ["efficientnet-lite0", "efficientnet-lite2"])
def test_packaged_weights_see_a_cat(name):
    from skimage import data

    enc = load_vision_encoder(VisionConfig(name=name), "cpu")
    logits = enc.classify([Image.fromarray(data.chelsea())])
    assert logits.shape == (1, 1000)
    assert int(logits.argmax()) in CAT_CLASSES
    probs = logits.softmax(-1)[0]
    assert float(probs[list(CAT_CLASSES)].sum()) > 0.5


@pytest.mark.integration
def test_pretrained_features_put_same_kind_products_together():
    import json

    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()]
    by_type = {}
    for row in rows:
        by_type.setdefault(row["articleType"], []).append(SAMPLE / row["image"])
    kinds = ["Watches", "Sunglasses", "Flip Flops", "Belts"]
    paths = [p for k in kinds for p in by_type[k][:4]]
    labels = np.repeat(np.arange(len(kinds)), 4)
    enc = load_vision_encoder(VisionConfig(), "cpu")
    x = torch.nn.functional.normalize(enc.encode(paths).pooled, dim=-1)
    sim = (x @ x.T).numpy()
    same = sim[labels[:, None] == labels[None, :]].mean()
    diff = sim[labels[:, None] != labels[None, :]].mean()
    assert same > diff + 0.1


def test_batchnorm_folding_keeps_the_function():
    folded = load_vision_encoder(VisionConfig(fold_batchnorm=True), "cpu")
    plain = load_vision_encoder(VisionConfig(fold_batchnorm=False), "cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    photos = _photos(4)
    a, b = folded.encode(photos), plain.encode(photos)
    torch.testing.assert_close(a.patches, b.patches, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(folded.classify(photos), plain.classify(photos), atol=2e-3, rtol=1e-3)


@pytest.mark.integration
def test_compiled_encoder_gives_the_eager_features_and_only_without_grad():
    """vision.compile: torch.compile (Inductor) of the frozen encoder, the supported successor
    of TorchScript; a forward that needs gradients stays eager."""
    enc = load_vision_encoder(VisionConfig(batch_size=3, compile=True, backend="torch"), "cpu")
    pixels = enc.preprocess(_photos(3))
    with torch.no_grad():
        enc.config.compile = False
        eager = enc(pixels).patches
        assert enc._compiled is None
        enc.config.compile = True
        fast = enc(pixels).patches
    assert enc._compiled is not None  # built on the first no-grad forward
    torch.testing.assert_close(fast, eager, atol=1e-4, rtol=1e-4)
    x = pixels[:1].clone().requires_grad_(True)
    enc(x).pooled.sum().backward()  # grad enabled: the eager path, which can backpropagate
    assert x.grad is not None and x.grad.abs().sum() > 0


def _beside_torch(backend: str):
    """A random-weight encoder on ``backend``, the same weights in PyTorch, and three photos."""
    torch.manual_seed(0)
    fast = load_vision_encoder(VisionConfig(batch_size=3, pretrained=False, backend=backend), "cpu")
    plain = load_vision_encoder(VisionConfig(batch_size=3, pretrained=False, backend="torch"), "cpu")
    plain.load_state_dict(fast.state_dict())
    return fast, plain, _photos(3)


@pytest.mark.integration
def test_onnx_backend_gives_the_pytorch_features_and_backpropagates_in_pytorch(tmp_path, monkeypatch):
    """vision.backend=onnx: no-grad forwards run through ONNX Runtime on a graph exported once per
    weights into the cache; gradients, and machines without onnxruntime, stay in PyTorch."""
    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path))
    fast, plain, photos = _beside_torch("onnx")
    a, b = fast.encode(photos), plain.encode(photos)
    assert fast._onnx not in (None, False) and plain._onnx is None
    torch.testing.assert_close(a.patches, b.patches, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a.pooled, b.pooled, atol=1e-4, rtol=1e-4)
    assert a.mid is None
    am, bm = (
        fast.encode(photos, mid=True).mid,
        plain.encode(photos, mid=True).mid,
    )  # the fine-tuned tail's input
    assert am.shape == (3, 112, 14, 14) and fast.cut == 11
    torch.testing.assert_close(am, bm, atol=1e-4, rtol=1e-4)
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 1  # exported once, keyed by the weights
    again = load_vision_encoder(VisionConfig(batch_size=3, pretrained=False, backend="onnx"), "cpu")
    again.encode(photos[:1])
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2  # never a stale graph for new weights
    x = fast.preprocess(photos[:1]).requires_grad_(True)
    fast(x).pooled.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0

    import vlrec.models.vision_onnx as vo

    def missing(*a, **k):
        raise ImportError("needs onnxruntime")

    monkeypatch.setattr(vo, "OnnxFeatures", missing)
    without = load_vision_encoder(VisionConfig(batch_size=3, pretrained=False, backend="onnx"), "cpu")
    without.load_state_dict(plain.state_dict())
    with pytest.warns(UserWarning, match="onnxruntime.*PyTorch"):
        c = without.encode(photos)
    assert without._onnx is False
    torch.testing.assert_close(c.pooled, b.pooled)


@pytest.mark.integration
def test_openvino_backend_runs_the_same_graph_close_to_pytorch(tmp_path, monkeypatch):
    """vision.backend=openvino: the same exported graph compiled by OpenVINO (bf16 where the CPU
    has it), features pointing where PyTorch's do; ``auto`` picks it only where the CPU computes
    bf16 natively; without openvino a warning and ONNX Runtime."""
    pytest.importorskip("openvino")
    import vlrec.models.vision_onnx as vo

    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path))
    ov_enc, plain, photos = _beside_torch("openvino")
    a, b = ov_enc.encode(photos, mid=True), plain.encode(photos, mid=True)
    assert ov_enc.runtime == "openvino" and type(ov_enc._onnx.session).__name__ == "_OpenVinoSession"
    assert torch.nn.functional.cosine_similarity(a.pooled, b.pooled).min() > 0.99
    assert a.patches.shape == b.patches.shape and a.mid.shape == b.mid.shape
    assert (a.mid - b.mid).norm() / b.mid.norm() < 0.1
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 1  # the ONNX Runtime backend's graph

    import openvino

    for caps, want in ((["FP32", "BF16"], "openvino"), (["FP32"], "onnx")):
        vo.resolve_runtime.cache_clear()
        monkeypatch.setattr(openvino.Core, "get_property", lambda self, dev, key, caps=caps: caps)
        assert load_vision_encoder(VisionConfig(pretrained=False), "cpu").runtime == want
    vo.resolve_runtime.cache_clear()
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed
    with pytest.warns(UserWarning, match="openvino.*ONNX Runtime"):
        assert (
            load_vision_encoder(VisionConfig(pretrained=False, backend="openvino"), "cpu").runtime == "onnx"
        )
    assert load_vision_encoder(VisionConfig(pretrained=False), "cpu").runtime == "onnx"
    vo.resolve_runtime.cache_clear()


@pytest.mark.integration
def test_int8_graph_is_calibrated_once_and_stays_close_to_fp32(tmp_path, monkeypatch):
    """vision.int8=true: an int8 copy of the ONNX graph, quantized once (static, calibrated on the
    bundled sample photos) and reused; its features point where fp32's do, and the feature cache
    keeps the two apart."""
    from tests.conftest import SAMPLE
    from vlrec.models.features import image_features

    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path))
    photos = sorted((SAMPLE / "images").glob("*.jpg"))[-12:]
    fp32 = load_vision_encoder(VisionConfig(), "cpu")
    int8 = load_vision_encoder(VisionConfig(int8=True), "cpu")
    a, b = fp32.encode(photos).pooled, int8.encode(photos).pooled
    # the int8 graph runs where fp32 does (OpenVINO's int8 kernels where auto picks OpenVINO)
    assert int8.runtime == fp32.runtime
    assert type(int8._onnx.session).__name__ == type(fp32._onnx.session).__name__
    onnx_int8 = load_vision_encoder(VisionConfig(int8=True, backend="onnx"), "cpu")
    assert onnx_int8.runtime == "onnx" and onnx_int8.encode(photos[:1]).pooled.shape == a[:1].shape
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    assert cos.min() > 0.97 and not torch.equal(a, b)
    assert len(list((tmp_path / "onnx").glob("*-int8-*.onnx"))) == 1
    load_vision_encoder(VisionConfig(int8=True), "cpu").encode(photos[:1])
    assert len(list((tmp_path / "onnx").glob("*-int8-*.onnx"))) == 1  # quantized once
    got_a = image_features(fp32, photos[:3], keep_patches=False)["pooled"]
    got_b = image_features(int8, photos[:3], keep_patches=False)["pooled"]
    assert not torch.equal(got_a, got_b)  # two cache entries, never one read for the other
