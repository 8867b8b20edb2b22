"""Upload decoding: every odd file ends in a clear sentence or a correct RGB image."""

import io

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from core.images import MAX_UPLOAD_BYTES, open_image


def _png(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data, pattern",
    [
        (b"", "empty"),
        (b"hello, this is text renamed to .png", "not an image"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "limit"),
    ],
)
def test_bad_files_are_sentences(data, pattern):
    with pytest.raises(UserError, match=pattern):
        open_image(data)


def test_truncated_png_and_jpeg():
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    for fmt in ("PNG", "JPEG"):
        data = _png(noisy, fmt)
        with pytest.raises(UserError, match="damaged|not an image"):
            open_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    # A 20000×20000 PNG of zeros compresses to ~1 MB; open_image must refuse it from the header.
    bomb = Image.new("1", (20000, 20000))
    with pytest.raises(UserError, match="too large"):
        open_image(_png(bomb, optimize=False))


def test_odd_modes_become_rgb():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red -> white
    assert open_image(_png(rgba)).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (8, 8))
    palette.putpalette([0, 128, 255] * 256)
    assert open_image(_png(palette)).getpixel((0, 0)) == (0, 128, 255)
    deep = Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16))
    assert open_image(_png(deep)).getpixel((0, 0)) == (255, 255, 255)
    cmyk = Image.new("CMYK", (8, 8), (0, 0, 0, 0))
    assert open_image(_png(cmyk, "JPEG")).getpixel((0, 0))[0] > 250


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    r, g, b = open_image(buf.getvalue()).getpixel((0, 0))
    assert r > 200 and b < 50


def test_exif_rotation_is_applied_and_max_side():
    wide = Image.new("RGB", (40, 20))
    exif = wide.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    rotated = open_image(_png(wide, "JPEG", exif=exif))
    assert rotated.size == (20, 40)
    assert open_image(_png(Image.new("RGB", (1000, 500))), max_side=100).size == (100, 50)
