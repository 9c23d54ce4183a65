"""Training runs on a tiny random LM: the loop, checkpoints and exact resumption."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE


def _caption_file(tmp_path, n=8):
    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:n]
    lines = [
        json.dumps({"image": str(SAMPLE / r["image"]), "captions": [r["title"].lower(), "a red shirt"]})
        for r in rows
    ]
    path = tmp_path / "caps.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cfg(tmp_path, tiny_lm_dir, out, **train):
    from vlrec.config import load_config

    caps = _caption_file(tmp_path)
    overrides = [
        f"lm.path={tiny_lm_dir}",
        "lm.quantization=none",
        "runtime.device=cpu",
        "vlm.adapter=",
        "vlm.image_tokens=4",
        f"train.caption_data={caps}",
        f"train.caption_eval={caps}",
        "train.captions=-1",
        "train.batch_size=2",
        "train.eval_samples=4",
        "train.log_every=1",
        f"train.out={out}",
        *[f"train.{k}={v}" for k, v in train.items()],
    ]
    return load_config(None, overrides)


def _losses(out):
    return {
        r["step"]: r["loss"]
        for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
        if "loss" in r
    }


@pytest.mark.parametrize("stage", ["align", "instruct"])
def test_killed_run_resumes_to_the_same_loss(tmp_path, tiny_lm_dir, stage):
    from vlrec.adapters.train.vlm import _Stop, train_vlm

    common = dict(stage=stage, max_steps=6, checkpoint_every=3, lr=0.01, lora_lr=0.01)
    straight = tmp_path / "straight"
    train_vlm(_cfg(tmp_path, tiny_lm_dir, straight, **common), log=lambda *a: None)
    resumed = tmp_path / "resumed"
    with pytest.raises(_Stop):
        train_vlm(_cfg(tmp_path, tiny_lm_dir, resumed, **common), log=lambda *a: None, stop_after=5)
    assert (resumed / "checkpoints" / "step-0000003").is_dir()
    train_vlm(_cfg(tmp_path, tiny_lm_dir, resumed, **common), log=lambda *a: None)
    a, b = _losses(straight), _losses(resumed)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    assert b[6] == pytest.approx(a[6], rel=1e-6, abs=1e-7)
    assert a[6] < a[1]  # it learned something
    for name in ("config.yaml", "metrics.png", "summary.json", "vlm/vlm.json", "vlm/projector.safetensors"):
        assert (straight / name).is_file(), name
    assert (straight / "vlm" / "adapter").is_dir() == (stage == "instruct")


@pytest.mark.integration
def test_two_cpu_processes_train_through_accelerate_launch(tmp_path, tiny_lm_dir):
    """The distributed path with two CPU processes, two steps.

    ``accelerate launch`` starts several CPU processes only through MPI (absent here);
    torchrun sets the same environment, and the training loop's ``Accelerator`` then
    runs as MULTI_CPU over gloo: the code path a multi-GPU launch takes."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    caps = _caption_file(tmp_path)
    out = tmp_path / "ddp"
    cmd = [
        str(Path(sys.executable).parent / "torchrun"), "--nproc_per_node", "2", "--master_port", "29533",
        "-m", "vlrec", "train", "vlm", str(repo / "configs" / "train" / "stage2_qlora.yaml"),
        f"lm.path={tiny_lm_dir}", "lm.quantization=none", "runtime.device=cpu", "runtime.threads=1",
        "vlm.image_tokens=4", "train.init=", f"train.caption_data={caps}", f"train.caption_eval={caps}",
        "train.captions=-1", "train.vqa=0", "train.intents=0", "train.redial=0", "train.batch_size=2",
        "train.max_steps=2", "train.eval_samples=2", "train.log_every=1", f"train.out={out}",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    assert summary["samples"] == 2 * 2 * 2  # 2 steps x 2 processes x batch 2
    assert (out / "vlm" / "adapter").is_dir()


def test_a_checkpoint_is_safetensors_and_json_and_restores_the_optimizer_exactly(tmp_path):
    """No pickle anywhere in a checkpoint: weights and optimizer tensors in safetensors, the
    rest in JSON; a restored optimizer and scheduler take the same next step as the originals."""
    import random

    import numpy as np
    import torch

    from vlrec.adapters.train.checkpoints import read_state, rng_state, set_rng_state, write_state

    def make():
        torch.manual_seed(0)
        p = torch.nn.Parameter(torch.randn(4, 3))
        opt = torch.optim.AdamW([p], lr=0.1, betas=(0.8, 0.99))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
        return p, opt, sched

    p, opt, sched = make()
    for _ in range(3):
        (p**2).sum().backward()
        opt.step(), sched.step(), opt.zero_grad()
    write_state(tmp_path / "c", {"w": p}, opt, sched, step=3, rng=rng_state())
    assert {f.name for f in (tmp_path / "c").iterdir()} == {
        "weights.safetensors", "optimizer.safetensors", "state.json"}  # fmt: skip
    draws = (random.random(), float(np.random.rand()), float(torch.rand(())))

    q, opt2, sched2 = make()
    weights, meta = read_state(tmp_path / "c", opt2, sched2)
    with torch.no_grad():
        q.copy_(weights["w"])
    set_rng_state(meta["rng"])
    assert meta["step"] == 3
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == draws
    for x, o, s in ((p, opt, sched), (q, opt2, sched2)):
        (x**2).sum().backward()
        o.step(), s.step()
    torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert sched.get_last_lr() == sched2.get_last_lr()
    with pytest.raises(ValueError, match="cannot be read"):
        read_state(tmp_path / "missing")
