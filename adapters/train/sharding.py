"""FSDP for the VLM recipe (``train.fsdp``), through PyTorch's own FSDP2 (``fully_shard``).

Each decoder layer of the LM (the classes its ``_no_split_modules`` names: ``Gemma3DecoderLayer``,
``LlamaDecoderLayer``, ``Qwen2DecoderLayer`` ...) is sharded on its own, then the whole VLM (the
projector and the embeddings), so frozen base weights and trainable LoRA and projector weights
shard together; gradients are reduce-scattered over the process group (gloo on CPUs, NCCL on
GPUs). accelerate's FSDP plugin is not used: accelerate 1.16 turns FSDP on only for GPU-like
devices, so it could not be tested on CPUs. ``tests/test_vlm_train.py`` trains two gloo processes
and checks the loss curve against one process on the same global batch.
"""

from __future__ import annotations

import torch


def shard_vlm(vlm: torch.nn.Module) -> int:
    """Shard ``vlm`` in place (call in every process, after the process group is up); returns the
    number of decoder layers sharded."""
    from torch.distributed.fsdp import fully_shard

    lm = vlm.lm_model
    base = lm.get_base_model() if hasattr(lm, "get_base_model") else lm
    names = set(getattr(base, "_no_split_modules", None) or [])
    layers = [m for m in vlm.modules() if type(m).__name__ in names]
    if not layers:
        raise ValueError(
            f"train.fsdp: {type(base).__name__} names no decoder layer class to shard (_no_split_modules)"
        )
    import torch.distributed as dist

    with torch.no_grad():  # one starting point: every process takes rank 0's weights (as DDP does)
        for tensor in [*vlm.parameters(), *vlm.buffers()]:
            dist.broadcast(tensor.data, src=0)
    for layer in layers:
        fully_shard(layer)
    fully_shard(vlm)
    return len(layers)


def full_state_dict(vlm: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded state dict of a sharded ``vlm`` on CPU (a collective: every process calls
    it; the main process receives the tensors, the others an empty dict)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(vlm, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
