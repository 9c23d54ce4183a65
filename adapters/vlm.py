"""The vision-language model: frozen vision encoder -> trainable projector -> causal LM (+ LoRA).

LLaVA-style. Patch features of the vision encoder are average-pooled on their
spatial grid to ``image_tokens`` tokens, mapped by a small MLP into the LM's
input-embedding space, and written into the prompt's embeddings wherever the
token ids hold the placeholder ``IMAGE_TOKEN_INDEX`` (-200, as in LLaVA: an id no
tokenizer produces, so user text can never forge an image slot). The LM may be
4-bit (QLoRA) and carries LoRA adapters from peft.

A saved VLM is a folder::

    vlm.json                 # VLMConfig, vision name, LM path/quantization, dims
    projector.safetensors
    adapter/                 # peft LoRA adapter (absent for a projector-only or merged model)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from vlrec.core.config import check, from_dict, to_dict
from vlrec.core.paths import ASSETS
from vlrec.data.vlm_tasks import CAPTION_QUESTION
from vlrec.models.colour import GRID_DIM, HIST_DIM, colour_grid, colour_histogram
from vlrec.models.lm import LMConfig, LoadedLM, PromptFormat, _cut_at_stop, _StopOnStrings

IMAGE_TOKEN_INDEX = -200
IMAGE_MARK = "<image>"
DEFAULT_VLM = ASSETS / "vlm" / "default"
"""The shipped projector + LoRA for the default stack (Lite0 + Gemma-3-270M nf4)."""

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class VLMConfig:
    """The vision-language model: projector shape, LoRA, prompts and decoding."""

    adapter: str = str(DEFAULT_VLM)
    """Folder of a saved VLM (projector + LoRA) to load; empty = a fresh, untrained projector."""
    image_tokens: int = 16
    """Image tokens in the prompt: patch features average-pooled to this many (a square
    number pools on the spatial grid; 4-16 keeps CPU training practical)."""
    projector: Literal["mlp", "linear"] = "mlp"
    projector_hidden: int = 0
    """Hidden width of the MLP projector; 0 = the LM's hidden size."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    system: str = ""
    """System text before each VLM prompt (empty keeps sequences short)."""
    max_new_tokens: int = 32
    temperature: float = 0.0
    """0 = greedy decoding; > 0 samples with this temperature (and ``top_p``)."""
    top_p: float = 1.0
    colour_stats: bool = False
    """Also give the projector each patch cell's mean and spread of RGB (:func:`colour_grid`),
    through a small MLP added to the image tokens: the top-level EfficientNet features carry
    little colour. Turning it on over a model saved without it starts that path at zero."""
    colour_hist: bool = False
    """Also give the projector each photo's foreground colour histogram
    (:func:`vlrec.models.colour.colour_histogram`), through a small MLP added to every image token.
    Like ``colour_stats``, the path starts at zero over a model saved without it."""

    def __post_init__(self) -> None:
        check(1 <= self.image_tokens <= 256, "vlm.image_tokens", "must be in [1, 256]")
        check(self.projector_hidden >= 0, "vlm.projector_hidden", "must be >= 0")
        check(self.lora_r >= 1, "vlm.lora_r", "must be >= 1")
        check(0.0 <= self.lora_dropout < 1.0, "vlm.lora_dropout", "must be in [0, 1)")
        check(self.max_new_tokens >= 1, "vlm.max_new_tokens", "must be >= 1")
        check(self.temperature >= 0.0, "vlm.temperature", "must be >= 0")
        check(0.0 < self.top_p <= 1.0, "vlm.top_p", "must be in (0, 1]")


