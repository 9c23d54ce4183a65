"""Building a VLM (vision encoder + projector + LoRA on the quantized LM), loading a saved one
(the shipped ``vlrec/assets/vlm/default`` by default), and exporting it with LoRA merged.

A saved VLM is a folder::

    config.json              # VLMConfig, vision name, LM path/quantization, dims (vlm.json before)
    projector.safetensors
    heads.safetensors        # attribute heads (when trained)
    tail.safetensors         # fine-tuned last stage of the vision encoder with field classifiers (when trained)
    probe.safetensors        # the reader's colour probe over Lab descriptors (when fitted)
    adapter/                 # peft LoRA adapter (absent for a projector-only or merged model)

``vlm.adapter`` may also name a Hugging Face Hub repository (``owner/name``) holding such a
folder: it is fetched with ``huggingface_hub.snapshot_download`` (cached; offline it must already
be in the cache). :meth:`VisionLanguageModel.push_to_hub` uploads one."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Literal, Protocol

import torch

from vlrec.adapters.projector import COLOUR_DIM, Projector, lm_embedding_rms
from vlrec.adapters.vlm import VisionLanguageModel, VLMConfig
from vlrec.core.config import from_dict
from vlrec.core.runtime import RuntimeConfig
from vlrec.models.colour import HIST_DIM
from vlrec.models.lm import LMConfig, LoadedLM
from vlrec.models.vision import VisionConfig

ADAPTER_FILE = "adapter_model.safetensors"


ADAPTER_INT8_FILE = "adapter_model.int8.safetensors"


def quantize_adapter(folder: str | Path) -> Path:
    """Replace a peft adapter's weights file by an int8 one: each 2-D matrix row-wise symmetric
    (``round(w / s)``, ``s = max|row| / 127`` kept in fp16 as ``NAME.scale``), other tensors
    in fp16. Returns the new file."""
    from safetensors.torch import load_file, save_file

    folder = Path(folder)
    src = folder / ADAPTER_FILE
    out = int8_rows(load_file(str(src)))
    dst = folder / ADAPTER_INT8_FILE
    tmp = dst.with_suffix(".tmp")
    save_file(out, str(tmp), metadata={"format": "pt", "vlrec": "int8-rowwise/1"})
    tmp.replace(dst)
    src.unlink()
    return dst


def int8_rows(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each weight of 2 or more dimensions row-wise symmetric int8 (one row per output
    channel: ``round(w / s)``, ``s = max|row| / 127`` kept in fp16 as ``NAME.scale``); other
    tensors in fp16. :func:`from_int8_rows` undoes it."""
    out = {}
    for name, w in state.items():
        w = w.float()
        if w.dim() >= 2:
            scale = (w.abs().flatten(1).amax(dim=1) / 127.0).clamp_min(1e-12).half()
            scale = scale.view(-1, *([1] * (w.dim() - 1)))
            out[name] = torch.round(w / scale.float()).clamp_(-127, 127).to(torch.int8)
            out[name + ".scale"] = scale
        else:
            out[name] = w.half()
    return out


