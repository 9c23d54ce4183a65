"""The VLM's text generation through llama.cpp (``vlm.engine: llamacpp``).

transformers' ``generate`` decodes the packaged Gemma-3-270M at a quarter of llama.cpp's tokens/s on
two CPU cores (docs/benchmarks.md): each token pays for the 262k x 640 output projection in bf16
plus Python overhead per layer. With this engine the projector, the image tokens and the prompt
stay vlrec's (the input embeddings are computed as always and fed to llama.cpp through
``llama_batch.embd``), and llama.cpp only decodes. Its model is the packaged GGUF with the decoder
layers' linear weights replaced by the ones vlrec runs (its 4-bit base dequantized, the LoRA merged
in: :func:`gguf_weights`), quantized to Q8_0 by gguf-py; the embedding and the norms keep the file's
own. The file is written once per weights into the cache, atomically. Needs ``llama-cpp-python``
(``pip install "vlrec[llamacpp]"``) and the packaged LM (``lm.path: gemma3-270m``); scoring paths
(the attribute reader, answer log-probabilities, training) stay in PyTorch.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import torch

_ENGINES: dict[str, object] = {}
_LOCK = threading.Lock()


def gguf_weights(model: torch.nn.Module, gguf_path: Path) -> dict[str, np.ndarray]:
    """The decoder layers' linear weights of a transformers model, keyed by their tensor names in
    ``gguf_path`` (gguf-py's own name map for the file's architecture)."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    arch = reader.fields["general.architecture"].contents()
    n_blocks = 1 + max(int(t.name.split(".")[1]) for t in reader.tensors if t.name.startswith("blk."))
    names = gguf.get_tensor_name_map(next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch), n_blocks)
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and ".layers." in name:
            if type(module) is not torch.nn.Linear:
                raise ValueError(f"'{name}' is a {type(module).__name__}, not a plain linear layer: vlm.engine="
                                 "llamacpp needs the merged CPU model (lm.cpu_dequantize=true)")  # fmt: skip
            target = names.get_name(name)
            if target is None:
                raise ValueError(f"'{name}' has no tensor in {gguf_path.name}")
            out[target + ".weight"] = module.weight.detach().float().cpu().numpy()
    return out


def merged_gguf(gguf_path: Path, weights: dict[str, np.ndarray], out_dir: Path) -> Path:
    """``gguf_path`` with the tensors in ``weights`` replaced (Q8_0), as ``out_dir/vlm-<key>.gguf``,
    written once (atomically) per file and weights."""
    import gguf
    from gguf.quants import quantize

    key = hashlib.sha256(f"{gguf_path.name}:{gguf_path.stat().st_size}".encode())
    for name in sorted(weights):
        key.update(name.encode())
        key.update(weights[name].tobytes())
    out = out_dir / f"vlm-{key.hexdigest()[:16]}.gguf"
    if out.is_file():
        return out
    reader = gguf.GGUFReader(str(gguf_path))
    missing = set(weights) - {t.name for t in reader.tensors}
    if missing:
        raise ValueError(f"tensors not in {gguf_path.name}: {sorted(missing)[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    writer = gguf.GGUFWriter(str(tmp), reader.fields["general.architecture"].contents())
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue  # the writer's own
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)  # fmt: skip
    q8 = gguf.GGMLQuantizationType.Q8_0
    for t in reader.tensors:
        if t.name in weights:
            writer.add_tensor(t.name, quantize(weights[t.name], q8), raw_dtype=q8)
        else:
            writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return out


