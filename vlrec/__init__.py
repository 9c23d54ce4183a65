"""vlrec: an LLM-centric multimodal recommender agent.

A vision encoder's features pass through a trainable projector into a quantized causal LM
with LoRA adapters; the LM captions photos, answers questions about them and reads what a
shopper means; every recommendation comes from a Chroma catalogue of image, text and fused
embeddings. The package is layered, each layer importing only from those before it::

    core -> data -> models -> adapters (-> adapters.train) -> retrieval -> rec -> agent
         -> eval -> serve -> cli

``vlrec.agent``, ``vlrec.adapters`` and ``vlrec.retrieval`` live in the repository's root
folders ``agent/``, ``adapters/`` and ``retrieval/`` (mapped into this namespace by
pyproject.toml); the other layers live in this folder. ``tests/test_layers.py`` holds the rule.
"""

from vlrec.core.version import __version__  # noqa: F401  (re-exported)