class Projector(nn.Module):
    """Pools patch features ``[B, P, C]`` to ``[B, T, C]`` and maps them to ``[B, T, D]``.

    Patches may carry extra channels after the ``in_dim`` vision features: ``colour_dim``
    per-cell colour statistics, then ``hist_dim`` channels of a per-image colour histogram
    (the same in every patch). Each extra path is a small MLP added to the tokens.
    """

    def __init__(
        self, in_dim: int, out_dim: int, tokens: int, kind: str = "mlp", hidden: int = 0, colour_dim: int = 0,
        hist_dim: int = 0,
    ):  # fmt: skip
        super().__init__()
        self.in_dim, self.out_dim, self.tokens, self.kind = in_dim, out_dim, tokens, kind
        self.colour_dim, self.hist_dim = colour_dim, hist_dim
        if colour_dim:
            self.colour = _zero_mlp(colour_dim, out_dim)
        if hist_dim:
            self.hist = _zero_mlp(hist_dim, out_dim)
        self.norm = nn.LayerNorm(in_dim)
        if kind == "linear":
            self.net = nn.Linear(in_dim, out_dim)
        else:
            hidden = hidden or out_dim
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        # Token embeddings of some LMs (Gemma) are scaled up; a learned gain lets the
        # projector start at their magnitude instead of learning it through the weights.
        self.gain = nn.Parameter(torch.ones(()))

    @property
    def extra_dim(self) -> int:
        """Channels the patches carry after the vision features."""
        return self.colour_dim + self.hist_dim

    def pool(self, patches: torch.Tensor) -> torch.Tensor:
        """Average-pool ``[B, P, C]`` patches to ``[B, tokens, C]``."""
        b, p, c = patches.shape
        if p == self.tokens:
            return patches
        side = math.isqrt(p)
        grid = math.isqrt(self.tokens)
        if side * side == p and grid * grid == self.tokens:
            x = patches.transpose(1, 2).reshape(b, c, side, side)
            return F.adaptive_avg_pool2d(x.float(), grid).flatten(2).transpose(1, 2).to(patches.dtype)
        return F.adaptive_avg_pool1d(patches.transpose(1, 2).float(), self.tokens).transpose(1, 2)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        """Map pooled features ``[B, T, C]`` to LM embeddings ``[B, T, D]``."""
        x = pooled.to(self.norm.weight.dtype)
        out = self.net(self.norm(x[..., : self.in_dim]))  # [B, T, D]
        if self.colour_dim:
            colour = x[..., self.in_dim : self.in_dim + self.colour_dim]
            out = out + self.colour((colour - 0.5) * 4.0)
        if self.hist_dim:
            hist = x[..., self.in_dim + self.colour_dim :].clamp_min(0)
            out = out + self.hist(hist.sqrt() * 2.0)  # Hellinger: sqrt spreads small fractions
        return out * self.gain

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.project(self.pool(patches))


def _zero_mlp(d_in: int, d_out: int) -> nn.Sequential:
    """A 2-layer MLP whose output starts at zero (a new path leaves a trained model unchanged)."""
    net = nn.Sequential(nn.Linear(d_in, 128), nn.GELU(), nn.Linear(128, d_out))
    nn.init.zeros_(net[2].weight)
    nn.init.zeros_(net[2].bias)
    return net


def lm_embedding_rms(model) -> float:
    """RMS of the LM's input embeddings as the model itself produces them (Gemma scales)."""
    emb = model.get_input_embeddings()
    with torch.no_grad():
        n = emb.weight.shape[0]
        ids = torch.linspace(0, n - 1, steps=min(n, 2048)).long().to(emb.weight.device)
        return float(emb(ids).float().pow(2).mean().sqrt())