class LlamaCppDecoder:
    """Greedy or sampled decoding from input embeddings with llama.cpp; one call at a time."""

    def __init__(self, path: Path, threads: int, n_ctx: int = 2048):
        import llama_cpp

        self.llama_cpp = llama_cpp
        self.llm = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=512, n_threads=threads,
                                   n_threads_batch=threads, verbose=False)  # fmt: skip
        self.ctx = self.llm._ctx.ctx
        model = self.llm._model.model
        self.n_vocab = llama_cpp.llama_n_vocab(llama_cpp.llama_model_get_vocab(model))
        self.n_embd = llama_cpp.llama_model_n_embd(model)
        self.n_ctx = n_ctx
        self.lock = threading.Lock()

    def _logits(self) -> np.ndarray:
        ptr = self.llama_cpp.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), (self.n_vocab,)).copy()

    def _decode(self, batch) -> None:
        if self.llama_cpp.llama_decode(self.ctx, batch) != 0:
            raise RuntimeError("llama.cpp failed to decode a batch")

    def decode(self, embeds: np.ndarray, max_new_tokens: int, pick, done) -> list[int]:
        """Continue the prompt given as input embeddings ``[L, D]``: ``pick(logits) -> id`` chooses
        each token, ``done(ids) -> bool`` ends early (an end token or a stop string)."""
        lc = self.llama_cpp
        length = embeds.shape[0]
        if embeds.shape[1] != self.n_embd:
            raise ValueError(f"embeddings of width {embeds.shape[1]}, but the GGUF model's is {self.n_embd}")
        if length + max_new_tokens > self.n_ctx:
            raise ValueError(
                f"prompt of {length} tokens + {max_new_tokens} new is over the context of {self.n_ctx}"
            )
        with self.lock:
            lc.llama_memory_clear(lc.llama_get_memory(self.ctx), True)
            batch = lc.llama_batch_init(length, self.n_embd, 1)
            step = lc.llama_batch_init(1, 0, 1)
            try:
                data = np.ascontiguousarray(embeds, dtype=np.float32)
                ctypes.memmove(batch.embd, data.ctypes.data, data.nbytes)
                for i in range(length):
                    batch.pos[i], batch.n_seq_id[i], batch.logits[i] = i, 1, i == length - 1
                    batch.seq_id[i][0] = 0
                batch.n_tokens = length
                self._decode(batch)
                step.n_tokens, step.n_seq_id[0], step.logits[0] = 1, 1, True
                step.seq_id[0][0] = 0
                ids: list[int] = []
                while True:
                    ids.append(int(pick(self._logits())))
                    if len(ids) >= max_new_tokens or done(ids):
                        return ids
                    step.token[0], step.pos[0] = ids[-1], length + len(ids) - 1
                    self._decode(step)
            finally:
                lc.llama_batch_free(batch)
                lc.llama_batch_free(step)


def decoder_for(vlm) -> LlamaCppDecoder:
    """The llama.cpp decoder of ``vlm`` (built on its first call; one per model file and process)."""
    if getattr(vlm, "_llamacpp", None) is not None:
        return vlm._llamacpp
    from vlrec.models.lm import PACKAGED_LM, packaged_gguf

    if vlm.lm_config.path != PACKAGED_LM:
        raise ValueError(f"vlm.engine=llamacpp decodes the packaged GGUF LM (lm.path={PACKAGED_LM}), "
                         f"not lm.path={vlm.lm_config.path}")  # fmt: skip
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise ImportError(
            'vlm.engine=llamacpp needs llama-cpp-python: pip install "vlrec[llamacpp]"'
        ) from None
    from vlrec.core.runtime import cache_dir

    with _LOCK:
        source = packaged_gguf()
        path = merged_gguf(source, gguf_weights(vlm.lm_model, source), cache_dir() / "gguf")
        if str(path) not in _ENGINES:
            _ENGINES[str(path)] = LlamaCppDecoder(path, max(torch.get_num_threads(), 1))
        vlm._llamacpp = _ENGINES[str(path)]
        return vlm._llamacpp


def generate(vlm, embeds: torch.Tensor, mask: torch.Tensor, max_new_tokens: int, temperature: float,
             top_p: float, stop: list[str], streamer=None) -> list[str]:  # fmt: skip
    """:meth:`VisionLanguageModel.generate` through llama.cpp: each prompt's input embeddings
    (``embeds [B, L, D]``, left-padded as ``mask`` says) decoded in turn."""
    from vlrec.models.lm import _cut_at_stop

    decoder = decoder_for(vlm)
    tok = vlm.tokenizer
    rng = np.random.default_rng()
    ends = {tok.eos_token_id, *([] if tok.pad_token_id is None else [tok.pad_token_id])} - {None}

    def pick(logits: np.ndarray) -> int:
        if temperature <= 0:
            return int(logits.argmax())
        p = np.exp((logits - logits.max()) / temperature)
        order = np.argsort(-p)
        p = p[order] / p.sum()
        keep = np.searchsorted(np.cumsum(p), top_p) + 1
        return int(order[rng.choice(keep, p=p[:keep] / p[:keep].sum())])

    def done(ids: list[int]) -> bool:
        if streamer is not None:
            streamer.put(torch.tensor([ids[-1]]))
        return ids[-1] in ends or bool(
            stop and any(s in tok.decode(ids, skip_special_tokens=True) for s in stop)
        )

    if streamer is not None:
        streamer.put(
            torch.zeros(1, 0, dtype=torch.long)
        )  # transformers' generate puts the (empty) prompt first
    texts = []
    for row, keep in zip(embeds, mask.bool()):
        ids = decoder.decode(row[keep].float().cpu().numpy(), max_new_tokens, pick, done)
        texts.append(_cut_at_stop(tok.decode(ids, skip_special_tokens=True), stop).strip())
    if streamer is not None:
        streamer.end()
    return texts
