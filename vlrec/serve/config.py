"""The ``serve`` section of the config: where ``vlrec serve`` listens and what it allows.

:class:`ServeConfig` holds the address and port, the API key, the CORS origins, the size
limits on request bodies, images and item batches, how many conversations are kept and for
how long and where (SQLite or memory), where uploaded item images go, and the thumbnail size. It is plain data, checked
when made, and imports nothing heavier than the config schema, so the root config can hold
it without loading the web stack.
"""

from dataclasses import dataclass, field
from typing import Literal

from vlrec.core.config import check


@dataclass
class ServeConfig:
    """``vlrec serve``: address, security and limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str = ""
    """Bearer token required on /v1 when set; the environment variable VLREC_API_KEY also sets it."""
    cors_origins: list[str] = field(default_factory=list)
    """Origins allowed to call the API from a browser (empty: CORS off)."""
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest request body (413 above)."""
    max_image_bytes: int = 8 * 1024 * 1024
    """Largest decoded image in a request (413 above)."""
    max_image_pixels: int = 25_000_000
    """Largest image, width x height, read from its header before decoding (400 above)."""
    max_items_per_request: int = 1000
    sessions: int = 1000
    """Conversations kept; the least recently used goes first."""
    session_ttl_s: float = 3600.0
    """A conversation idle this long is forgotten."""
    session_store: Literal["sqlite", "redis", "memory"] = "sqlite"
    """sqlite: conversations survive restarts and are shared by the workers that open one file;
    redis: shared by replicas on several hosts (``session_url``); memory: this process only."""
    session_url: str = "redis://localhost:6379/0"
    """The Redis server of ``session_store: redis``."""
    session_db: str = ""
    """The SQLite file of ``session_store: sqlite`` (default: <data dir>/sessions/<catalogue>.sqlite3)."""
    replay_turns: int = 8
    """Without a session id, the last this-many user messages are played into a new session."""
    uploads: str = ""
    """Folder for images sent with POST /v1/items (default: <data dir>/uploads/<catalogue>)."""
    thumbnail: int = 256
    """Longest side of thumbnails served at /v1/items/{id}/image."""

    def __post_init__(self) -> None:
        check(0 < self.port < 65536, "serve.port", "must be in [1, 65535]")
        for key in ("max_body_bytes", "max_image_bytes", "max_image_pixels", "sessions", "replay_turns"):
            check(getattr(self, key) >= 1, f"serve.{key}", "must be >= 1")
        check(32 <= self.thumbnail <= 1024, "serve.thumbnail", "must be in [32, 1024]")
