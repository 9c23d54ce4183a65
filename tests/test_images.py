import io

import pytest
from PIL import Image

from vlrec.core.images import ImageError, load_image


def _jpeg(size=(32, 24), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 128).save(buf, format="JPEG" if mode != "RGBA" else "PNG")
    return buf.getvalue()


def test_loads_files_bytes_and_converts_to_rgb(tmp_path):
    p = tmp_path / "a.png"
    Image.new("L", (10, 7), 50).save(p)
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (10, 7)
    assert load_image(_jpeg(mode="RGBA")).mode == "RGB"


def test_missing_file_names_the_input(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.jpg.*file not found"):
        load_image(tmp_path / "nope.jpg")


def test_not_an_image(tmp_path):
    p = tmp_path / "text.jpg"
    p.write_text("hello, I am not a JPEG")
    with pytest.raises(ImageError, match=r"text\.jpg.*not a recognised image"):
        load_image(p)


def test_truncated_jpeg(tmp_path):
    data = _jpeg((200, 200))
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg.*truncated"):
        load_image(p)


def test_empty_and_oversized_files(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(p)
    with pytest.raises(ImageError, match="limit"):
        load_image(_jpeg(), max_bytes=100)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # A 1-bit PNG declaring 30000 x 30000 pixels compresses to a few hundred KB.
    p = tmp_path / "bomb.png"
    Image.new("1", (30000, 30000), 0).save(p, optimize=True)
    assert p.stat().st_size < 2_000_000
    with pytest.raises(ImageError, match=r"bomb\.png.*900000000 pixels"):
        load_image(p)
