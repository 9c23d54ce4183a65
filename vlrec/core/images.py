"""The one image loader: safe decoding of files and bytes into RGB PIL images.

Guards against the usual bad inputs — missing files, non-images, truncated
files, oversized files and decompression bombs — and always raises
:class:`ImageError` naming the input and the reason, so callers can report the
item and move on.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

ImageInput = str | Path | bytes | Image.Image

MAX_BYTES = 32 * 1024 * 1024
"""Largest encoded image accepted (32 MiB)."""
MAX_PIXELS = 40_000_000
"""Largest decoded image accepted (width × height), checked before decoding."""


class ImageError(ValueError):
    """An image could not be used; the message names the input and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"image '{name}' could not be used ({reason})")
        self.name = name
        self.reason = reason


def load_image(
    source: ImageInput,
    *,
    name: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Decode ``source`` into a fully loaded RGB image.

    Args:
        source: A file path, the encoded bytes, or an already decoded PIL image.
        name: How to name the input in errors (defaults to the path, or ``<bytes>``).
        max_bytes: Reject encoded inputs larger than this.
        max_pixels: Reject images whose header declares more pixels than this.

    Raises:
        ImageError: The input is missing, too large, not an image, or corrupt.
    """
    if isinstance(source, Image.Image):
        label = name or "<image>"
        _check_pixels(source, label, max_pixels)
        return source if source.mode == "RGB" else source.convert("RGB")

    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or str(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ImageError(label, "file not found") from None
        except OSError as exc:
            raise ImageError(label, f"cannot read file: {exc.strerror or exc}") from None
        if not path.is_file():
            raise ImageError(label, "not a regular file")
        if size > max_bytes:
            raise ImageError(label, f"file is {size} bytes; the limit is {max_bytes}")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
        if len(data) > max_bytes:
            raise ImageError(label, f"{len(data)} bytes; the limit is {max_bytes}")
    else:
        raise TypeError(f"unsupported image input type {type(source).__name__}")

    if not data:
        raise ImageError(label, "empty file")
    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) between MAX_IMAGE_PIXELS and 2x; we check ourselves.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_pixels(img, label, max_pixels)
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(label, "not a recognised image format") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(label, f"decompression bomb guard: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower():
            reason = f"truncated file: {reason}"
        raise ImageError(label, reason) from None
    return img if img.mode == "RGB" else img.convert("RGB")


def _check_pixels(img: Image.Image, label: str, max_pixels: int) -> None:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageError(label, f"invalid size {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(label, f"{width}x{height} = {width * height} pixels; the limit is {max_pixels}")
