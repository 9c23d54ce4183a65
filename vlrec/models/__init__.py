"""The frozen models: vision encoder, text embedders, the causal LM (loading, 4-bit quantization, prompting), colour features, and the on-disk cache of frozen image features."""
