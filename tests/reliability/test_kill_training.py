"""``kill -9`` of a LoRA training run, mid-run and while a checkpoint is being written: the rerun
resumes from the newest complete checkpoint (never a half-written one) and ends with the loss
curve of an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO
from tests.test_vlm_train import _cfg, _losses

COMMON = dict(stage="instruct", max_steps=6, checkpoint_every=2, lr=0.01, lora_lr=0.01)

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    import vlrec.adapters.train.vlm as recipe
    from tests.test_vlm_train import _cfg

    mode, at = {mode!r}, {at}
    if mode == "during-checkpoint":  # die after the weights, before the optimizer and state: torn
        import safetensors.torch as st
        real_save, saves = st.save_file, [0]
        def save(tensors, path, *a, **k):
            real_save(tensors, path, *a, **k)
            saves[0] += 1
            if saves[0] == at:
                os.kill(os.getpid(), signal.SIGKILL)
        st.save_file = save
    else:  # die in the middle of a step after the checkpoint at step 2
        real_step, steps = recipe.VLMRecipe.train_step, [0]
        def train_step(self):
            steps[0] += 1
            if steps[0] == at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_step(self)
        recipe.VLMRecipe.train_step = train_step
    cfg = _cfg(Path({tmp!r}), Path({lm!r}), Path({out!r}), **{common!r})
    recipe.train_vlm(cfg, log=lambda *a: None)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("mode,at", [("mid-run", 4), ("during-checkpoint", 3)])
def test_a_killed_training_run_resumes_to_the_uninterrupted_curve(tmp_path, tiny_lm_dir, mode, at):
    from vlrec.adapters.train.vlm import train_vlm

    straight = tmp_path / "straight"
    train_vlm(_cfg(tmp_path, tiny_lm_dir, straight, **COMMON), log=lambda *a: None)
    killed = tmp_path / "killed"
    child = CHILD.format(repo=str(REPO), mode=mode, at=at, tmp=str(tmp_path), lm=str(tiny_lm_dir),
                         out=str(killed), common=COMMON)  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    ckpts = sorted(p.name for p in (killed / "checkpoints").iterdir())
    if mode == "during-checkpoint":  # the second checkpoint (step 4) was torn: weights written, no state
        assert ckpts == [".step-0000004.tmp", "step-0000002"], ckpts
        assert not (killed / "checkpoints" / ".step-0000004.tmp" / "state.json").exists()
    else:
        assert ckpts == ["step-0000002"], ckpts
    logs: list[str] = []
    train_vlm(_cfg(tmp_path, tiny_lm_dir, killed, **COMMON), log=logs.append)
    assert any("resuming" in m and "step 2 (step-0000002)" in m for m in logs), logs
    a, b = _losses(straight), _losses(killed)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]  # each step logged once
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-5, abs=1e-6), step
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["steps"] == 6
