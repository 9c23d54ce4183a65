import json

import numpy as np
import pytest
import torch

from vlrec.adapters.align import AlignConfig, AlignmentHead, ModalityDiscriminator, contrastive_loss


@pytest.mark.parametrize("image_head", ["linear", "mlp", "attn"])
@pytest.mark.parametrize("text_head", ["none", "mlp"])
def test_head_shapes_and_round_trip(tmp_path, image_head, text_head):
    cfg = AlignConfig(image_head=image_head, text_head=text_head, dim=16, hidden=32)
    head = AlignmentHead(cfg, vision_dim=24, text_dim=16).eval()
    patches = torch.randn(3, 9, 24)
    img = head.encode_image(patches)
    txt = head.encode_text(torch.randn(5, 16))
    assert img.shape == (3, 16) and txt.shape == (5, 16)
    assert torch.allclose(img.norm(dim=-1), torch.ones(3), atol=1e-5)
    head.save(tmp_path / "h", metrics={"i2t_R@1": 1.0})
    again, meta = AlignmentHead.load(tmp_path / "h")
    assert torch.equal(again.encode_image(patches), img)
    assert meta["align"]["image_head"] == image_head
    assert json.loads((tmp_path / "h" / "metrics.json").read_text())["i2t_R@1"] == 1.0


def test_text_head_none_needs_the_text_dim():
    with pytest.raises(ValueError, match="align.dim"):
        AlignmentHead(AlignConfig(text_head="none", dim=8), vision_dim=24, text_dim=16)


def test_attn_head_refuses_pooled_features():
    head = AlignmentHead(AlignConfig(image_head="attn", dim=16, hidden=32), 24, 16)
    with pytest.raises(ValueError, match="patch features"):
        head.encode_image(torch.randn(2, 24))


def test_missing_head_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an alignment head folder"):
        AlignmentHead.load(tmp_path)


@pytest.mark.parametrize("mode", ["direct", "adversarial"])
def test_training_aligns_a_synthetic_pairing(mode):
    """Image features are a hidden linear map of text vectors plus noise: InfoNCE must find it."""
    torch.manual_seed(0)
    n, dv, dt = 256, 24, 16
    text = torch.nn.functional.normalize(torch.randn(n, dt), dim=-1)
    mix = torch.randn(dt, dv)
    image = text @ mix + 0.05 * torch.randn(n, dv)
    cfg = AlignConfig(image_head="mlp", text_head="mlp", dim=16, hidden=64, mode=mode, dropout=0.0)
    head = AlignmentHead(cfg, dv, dt)
    disc = ModalityDiscriminator(16) if mode == "adversarial" else None
    params = list(head.parameters()) + (list(disc.parameters()) if disc else [])
    opt = torch.optim.AdamW(params, lr=3e-3)

    def recall_at_1():
        with torch.no_grad():
            sim = head.encode_image(image) @ head.encode_text(text).T
        return (sim.argmax(1) == torch.arange(n)).float().mean().item()

    before = recall_at_1()
    losses = []
    for _ in range(150):
        idx = torch.randperm(n)[:64]
        img, txt = head.encode_image(image[idx]), head.encode_text(text[idx])
        loss = contrastive_loss(img, txt, head.logit_scale, hard_weight=0.5)
        if disc is not None:
            loss = loss + 0.1 * disc(img, txt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) * 0.5
    assert recall_at_1() > max(0.8, before + 0.5)


@pytest.mark.integration
def test_train_align_run_writes_its_promised_files_and_the_loss_falls(tmp_path, monkeypatch):
    """A tiny Flickr8k-style run on sample photos captioned by their titles."""
    from tests.conftest import SAMPLE
    from vlrec.adapters.train.align import train_align
    from vlrec.config import load_config

    monkeypatch.setenv("VLREC_CACHE_DIR", str(tmp_path / "cache"))
    rows = [json.loads(line) for line in (SAMPLE / "catalog.jsonl").open()][:48]
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {
                    "image": str(SAMPLE / r["image"]),
                    "captions": [r["title"], f"{r['baseColour']} {r['articleType']}"],
                }
            )
            + "\n"
            for r in rows
        )
    )
    cfg = load_config(
        None,
        [
            f"align.data={data}",
            f"align.eval_data={data}",
            f"align.out={tmp_path / 'run'}",
            "align.val_images=12",
            "align.epochs=6",
            "align.batch_size=12",
            "align.image_head=mlp",
            "align.hidden=64",
            "align.flip=false",
        ],
    )
    head_dir = train_align(cfg, log=lambda *_: None)
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file()
    assert {p.name for p in head_dir.iterdir()} == {"config.json", "head.safetensors", "metrics.json"}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert any("val_i2t_R@1" in r for r in records)
    final = json.loads((head_dir / "metrics.json").read_text())
    assert 1 <= final["epoch"] <= 6 and "t2i_R@1" in final and final["n_images"] == 48
    head, meta = AlignmentHead.load(head_dir)
    assert meta["vision"] == "efficientnet-lite0" and meta["text"] == "minilm"