class VisionLanguageModel(nn.Module):
    """Vision encoder (frozen, optional when features are given) + projector + causal LM."""

    def __init__(self, lm: LoadedLM, projector: Projector, config: VLMConfig, vision=None):
        super().__init__()
        self.lm_model = lm.model
        self.projector = projector
        self.vision = vision
        self.tokenizer = lm.tokenizer
        self.lm_config = lm.config
        self.config = config
        self.prompt = dataclasses.replace(lm.prompt, system=config.system)
        self.heads = None
        """:class:`vlrec.adapters.heads.AttributeHeads` when the model has them (``heads.safetensors``)."""
        self.fusion: dict = {}
        """How the reader weighs heads, neighbours and LM per field (fitted on the dev split)."""

    # --- prompts and tokens -------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.projector.gain.device

    def render(self, question: str, image: bool = True, history: Sequence[dict] = ()) -> str:
        """The prompt text for one user turn (with an image slot when ``image``)."""
        content = question.replace(IMAGE_MARK, " ").strip()
        if image:
            content = f"{IMAGE_MARK}\n{content}"
        messages = [{"role": m["role"], "content": m["content"].replace(IMAGE_MARK, " ")} for m in history]
        return self.prompt.render([*messages, {"role": "user", "content": content}])

    def tokenize(self, prompt: str) -> list[int]:
        """Token ids of ``prompt``, each image mark expanded to ``image_tokens`` placeholders."""
        ids: list[int] = []
        for i, piece in enumerate(prompt.split(IMAGE_MARK)):
            if i:
                ids += [IMAGE_TOKEN_INDEX] * self.config.image_tokens
            ids += self.tokenizer(piece, add_special_tokens=(i == 0))["input_ids"]
        return ids

    def answer_ids(self, answer: str) -> list[int]:
        """Token ids of a target answer as the model should write it (then end-of-sequence)."""
        return self.tokenizer(" " + answer.strip(), add_special_tokens=False)["input_ids"] + [
            self.tokenizer.eos_token_id
        ]

    # --- embeddings ---------------------------------------------------------------------

    def image_patches(self, images: Sequence[Any]) -> torch.Tensor:
        """Patch features of images (paths, bytes or PIL) from the frozen vision encoder."""
        if self.vision is None:
            raise RuntimeError("this VisionLanguageModel was built without a vision encoder")
        return with_colour(self.projector, self.vision.encode(list(images)).patches, images)

    def embed_inputs(self, input_ids: torch.Tensor, image_embeds: torch.Tensor | None) -> torch.Tensor:
        """Token embeddings with image features written into the placeholder slots.

        Args:
            input_ids: ``[B, L]`` ids, ``IMAGE_TOKEN_INDEX`` at image slots.
            image_embeds: ``[N, T, D]`` projected features, in slot order (row-major).
        """
        slots = input_ids == IMAGE_TOKEN_INDEX
        n_slots = int(slots.sum())
        n_feats = 0 if image_embeds is None else image_embeds.shape[0] * image_embeds.shape[1]
        if n_slots != n_feats:
            raise ValueError(
                f"the prompt has {n_slots} image placeholder tokens but {n_feats} image feature tokens "
                f"were given ({0 if image_embeds is None else image_embeds.shape[0]} images x "
                f"{self.config.image_tokens} tokens each)"
            )
        embed = self.lm_model.get_input_embeddings()
        tokens = embed(input_ids.masked_fill(slots, 0))
        if n_slots:
            feats = image_embeds.reshape(-1, tokens.shape[-1]).to(tokens.dtype)
            tokens = tokens.masked_scatter(slots.unsqueeze(-1), feats)
        return tokens

    def _features(self, patches: torch.Tensor | None, pooled: torch.Tensor | None) -> torch.Tensor | None:
        if pooled is None and patches is None:
            return None
        if pooled is None:
            pooled = self.projector.pool(patches.to(self.device))
        return self.projector.project(pooled.to(self.device))

    # --- training -----------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        patches: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Mean next-token loss on the labelled positions (``labels`` -100 elsewhere).

        The LM head runs only where a label exists: for Gemma's 262k-word vocabulary
        that is most of the compute a full-sequence head would spend.
        """
        embeds = self.embed_inputs(input_ids, self._features(patches, pooled))
        body = self.lm_model.get_decoder()
        hidden = body(inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False)[0]
        out: dict[str, torch.Tensor] = {}
        if labels is not None:
            target = labels[:, 1:]
            keep = target != -100
            logits = self._head(hidden[:, :-1][keep])
            out["loss"] = F.cross_entropy(logits.float(), target[keep])
            out["tokens"] = keep.sum()
        return out

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.lm_model.get_output_embeddings()(hidden)
        cap = getattr(self.lm_model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    @torch.no_grad()
    def logits(self, input_ids, attention_mask, patches=None, pooled=None) -> torch.Tensor:
        """Full logits ``[B, L, V]`` (for tests and scoring)."""
        embeds = self.embed_inputs(input_ids, self._features(patches, pooled))
        return self.lm_model(inputs_embeds=embeds, attention_mask=attention_mask).logits

    @torch.inference_mode()
    def answer_logprobs(
        self, prompts: Sequence[str], answers: Sequence[str], pooled: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-probability ``[N]`` of each answer (its tokens and end-of-sequence) after its prompt.

        Scoring a few candidate answers this way replaces free generation where the answer is
        one of a known set (a catalogue value, a retrieved caption). ``pooled``: one image's
        pooled projector inputs ``[N, T, C]`` per prompt that has an image slot, in order.
        """
        ids, mask, labels = self.collate(list(zip(prompts, answers)))
        dev = self.device
        ids, mask, labels = ids.to(dev), mask.to(dev), labels.to(dev)
        embeds = self.embed_inputs(ids, self._features(None, pooled))
        hidden = self.lm_model.get_decoder()(inputs_embeds=embeds, attention_mask=mask, use_cache=False)[0]
        target = labels[:, 1:]
        keep = target != -100  # [N, L-1]
        logp = self._head(hidden[:, :-1][keep]).float().log_softmax(-1)  # [K, V]
        tok = logp.gather(1, target[keep].unsqueeze(1)).squeeze(1)  # [K]
        rows = torch.arange(len(prompts), device=dev).unsqueeze(1).expand_as(target)[keep]
        return torch.zeros(len(prompts), device=dev).index_add_(0, rows, tok).cpu()

    def collate(self, samples: Sequence[tuple[str, str]], max_answer_tokens: int = 48, pad_left=False):
        """Batch ``(prompt, answer)`` pairs: ids, attention mask and answer-only labels."""
        rows, labels = [], []
        for prompt, answer in samples:
            p = self.tokenize(prompt)
            a = self.answer_ids(answer)[:max_answer_tokens] if answer is not None else []
            rows.append(p + a)
            labels.append([-100] * len(p) + a)
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        lab = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, (r, lbl) in enumerate(zip(rows, labels)):
            sl = slice(width - len(r), width) if pad_left else slice(0, len(r))
            ids[i, sl] = torch.tensor(r)
            mask[i, sl] = 1
            lab[i, sl] = torch.tensor(lbl)
        return ids, mask, lab

    # --- generation ---------------------------------------------------------------------

    @torch.inference_mode()
    def generate(
        self,
        prompts: Sequence[str],
        patches: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
        streamer=None,
    ) -> list[str]:
        """Continue rendered prompts (batched, KV-cached). Image features in prompt order.

        Greedy when the temperature is 0, else sampling with ``temperature``/``top_p``.
        """
        ids, mask, _ = self.collate([(p, None) for p in prompts], pad_left=True)
        ids, mask = ids.to(self.device), mask.to(self.device)
        embeds = self.embed_inputs(ids, self._features(patches, pooled))
        temperature = self.config.temperature if temperature is None else temperature
        top_p = self.config.top_p if top_p is None else top_p
        stop = list(self.prompt.stop if stop is None else stop)
        sample = temperature > 0
        out = self.lm_model.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            max_new_tokens=max_new_tokens or self.config.max_new_tokens,
            do_sample=sample,
            temperature=temperature if sample else None,
            top_p=top_p if sample else None,
            top_k=None,
            stopping_criteria=[_StopOnStrings(self.tokenizer, stop, 0)] if stop else None,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            streamer=streamer,
        )
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [_cut_at_stop(t, stop).strip() for t in texts]

    def ask(self, images: Sequence[Any], questions: Sequence[str], **kwargs) -> list[str]:
        """Answer one question per image (images: paths, bytes or PIL images)."""
        if len(images) != len(questions):
            raise ValueError(f"{len(images)} images but {len(questions)} questions")
        patches = self.image_patches(images) if images else None
        return self.generate([self.render(q) for q in questions], patches=patches, **kwargs)

    def caption(self, images: Sequence[Any], **kwargs) -> list[str]:
        return self.ask(images, [CAPTION_QUESTION] * len(images), **kwargs)

    # --- saving -------------------------------------------------------------------------

    def has_lora(self) -> bool:
        return hasattr(self.lm_model, "peft_config")

    def save_pretrained(
        self, folder: str | Path, extra: dict | None = None, half: bool = False, int8_adapter: bool = False
    ) -> Path:
        """Write config, projector weights and (if any) the LoRA adapter to ``folder``.

        ``half`` stores weights as fp16 (half the size; they load back into fp32).
        ``int8_adapter`` stores the LoRA matrices as int8 with one fp16 scale per row
        (:func:`quantize_adapter`; a quarter of fp32), dequantized once into the cache on load.
        """
        from safetensors.torch import load_file, save_file

        if getattr(self, "inference_only", False):
            raise RuntimeError(
                "this VLM was loaded for CPU inference (4-bit layers dequantized, LoRA folded in), "
                "so its adapter cannot be saved; load it with lm.cpu_dequantize=false"
            )
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        dtype = torch.float16 if half else torch.float32
        state = {k: v.detach().to(dtype).cpu().contiguous() for k, v in self.projector.state_dict().items()}
        save_file(state, str(folder / "projector.safetensors"))
        if self.heads is not None:
            heads = {k: v.detach().to(dtype).cpu().contiguous() for k, v in self.heads.state_dict().items()}
            save_file(heads, str(folder / "heads.safetensors"))
        if self.has_lora():
            self.lm_model.save_pretrained(str(folder / "adapter"))
            if half:
                file = folder / "adapter" / "adapter_model.safetensors"
                save_file({k: v.half() for k, v in load_file(str(file)).items()}, str(file))
            if int8_adapter:
                quantize_adapter(folder / "adapter")
        meta = {
            "format": "vlrec-vlm/1",
            "vlm": to_dict(self.config),
            "lm": to_dict(self.lm_config),
            "vision": self.vision.config.name if self.vision is not None else (extra or {}).get("vision"),
            "projector": {"in_dim": self.projector.in_dim, "out_dim": self.projector.out_dim},
            "lora": self.has_lora(),
            **({"heads": self.heads.config()} if self.heads is not None else {}),
            **({"fusion": self.fusion} if self.fusion else {}),
            **(extra or {}),
        }
        meta["vlm"]["adapter"] = ""
        (folder / "vlm.json").write_text(json.dumps(meta, indent=2, default=str))
        return folder