def from_int8_rows(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fp32 weights from :func:`int8_rows` (a state dict without int8 tensors passes through as fp32)."""
    return {
        name: (w.float() * state[name + ".scale"].float()) if w.dtype == torch.int8 else w.float()
        for name, w in state.items()
        if not (
            name.endswith(".scale")
            and getattr(state.get(name[: -len(".scale")]), "dtype", None) == torch.int8
        )
    }


def adapter_folder(folder: str | Path) -> Path:
    """The peft-loadable folder of a saved adapter: itself, or for an int8 one
    (:func:`quantize_adapter`) a dequantized fp32 copy made once in the cache, keyed by the
    file's sha256 (written to a temporary folder and renamed, so it is never half there)."""
    import hashlib
    import shutil

    from safetensors.torch import load_file, save_file

    from vlrec.core.runtime import cache_dir

    folder = Path(folder)
    if (folder / ADAPTER_FILE).is_file() or not (folder / ADAPTER_INT8_FILE).is_file():
        return folder
    digest = hashlib.sha256((folder / ADAPTER_INT8_FILE).read_bytes()).hexdigest()[:16]
    target = cache_dir() / "adapters" / digest
    if (target / ADAPTER_FILE).is_file():
        return target
    state = from_int8_rows(load_file(str(folder / ADAPTER_INT8_FILE)))
    tmp = target.parent / f".{digest}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy(folder / "adapter_config.json", tmp / "adapter_config.json")
    save_file(state, str(tmp / ADAPTER_FILE), metadata={"format": "pt"})
    try:
        tmp.replace(target)
    except OSError:  # another process got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


BASE_MODEL_ID = "google/gemma-3-270m"
"""The Hugging Face id of the packaged base LM: what exported adapters name as their base."""


def export_peft(adapter: str | Path, folder: str | Path, base_model: str = BASE_MODEL_ID) -> Path:
    """Write a standard peft adapter folder (``adapter_config.json`` + ``adapter_model.safetensors``)
    from a saved adapter, the compact int8 form included: ``PeftModel.from_pretrained(base, folder)``
    loads it, and the config names ``base_model`` (a hub id or path) instead of a local cache path."""
    import shutil

    src = adapter_folder(adapter)  # dequantized once when int8
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / ADAPTER_FILE, folder / ADAPTER_FILE)
    config = json.loads((src / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = base_model
    config["inference_mode"] = True
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))
    return folder


CONFIG_FILE = "config.json"
LEGACY_CONFIG_FILE = "vlm.json"


def vlm_folder(adapter: str | Path) -> Path:
    """The local folder of a saved VLM: ``adapter`` itself, or a Hub repository id fetched into
    the Hugging Face cache."""
    path = Path(adapter)
    if path.exists() or os.path.isabs(str(adapter)) or str(adapter).startswith("."):
        return path
    parts = str(adapter).split("/")
    if len(parts) != 2 or not all(parts):
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(adapter)))
    except Exception as e:  # offline, unknown repository, no access
        raise FileNotFoundError(
            f"vlm.adapter '{adapter}' is neither a folder nor a Hub repository that could be fetched "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None


def read_vlm_meta(folder: str | Path) -> dict:
    folder = Path(folder)
    for name in (CONFIG_FILE, LEGACY_CONFIG_FILE):
        if (folder / name).is_file():
            return json.loads((folder / name).read_text())
    raise FileNotFoundError(f"'{folder}' is not a saved vlrec VLM (no {CONFIG_FILE})")


def write_vlm_meta(folder: str | Path, meta: dict) -> None:
    folder = Path(folder)
    (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2, default=str))
    (folder / LEGACY_CONFIG_FILE).unlink(missing_ok=True)


