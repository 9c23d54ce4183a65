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