COLOUR_DIM = GRID_DIM


def with_colour(projector: Projector, patches: torch.Tensor, images: Sequence[Any]) -> torch.Tensor:
    """``patches`` ``[B, P, C]`` with the colour channels ``projector`` reads appended."""
    extra = []
    if projector.colour_dim:
        extra.append(colour_grid(images, math.isqrt(patches.shape[1])))
    if projector.hist_dim:
        extra.append(colour_histogram(images).unsqueeze(1).expand(-1, patches.shape[1], -1))
    if not extra:
        return patches
    return torch.cat([patches.float(), *[e.float() for e in extra]], dim=-1)


ADAPTER_FILE = "adapter_model.safetensors"
ADAPTER_INT8_FILE = "adapter_model.int8.safetensors"


def quantize_adapter(folder: str | Path) -> Path:
    """Replace a peft adapter's weights file by an int8 one: each 2-D matrix row-wise symmetric
    (``round(w / s)``, ``s = max|row| / 127`` kept in fp16 as ``NAME.scale``), other tensors
    in fp16. Returns the new file."""
    from safetensors.torch import load_file, save_file

    folder = Path(folder)
    src = folder / ADAPTER_FILE
    out = {}
    for name, w in load_file(str(src)).items():
        w = w.float()
        if w.dim() == 2:
            scale = (w.abs().amax(dim=1, keepdim=True) / 127.0).clamp_min(1e-12).half()
            out[name] = torch.round(w / scale.float()).clamp_(-127, 127).to(torch.int8)
            out[name + ".scale"] = scale
        else:
            out[name] = w.half()
    dst = folder / ADAPTER_INT8_FILE
    tmp = dst.with_suffix(".tmp")
    save_file(out, str(tmp), metadata={"format": "pt", "vlrec": "int8-rowwise/1"})
    tmp.replace(dst)
    src.unlink()
    return dst


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
    q = load_file(str(folder / ADAPTER_INT8_FILE))
    state = {
        name: (w.float() * q[name + ".scale"].float()) if w.dtype == torch.int8 else w.float()
        for name, w in q.items()
        if not name.endswith(".scale")
    }
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