def add_lora(model, cfg: VLMConfig):
    """Wrap ``model`` with fresh trainable LoRA adapters (QLoRA when it is 4-bit)."""
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in cfg.lora_targets if t in names]
    if not targets:
        raise ValueError(f"vlm.lora_targets {cfg.lora_targets} match no module of the LM")
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def build_vlm(
    cfg: VLMConfig,
    lm_cfg: LMConfig,
    vision_cfg=None,
    device: str = "auto",
    runtime_dtype: str = "auto",
    with_vision: bool = True,
    lora: Literal["load", "new", "none"] = "load",
    trainable_lora: bool = False,
    cpu_inference: bool = False,
) -> VisionLanguageModel:
    """Build a VLM: load the LM (quantized as configured), the vision encoder and the
    projector; restore ``cfg.adapter`` when set.

    Args:
        lora: ``load`` the adapter's LoRA when it has one, ``new`` adds fresh LoRA
            (on top of the adapter's projector), ``none`` uses no LoRA at all.
        trainable_lora: Load the saved LoRA with trainable weights (to continue training).
        cpu_inference: On a CPU with ``lm.cpu_dequantize``, serve a float model: the 4-bit
            layers dequantized by transformers (``dequantize()``) before the saved LoRA is put on
            and merged by peft (``merge_and_unload()``); the numbers the 4-bit model multiplies by.
    """
    from vlrec.models.lm import load_lm
    from vlrec.models.vision import VisionConfig, load_vision_encoder

    if cfg.adapter:
        cfg = dataclasses.replace(cfg, adapter=str(vlm_folder(cfg.adapter)))
    meta = read_vlm_meta(cfg.adapter) if cfg.adapter else None
    if meta is not None:
        # Shapes come from the saved model; decoding settings stay the caller's.
        saved = from_dict(VLMConfig, meta["vlm"])
        cfg = dataclasses.replace(
            cfg,
            image_tokens=saved.image_tokens,
            projector=saved.projector,
            projector_hidden=saved.projector_hidden,
            system=saved.system,
            colour_stats=saved.colour_stats or cfg.colour_stats,
            colour_hist=saved.colour_hist or cfg.colour_hist,
        )
        if meta.get("merged"):
            lm_cfg = dataclasses.replace(lm_cfg, path=str(Path(cfg.adapter) / "lm"))
    vision_cfg = vision_cfg or VisionConfig()
    if meta is not None and meta.get("vision") and meta["vision"] != vision_cfg.name:
        raise ValueError(
            f"the VLM in '{cfg.adapter}' was trained on {meta['vision']} features, "
            f"but vision.name is {vision_cfg.name}"
        )
    lm = load_lm(lm_cfg, device, runtime_dtype)
    fold = cpu_inference and lm_cfg.cpu_dequantize and lm.model.device.type == "cpu" and lora == "load"
    fold = fold and getattr(lm.model, "hf_quantizer", None) is not None
    if fold:
        lm.model = lm.model.dequantize()
    vision = load_vision_encoder(vision_cfg, device) if with_vision else None
    in_dim = meta["projector"]["in_dim"] if meta else _vision_dim(vision, vision_cfg)
    hidden_size = lm.model.get_input_embeddings().weight.shape[1]
    projector = Projector(
        in_dim, hidden_size, cfg.image_tokens, cfg.projector, cfg.projector_hidden,
        COLOUR_DIM if cfg.colour_stats else 0, HIST_DIM if cfg.colour_hist else 0,
    )  # fmt: skip
    if meta is not None:
        from safetensors.torch import load_file

        state = {k: v.float() for k, v in load_file(str(Path(cfg.adapter) / "projector.safetensors")).items()}
        for path, on in (("colour.", cfg.colour_stats), ("hist.", cfg.colour_hist)):
            if on and not any(k.startswith(path) for k in state):
                # a model saved without this colour path: it starts at zero
                state.update({k: v for k, v in projector.state_dict().items() if k.startswith(path)})
        projector.load_state_dict(state)
    else:
        projector.gain.data.fill_(lm_embedding_rms(lm.model))
    dtype = lm.model.get_input_embeddings().weight.dtype
    projector.to(device=lm.model.get_input_embeddings().weight.device, dtype=dtype)
    if lora == "load" and meta is not None and meta.get("lora"):
        from peft import PeftModel

        lm.model = PeftModel.from_pretrained(
            lm.model, str(adapter_folder(Path(cfg.adapter) / "adapter")), is_trainable=trainable_lora
        )
        if fold:
            lm.model = lm.model.merge_and_unload()
    elif lora == "new":
        lm.model = add_lora(lm.model, cfg)
    lm.model.eval()
    vlm = VisionLanguageModel(lm, projector, cfg, vision)
    vlm.inference_only = fold
    if meta is not None and meta.get("heads"):
        from safetensors.torch import load_file

        from vlrec.adapters.heads import AttributeHeads

        vlm.heads = AttributeHeads.from_config(hidden_size, meta["heads"])
        vlm.heads.load_state_dict(
            {k: v.float() for k, v in load_file(str(Path(cfg.adapter) / "heads.safetensors")).items()}
        )
        vlm.heads.to(projector.gain.device).eval()
        vlm.fusion = meta.get("fusion") or {}
    if meta is not None and meta.get("tail"):
        from safetensors.torch import load_file

        from vlrec.adapters.tail import AttributeTail

        vlm.tail = AttributeTail.from_config(meta["tail"])
        if vision is not None and vision.config.name != vlm.tail.vision:
            raise ValueError(
                f"{cfg.adapter}: its tail continues {vlm.tail.vision}, but vision.name is {vision.config.name}"
            )
        vlm.tail.load_state_dict(from_int8_rows(load_file(str(Path(cfg.adapter) / "tail.safetensors"))))
        vlm.tail.to(projector.gain.device).eval()
    if meta is not None and meta.get("probe"):
        from safetensors.torch import load_file

        from vlrec.adapters.colour_probe import ColourProbe

        vlm.probe = ColourProbe.from_config(meta["probe"])
        vlm.probe.load_state_dict(load_file(str(Path(cfg.adapter) / "probe.safetensors")))
        vlm.probe.to(projector.gain.device).eval()
    return vlm


