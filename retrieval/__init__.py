"""Retrieval: catalogues, embeddings in Chroma, indexing (soon: fusion and evaluation)."""
