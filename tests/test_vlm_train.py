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
    for name in (
        "config.yaml",
        "metrics.png",
        "summary.json",
        "vlm/config.json",
        "vlm/projector.safetensors",
    ):
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


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_qlora_trains_on_another_hf_causal_lm(tmp_path, model_type):
    """ "Any HF model path": the same recipe puts LoRA on a tiny random Llama or Qwen2 built
    from its config (4-bit base), learns, and saves a peft folder that plain peft loads."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tests.conftest import build_tiny_lm
    from vlrec.adapters.train.vlm import train_vlm

    lm_dir = build_tiny_lm(tmp_path / model_type, model_type=model_type)
    out = tmp_path / "run"
    cfg = _cfg(tmp_path, lm_dir, out, stage="instruct", max_steps=4, lr=0.01, lora_lr=0.01)
    cfg.lm.quantization = "nf4"
    train_vlm(cfg, log=lambda *a: None)
    losses = _losses(out)
    assert sorted(losses) == [1, 2, 3, 4] and losses[4] < losses[1]
    adapter = out / "vlm" / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] > 0
    base = AutoModelForCausalLM.from_pretrained(str(lm_dir))
    assert base.config.model_type == model_type
    model = PeftModel.from_pretrained(base, str(adapter))
    lora = [n for n, _ in model.named_parameters() if "lora_A" in n]
    assert lora and any("q_proj" in n for n in lora)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(tmp_path, lm_dir, out, processes, batch_size, caps, extra=(), env_extra=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    args = [
        "-m", "vlrec", "train", "vlm", str(repo / "configs" / "train" / "stage2_qlora.yaml"),
        f"lm.path={lm_dir}", "lm.quantization=none", "runtime.device=cpu", "runtime.threads=1",
        "vlm.image_tokens=4", "vlm.lora_dropout=0", "train.init=", f"train.caption_data={caps}",
        f"train.caption_eval={caps}", "train.captions=-1", "train.vqa=0", "train.intents=0", "train.redial=0",
        f"train.batch_size={batch_size}", "train.max_steps=3", "train.eval_samples=2", "train.log_every=1",
        "train.warmup=0", "train.lr=0.01", "train.lora_lr=0.01", f"train.out={out}", *extra,
    ]  # fmt: skip
    if processes > 1:
        torchrun = str(Path(sys.executable).parent / "torchrun")
        cmd = [torchrun, "--nproc_per_node", str(processes), "--master_port", str(_free_port()), *args]
    else:
        cmd = [sys.executable, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    run = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return _losses(out)


@pytest.mark.integration
@pytest.mark.parametrize("sharding", ["ddp", "fsdp"])
def test_two_processes_over_gloo_match_one_process_on_the_same_global_batch(tmp_path, tiny_lm_dir, sharding):
    """DDP and FSDP2 on CPU: 2 processes x batch 2 follow the same loss curve as 1 process x
    batch 4 (the same samples each step; every caption has the same number of tokens, so the mean
    of the two halves' losses is the whole batch's loss), and end with the same weights."""
    from safetensors.torch import load_file

    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:8]
    words = ["a red shirt", "a blue shoe", "a black watch", "a white bag"]
    caps = tmp_path / "caps.jsonl"
    caps.write_text("".join(
        json.dumps({"image": str(SAMPLE / r["image"]), "captions": [words[i % 4], words[(i + 1) % 4]]}) + "\n"
        for i, r in enumerate(rows)
    ))  # fmt: skip
    one = _launch(tmp_path, tiny_lm_dir, tmp_path / "one", 1, 4, caps)
    extra = ["train.fsdp=true"] if sharding == "fsdp" else []
    two = _launch(tmp_path, tiny_lm_dir, tmp_path / "two", 2, 2, caps, extra=extra)
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["fsdp"] == (sharding == "fsdp")
    assert sorted(one) == sorted(two) == [1, 2, 3]
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=1e-4), (step, one, two)
    assert one[3] < one[1]
    a = load_file(str(tmp_path / "one" / "vlm" / "projector.safetensors"))
    b = load_file(str(tmp_path / "two" / "vlm" / "projector.safetensors"))
    for k in a:
        assert (a[k] - b[k]).abs().max() < 1e-4, k
    la = load_file(str(tmp_path / "one" / "vlm" / "adapter" / "adapter_model.safetensors"))
    lb = load_file(str(tmp_path / "two" / "vlm" / "adapter" / "adapter_model.safetensors"))
    assert sorted(la) == sorted(lb) and any((v != 0).any() for k, v in la.items() if "lora_B" in k)
    for k in la:
        assert (la[k] - lb[k]).abs().max() < 1e-4, k
