"""The vision-language model: frozen vision encoder -> trainable projector -> causal LM (+ LoRA).

LLaVA-style. Patch features of the vision encoder are average-pooled on their
spatial grid to ``image_tokens`` tokens, mapped by a small MLP into the LM's
input-embedding space, and written into the prompt's embeddings wherever the
token ids hold the placeholder ``IMAGE_TOKEN_INDEX`` (-200, as in LLaVA: an id no
tokenizer produces, so user text can never forge an image slot). The LM may be
4-bit (QLoRA) and carries LoRA adapters from peft.

The projector is :mod:`vlrec.adapters.projector`; building, loading and exporting a VLM is
:mod:`vlrec.adapters.vlm_load`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from vlrec.adapters.projector import Projector, with_colour
from vlrec.core.config import check, to_dict
from vlrec.core.paths import ASSETS
from vlrec.data.vlm_tasks import CAPTION_QUESTION
from vlrec.models.lm import LoadedLM, _cut_at_stop, _StopOnStrings

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
    engine: Literal["transformers", "llamacpp"] = "transformers"
    """What decodes generated text (captions, answers): transformers' ``generate``, or llama.cpp on
    the packaged GGUF with the LoRA merged in (:mod:`vlrec.adapters.vlm_llamacpp`; ``pip install
    "vlrec[llamacpp]"``; 3.8x the tokens/s of transformers' bf16 decoding on 2 CPU cores, 0.94x
    llama.cpp's own on the unmodified GGUF). Scoring stays in PyTorch."""
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
        self.tail = None
        """:class:`vlrec.adapters.tail.AttributeTail` when the model has one (``tail.safetensors``)."""
        self.probe = None
        """:class:`vlrec.adapters.colour_probe.ColourProbe` when the model has one (``probe.safetensors``)."""
        self.fusion: dict = {}
        """How the reader weighs heads, tail, neighbours and LM per field (fitted on the dev split)."""

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
        if self.config.engine == "llamacpp":
            from vlrec.adapters.vlm_llamacpp import generate

            new = max_new_tokens or self.config.max_new_tokens
            return generate(self, embeds, mask, new, temperature, top_p, stop, streamer)
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
        self, folder: str | Path, extra: dict | None = None, half: bool = False, int8_adapter: bool = False,
        state_dict: dict | None = None,
    ) -> Path:  # fmt: skip
        """Write config, projector weights and (if any) the LoRA adapter to ``folder``.

        ``half`` stores weights as fp16 (half the size; they load back into fp32).
        ``int8_adapter`` stores the LoRA matrices as int8 with one fp16 scale per row
        (:func:`vlrec.adapters.vlm_load.quantize_adapter`; a quarter of fp32), dequantized once into the cache on load.
        ``state_dict``: this model's full state to write instead of its own (a sharded model's, gathered).
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

        def part(module, prefix: str) -> dict:
            sd = module.state_dict() if state_dict is None else {
                k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}  # fmt: skip
            return {k: v.detach().to(dtype).cpu().contiguous() for k, v in sd.items()}

        save_file(part(self.projector, "projector."), str(folder / "projector.safetensors"))
        if self.heads is not None:
            save_file(part(self.heads, "heads."), str(folder / "heads.safetensors"))
        if self.tail is not None:
            save_file(part(self.tail, "tail."), str(folder / "tail.safetensors"))
        if self.probe is not None:  # small; kept in fp32
            save_file({k: v.float().contiguous() for k, v in self.probe.state_dict().items()},
                      str(folder / "probe.safetensors"))  # fmt: skip
        if self.has_lora():
            lm_state = None if state_dict is None else part(self.lm_model, "lm_model.")
            self.lm_model.save_pretrained(str(folder / "adapter"), state_dict=lm_state)
            if half:
                file = folder / "adapter" / "adapter_model.safetensors"
                save_file({k: v.half() for k, v in load_file(str(file)).items()}, str(file))
            if int8_adapter:
                from vlrec.adapters.vlm_load import quantize_adapter

                quantize_adapter(folder / "adapter")
        meta = {
            "format": "vlrec-vlm/1",
            "model_type": "vlrec-vlm",
            "vlm": to_dict(self.config),
            "lm": to_dict(self.lm_config),
            "vision": self.vision.config.name if self.vision is not None else (extra or {}).get("vision"),
            "projector": {"in_dim": self.projector.in_dim, "out_dim": self.projector.out_dim},
            "lora": self.has_lora(),
            **({"heads": self.heads.config()} if self.heads is not None else {}),
            **({"tail": self.tail.config()} if self.tail is not None else {}),
            **({"probe": self.probe.config()} if self.probe is not None else {}),
            **({"fusion": self.fusion} if self.fusion else {}),
            **(extra or {}),
        }
        meta["vlm"]["adapter"] = ""
        from vlrec.adapters.vlm_load import write_vlm_meta

        write_vlm_meta(folder, meta)
        return folder

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Save and upload to the Hub repository ``repo_id`` (:func:`vlrec.adapters.vlm_load.push_vlm`)."""
        from vlrec.adapters.vlm_load import push_vlm

        return push_vlm(self, repo_id, **kwargs)