def read_vlm_meta(folder: str | Path) -> dict:
    path = Path(folder) / "vlm.json"
    if not path.is_file():
        raise FileNotFoundError(f"'{folder}' is not a saved vlrec VLM (no vlm.json)")
    return json.loads(path.read_text())


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
) -> VisionLanguageModel:
    """Build a VLM: load the LM (quantized as configured), the vision encoder and the
    projector; restore ``cfg.adapter`` when set.

    Args:
        lora: ``load`` the adapter's LoRA when it has one, ``new`` adds fresh LoRA
            (on top of the adapter's projector), ``none`` uses no LoRA at all.
        trainable_lora: Load the saved LoRA with trainable weights (to continue training).
    """
    from vlrec.models.lm import load_lm
    from vlrec.models.vision import VisionConfig, load_vision_encoder

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
    elif lora == "new":
        lm.model = add_lora(lm.model, cfg)
    lm.model.eval()
    vlm = VisionLanguageModel(lm, projector, cfg, vision)
    if meta is not None and meta.get("heads"):
        from safetensors.torch import load_file
        from vlrec.adapters.heads import AttributeHeads

        vlm.heads = AttributeHeads.from_config(hidden_size, meta["heads"])
        vlm.heads.load_state_dict(
            {k: v.float() for k, v in load_file(str(Path(cfg.adapter) / "heads.safetensors")).items()}
        )
        vlm.heads.to(projector.gain.device).eval()
        vlm.fusion = meta.get("fusion") or {}
    return vlm


