import json

import numpy as np
import pytest

from vlrec.core.metrics import recall_metrics
from vlrec.data.captions import read_caption_file


def test_recall_and_median_rank_by_hand():
    # 3 images, 2 captions each; the sim matrix is built so ranks are known.
    owner = np.array([0, 0, 1, 1, 2, 2])
    img = np.eye(3, dtype=np.float32)
    txt = np.array([[1, 0, 0], [0.9, 0, 0], [0.5, 0.4, 0], [0, 0.3, 0], [0, 0, 1], [0, 0, 0.8]], np.float32)
    m = recall_metrics(img, txt, owner)
    # image 0: best caption rank 1; image 1: captions 2,3 score 0.4,0.3 for it; no other
    # caption scores higher for image 1 -> rank 1; image 2 -> rank 1.
    assert m["i2t_R@1"] == pytest.approx(100.0)
    # caption 2 (of image 1) scores 0.5 for image 0 > 0.4 for image 1: a miss at R@1.
    assert m["t2i_R@1"] == pytest.approx(100 * 5 / 6)
    assert m["t2i_R@5"] == pytest.approx(100.0)
    assert m["t2i_medr"] == 1.0 and m["n_captions"] == 6


def test_random_vectors_score_near_chance():
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(200), 5)
    m = recall_metrics(rng.normal(size=(200, 16)), rng.normal(size=(1000, 16)), owner)
    assert m["t2i_R@10"] < 15 and m["i2t_R@1"] < 10


def test_caption_file_reader_and_errors(tmp_path):
    f = tmp_path / "caps.jsonl"
    f.write_text(
        json.dumps({"image": "images/a.jpg", "captions": ["x", "y"]})
        + "\n\n"
        + json.dumps({"image": "b.jpg", "captions": ["z"]})
        + "\n"
    )
    images, captions, owner = read_caption_file(f)
    assert images == [tmp_path / "images/a.jpg", tmp_path / "b.jpg"]
    assert captions == ["x", "y", "z"] and owner.tolist() == [0, 0, 1]
    f.write_text(json.dumps({"image": "a.jpg", "captions": []}) + "\n")
    with pytest.raises(ValueError, match=r"caps\.jsonl:1"):
        read_caption_file(f)
