"""The reader's colour probe: the Lab descriptor tells dark shades apart, and the probe fitted on
it reads colours it was shown."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image


def _photo(rgb, size=96, item=0.6):
    """A product photo: a coloured square on a white studio background."""
    img = Image.new("RGB", (size, size), (255, 255, 255))
    side = int(size * item)
    img.paste(Image.new("RGB", (side, side), rgb), ((size - side) // 2, (size - side) // 2))
    return img


def test_lab_descriptor_separates_dark_shades_and_reads_the_foreground():
    from vlrec.models.colour import LAB_DIM, colour_lab

    shades = {"black": (10, 10, 12), "navy": (20, 30, 80), "charcoal": (60, 60, 62), "brown": (70, 40, 20)}
    lab = colour_lab([_photo(c) for c in shades.values()])
    assert lab.shape == (4, LAB_DIM) and torch.isfinite(lab).all()
    hist = lab[:, : LAB_DIM - 20]
    # each shade falls in its own Lab bin (nearly its whole foreground; the edges blend with white) ...
    assert (hist.max(1).values > 0.95).all() and len(set(hist.argmax(1).tolist())) == 4
    share = colour_lab([_photo((200, 30, 30), item=0.5)])[0, -2]
    assert share == pytest.approx(0.25, abs=0.03)  # the foreground's share of the photo
    assert colour_lab([]).shape == (0, LAB_DIM)


def test_colour_probe_fits_reads_and_round_trips():
    from vlrec.adapters.colour_probe import ColourProbe
    from vlrec.models.colour import colour_lab

    rng = np.random.default_rng(0)
    colours = {
        "Black": (12, 12, 14),
        "Navy Blue": (22, 32, 84),
        "Brown": (74, 42, 22),
        "Grey": (128, 128, 128),
    }
    names = list(colours)
    photos, y = [], []
    for j, rgb in enumerate(colours.values()):
        for _ in range(12):
            jitter = np.clip(np.array(rgb) + rng.integers(-8, 9, 3), 0, 255)
            photos.append(_photo(tuple(int(v) for v in jitter), item=float(rng.uniform(0.4, 0.8))))
            y.append(j)
    x = colour_lab(photos).numpy()
    fields = {"baseColour": [*names, "Pink"]}  # a value no training photo has
    y = np.array(y)
    y[0] = -100  # unknown labels are skipped
    probe = ColourProbe.fit(x, {"baseColour": y}, fields, c=1.0)
    probs = probe(torch.from_numpy(x))["baseColour"].softmax(-1)
    assert (probs.argmax(1).numpy()[1:] == y[1:]).mean() == 1.0
    assert float(probs[:, 4].max()) < 1e-6  # never seen: never read
    again = ColourProbe.from_config(probe.config())
    again.load_state_dict(probe.state_dict())
    torch.testing.assert_close(
        again(torch.from_numpy(x))["baseColour"], probe(torch.from_numpy(x))["baseColour"]
    )
    with pytest.raises(ValueError, match="reads"):
        probe(torch.zeros(2, 5))
    # two values only: the softmax pair matches scikit-learn's one-logit model
    two = ColourProbe.fit(x[y >= 2], {"baseColour": y[y >= 2] - 2}, {"baseColour": ["Brown", "Grey"]}, c=1.0)
    assert (two(torch.from_numpy(x[y >= 2]))["baseColour"].argmax(1).numpy() == y[y >= 2] - 2).all()