def _vision_dim(vision, vision_cfg) -> int:
    if vision is not None:
        return vision.feature_dim
    return 1280  # every EfficientNet-Lite variant ends in a 1280-channel head


def load_vlm(cfg, with_vision: bool = True) -> VisionLanguageModel:
    """The VLM of a root config (``cfg.vlm``, ``cfg.lm``, ``cfg.vision``, ``cfg.runtime``)."""
    from vlrec.core.runtime import apply_runtime

    apply_runtime(cfg.runtime)
    vlm = build_vlm(cfg.vlm, cfg.lm, cfg.vision, cfg.runtime.device, cfg.runtime.dtype, with_vision)
    if cfg.lm.cpu_dequantize and vlm.lm_model.device.type == "cpu":
        from vlrec.models.lm import dequantize_4bit_layers, fold_lora

        if dequantize_4bit_layers(vlm.lm_model):
            fold_lora(vlm.lm_model)
            vlm.inference_only = True
    return vlm


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
    (folder / "vlm.json").write_text(json.dumps(meta, indent=2, default=str))
    return folder


__all__ = [
    "IMAGE_TOKEN_INDEX",
    "VLMConfig",
    "Projector",
    "VisionLanguageModel",
    "build_vlm",
    "load_vlm",
    "export_merged",
    "PromptFormat",
]
