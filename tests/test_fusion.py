import numpy as np
import pytest

from vlrec.retrieval.fusion import FUSIONS, fuse, fused_dim


def _unit(x):
    x = np.asarray(x, np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


IMG = _unit([[1, 0, 0, 0], [0, 1, 0, 0]])
TXT = _unit([[0, 0, 1, 0], [0, 1, 1, 0]])


@pytest.mark.parametrize("method", FUSIONS)
def test_every_fusion_is_normalised_and_has_its_dim(method):
    rng = np.random.default_rng(0)
    img, txt = _unit(rng.normal(size=(2, 4))), _unit(rng.normal(size=(2, 4)))
    out = fuse(img, txt, method)
    assert out.shape == (2, fused_dim(method, 4))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_each_fusion_computes_what_it_says():
    np.testing.assert_allclose(fuse(IMG, TXT, "mean")[0], _unit([1, 0, 1, 0]), atol=1e-6)
    np.testing.assert_allclose(fuse(IMG, TXT, "concat", 0.5)[0], _unit([1, 0, 0, 0, 0, 0, 1, 0]), atol=1e-6)
    np.testing.assert_allclose(fuse(IMG, TXT, "weighted_sum", 0.75)[0], _unit([0.75, 0, 0.25, 0]), atol=1e-6)
    # Hadamard: only the dimensions both modalities share survive.
    np.testing.assert_allclose(fuse(IMG, TXT, "product")[1], [0, 1, 0, 0], atol=1e-6)


@pytest.mark.parametrize("method", FUSIONS)
def test_rows_without_an_image_fall_back_to_text(method):
    out = fuse(IMG, TXT, method, has_image=np.array([False, True]))
    text_only = fuse(None, TXT[:1], method)
    np.testing.assert_allclose(out[0], text_only[0], atol=1e-6)
    assert np.abs(out[0] - fuse(IMG, TXT, method)[0]).max() > 1e-3


def test_image_weight_moves_the_fused_vector():
    near_image = fuse(IMG, TXT, "weighted_sum", 0.9)
    near_text = fuse(IMG, TXT, "weighted_sum", 0.1)
    assert (near_image[0] @ IMG[0]) > (near_text[0] @ IMG[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown fusion 'max'"):
        fuse(IMG, TXT, "max")
    with pytest.raises(ValueError, match="image_weight"):
        fuse(IMG, TXT, "concat", 1.5)
    with pytest.raises(ValueError, match="needs image or text"):
        fuse(None, None)
