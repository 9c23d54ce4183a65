"""The reader's gates: when a field's answer is stated, and refitting them on a dev split."""

import json
from types import SimpleNamespace

import numpy as np
from scipy.stats import beta

from vlrec.adapters.reader import fit_gate


def _answers():
    """1,000 answers by confidence: the top 600 right but every 50th (2 % wrong), the rest wrong."""
    conf = np.linspace(1.0, 0.01, 1000)
    correct = np.zeros(1000, bool)
    correct[:600] = True
    correct[49:600:50] = False
    return conf, correct


def test_a_gate_with_confidence_is_stricter_and_its_bound_holds():
    conf, correct = _answers()
    seen = fit_gate(conf, correct, max_wrong=0.05, level=0.0)
    sure = fit_gate(conf, correct, max_wrong=0.05, level=0.9)
    assert sure > seen  # the rate seen may sit at the limit; its upper bound may not
    stated = conf >= sure
    k, n = int((~correct[stated]).sum()), int(stated.sum())
    assert beta.ppf(0.9, k + 1, n - k) <= 0.05 and n >= 20
    assert (~correct[conf >= seen]).mean() <= 0.05  # the old rule: the rate seen


def test_too_few_answers_are_never_sure_enough_to_state():
    conf = np.linspace(1.0, 0.5, 30)
    correct = np.ones(30, bool)  # all right, but 30 cannot bound the rate under 5 % at 90 %
    assert fit_gate(conf, correct, level=0.9) == 1.0
    assert fit_gate(conf, correct, level=0.0) == 0.5  # the rate seen states all of them
    assert fit_gate(np.linspace(1.0, 0.5, 60), np.ones(60, bool), level=0.9) == 0.5


def test_refit_gates_rewrites_only_the_gates_of_the_saved_model(tmp_path):
    from vlrec.adapters.train.vlm_config import VLMTrainConfig
    from vlrec.eval.attributes import refit_gates

    fusion = {
        "gender": {"weights": {"head": 1.0, "knn": 0.5}, "gate": 0.1, "k": 10},
        "caption": {"lm_weight": 1.0, "k": 90},
    }
    (tmp_path / "config.json").write_text(json.dumps({"format": "vlrec-vlm/1", "fusion": fusion}))
    conf, correct = _answers()
    rows = [{"id": str(i), "gender": {"confidence": float(c), "ok": bool(ok)}} for i, (c, ok) in
            enumerate(zip(conf, correct))]  # fmt: skip
    cfg = SimpleNamespace(vlm=SimpleNamespace(adapter=str(tmp_path)), train=VLMTrainConfig())
    lines = []
    path = refit_gates(cfg, rows, log=lines.append)
    meta = json.loads(path.read_text())
    assert meta["fusion"]["gender"]["gate"] == fit_gate(conf, correct, 0.05, level=0.9)
    assert meta["fusion"]["gender"]["weights"] == fusion["gender"]["weights"]
    assert meta["fusion"]["caption"] == fusion["caption"]  # not a field: untouched
    assert meta["format"] == "vlrec-vlm/1" and "1000 dev items" in meta["gates_fitted_on"]
    assert len(lines) == 1 and lines[0].startswith("gender: gate 0.100 ->")


def test_gate_states_only_answers_that_are_rarely_wrong():
    from vlrec.adapters.reader import fit_gate

    conf = np.linspace(0.01, 1.0, 100)
    correct = conf > 0.5  # confident answers are right, the rest wrong
    gate = fit_gate(conf, correct, max_wrong=0.05)
    stated = conf >= gate
    assert (~correct[stated]).mean() <= 0.05 and stated.sum() >= 50
    assert fit_gate(conf, np.zeros(100, bool)) == 1.0  # never right: never stated
