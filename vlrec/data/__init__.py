"""The data layer: catalogue rows, caption files, the fashion VLM tasks and splits, generated shopper conversations and their lexicon, interaction histories. Reading only; no models."""
