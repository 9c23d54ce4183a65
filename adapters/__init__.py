"""Models: vision encoder, text embedders, LM loading and quantization (soon: projector, LoRA, training)."""