def _vision_dim(vision, vision_cfg) -> int:
    if vision is not None:
        return vision.feature_dim
    return 1280  # every EfficientNet-Lite variant ends in a 1280-channel head


class VLMSections(Protocol):
    """The config sections a VLM is loaded from (the root config has them all)."""

    runtime: RuntimeConfig
    vision: VisionConfig
    lm: LMConfig
    vlm: VLMConfig


def load_vlm(cfg: VLMSections, with_vision: bool = True) -> VisionLanguageModel:
    """The VLM of a root config (``cfg.vlm``, ``cfg.lm``, ``cfg.vision``, ``cfg.runtime``)."""
    from vlrec.core.runtime import apply_runtime

    apply_runtime(cfg.runtime)
    return build_vlm(
        cfg.vlm, cfg.lm, cfg.vision, cfg.runtime.device, cfg.runtime.dtype, with_vision, cpu_inference=True
    )


def export_merged(vlm: VisionLanguageModel, folder: str | Path) -> Path:
    """Write a merged LM (LoRA folded into dequantized weights) + projector to ``folder``.

    ``vlm`` must carry an unquantized LM (load it with ``lm.quantization=none``): a
    merged model is for serving without peft or bitsandbytes.
    """
    folder = Path(folder)
    model = vlm.lm_model
    if vlm.has_lora():
        model = model.merge_and_unload()
    model.save_pretrained(str(folder / "lm"))
    vlm.tokenizer.save_pretrained(str(folder / "lm"))
    lm_cfg = dataclasses.replace(vlm.lm_config, path=str(folder / "lm"), quantization="none")
    merged = VisionLanguageModel(
        LoadedLM(model, vlm.tokenizer, vlm.prompt, lm_cfg), vlm.projector, vlm.config, vlm.vision
    )
    merged.save_pretrained(folder, extra={"merged": True})
    meta = read_vlm_meta(folder)
    meta["lora"] = False
    write_vlm_meta(folder, meta)
    return folder


def push_vlm(
    vlm: VisionLanguageModel,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload vlrec VLM",
    card: str | Path | None = None,
    api=None,
) -> str:
    """Save ``vlm`` (as :meth:`VisionLanguageModel.save_pretrained` does; ``card``: a model card to
    include as README.md) and upload the folder to the Hub repository ``repo_id``; returns the
    commit URL. ``vlm.adapter=<repo_id>`` loads it back. ``api``: a ``huggingface_hub.HfApi``-like object."""
    import shutil
    import tempfile

    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        folder = vlm.save_pretrained(Path(tmp) / "vlm")
        if card is not None:
            shutil.copy(card, folder / "README.md")
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=commit_message)
    return str(getattr(info, "commit_url", info))
