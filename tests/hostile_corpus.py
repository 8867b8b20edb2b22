"""Every odd input a class of forty students will eventually send, generated (no binary fixtures).

One corpus feeds every upload point and loader: the core tests (tests/test_hostile.py) run all of
it against core.images.open_image, core.data and core.checkpoint; the browser tests push a
representative subset through each page's st.file_uploader. Use it from a test or a notebook:

    from tests.hostile_corpus import image_cases, write_corpus
    for case in image_cases():            # in memory
        ...
    paths = write_corpus(tmp_path)         # the same files on disk, for Playwright set_input_files

Each case says what must happen: "ok" (a correct RGB image comes out) or "refuse" (a UserError with
a teaching sentence whose English text matches `pattern`).
"""

from __future__ import annotations

import functools
import io
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    name: str  # short id, used in test ids and screenshot names
    filename: str  # what the student's file is called (the extension may lie)
    data: bytes = field(repr=False)
    expect: str  # "ok" | "refuse"
    pattern: str = ""  # regex the English sentence must match (refuse cases)
    size: tuple[int, int] | None = None  # (width, height) the decoded RGB image must have (ok cases)
    pixel: tuple[int, int, int] | None = None  # the colour of pixel (0, 0) after decoding (ok cases)
    mime: str = "application/octet-stream"


# --- building blocks --------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    """PIL image -> file bytes in `fmt`."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """An RGB image of uniform noise (incompressible, so truncation really cuts pixel data)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_by_hand(
    width: int, height: int, bit_depth: int, color_type: int, rows: Callable[[int], bytes]
) -> bytes:
    """A PNG written chunk by chunk (PIL cannot write 16-bit RGB or stream a 20000² bomb).

    `rows(y)` returns the raw bytes of row y (without the filter byte); they are deflated as a stream,
    so a 400-megapixel image never sits in memory.
    """
    deflate = zlib.compressobj(9)
    idat = bytearray()
    for y in range(height):
        idat += deflate.compress(b"\x00" + rows(y))
    idat += deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", bytes(idat)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


# --- the image corpus -------------------------------------------------------------------------


@functools.cache
def image_cases(limit_mb: int | None = None) -> tuple[Case, ...]:
    """Every odd image upload of issue #9, plus a few more; `limit_mb` sizes the over-limit file."""
    from core.images import MAX_UPLOAD_BYTES

    limit = (limit_mb * 2**20) if limit_mb else MAX_UPLOAD_BYTES
    png = encode(noise(64, 48))
    jpeg = encode(noise(64, 48), "JPEG", quality=95)

    rgba = Image.new("RGBA", (32, 24), (255, 0, 0, 0))  # fully transparent red: must become white
    palette = Image.new("P", (32, 24), 3)
    palette.putpalette([0, 0, 0] * 3 + [0, 128, 255] + [0, 0, 0] * 252)
    grey16 = Image.fromarray(np.full((24, 32), 65535, dtype=np.uint16))  # 16-bit greyscale
    frames = [Image.new("RGB", (32, 24), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    landscape = Image.new("RGB", (40, 20), (250, 250, 0))
    exif = landscape.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display -> a 20×40 portrait
    # 16-bit RGB (colour type 2, depth 16): every sample 0xFFFF -> white after decoding.
    rgb16 = png_by_hand(16, 8, 16, 2, lambda y: b"\xff" * (16 * 6))
    # A 20000×20000 1-bit PNG of zeros: ~50 MB of pixels deflated to ~50 kB; 400 M pixels decoded.
    bomb = png_by_hand(20_000, 20_000, 1, 0, lambda y, row=bytes(2500): row)
    # Over the upload limit: a perfectly valid PNG, just too big (stored, not compressed).
    side = int((limit / 3) ** 0.5) + 64
    too_big = encode(noise(side, side, seed=1), compress_level=0)
    assert len(too_big) > limit

    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" '
        b'height="64"><circle cx="32" cy="32" r="30" fill="red"/></svg>\n'
    )
    return (
        Case("empty", "empty.png", b"", "refuse", "empty", mime="image/png"),
        Case(
            "truncated_png",
            "truncated.png",
            png[: len(png) // 2],
            "refuse",
            "damaged|truncated",
            mime="image/png",
        ),
        Case(
            "truncated_jpeg",
            "truncated.jpg",
            jpeg[: len(jpeg) // 2],
            "refuse",
            "damaged|truncated",
            mime="image/jpeg",
        ),
        Case(
            "text_as_png",
            "notes.png",
            "These are my lecture notes, not a picture. 笔记\n".encode() * 20,
            "refuse",
            "not an image",
            mime="image/png",
        ),
        Case("svg", "drawing.svg", svg, "refuse", "SVG", mime="image/svg+xml"),
        Case("svg_as_png", "drawing.png", svg, "refuse", "SVG", mime="image/png"),
        Case("bomb", "bomb.png", bomb, "refuse", "too large", mime="image/png"),
        Case("over_limit", "huge.png", too_big, "refuse", "limit", mime="image/png"),
        Case(
            "png16_grey",
            "deep16.png",
            encode(grey16),
            "ok",
            size=(32, 24),
            pixel=(255, 255, 255),
            mime="image/png",
        ),
        Case(
            "png16_rgb", "deep16rgb.png", rgb16, "ok", size=(16, 8), pixel=(255, 255, 255), mime="image/png"
        ),
        Case(
            "cmyk_jpeg",
            "print.jpg",
            encode(Image.new("CMYK", (32, 24), (0, 0, 0, 0)), "JPEG"),
            "ok",
            size=(32, 24),
            pixel=(255, 255, 255),
            mime="image/jpeg",
        ),
        Case(
            "rgba",
            "transparent.png",
            encode(rgba),
            "ok",
            size=(32, 24),
            pixel=(255, 255, 255),
            mime="image/png",
        ),
        Case(
            "palette",
            "palette.png",
            encode(palette),
            "ok",
            size=(32, 24),
            pixel=(0, 128, 255),
            mime="image/png",
        ),
        Case(
            "animated_gif",
            "anim.gif",
            gif.getvalue(),
            "ok",
            size=(32, 24),
            pixel=(255, 0, 0),
            mime="image/gif",
        ),
        Case(
            "exif_rotated",
            "phone.jpg",
            encode(landscape, "JPEG", exif=exif, quality=95),
            "ok",
            size=(20, 40),
            mime="image/jpeg",
        ),
        Case(
            "jpeg_as_png", "photo.png", encode(noise(30, 20), "JPEG"), "ok", size=(30, 20), mime="image/png"
        ),
        Case(
            "tiny",
            "one_pixel.png",
            encode(Image.new("L", (1, 1), 0)),
            "ok",
            size=(1, 1),
            pixel=(0, 0, 0),
            mime="image/png",
        ),
    )


def case(name: str) -> Case:
    """One image case by name."""
    return next(c for c in image_cases() if c.name == name)


# --- prompts ----------------------------------------------------------------------------------

PROMPTS: dict[str, str] = {
    "empty": "",
    "blank": "   \n\t ",
    "long_10000": ("A fantasy landscape, trending on artstation, " * 250)[:10_000],
    "emoji": "🐉🏔️🌅 a dragon over the mountains at sunrise ✨🔥",
    "chinese": "奇幻风景，雪山与湖泊，日落，艺术站热门",
    "control_chars": "a castle\x00\x1b[31m in red\u202e",
}


# --- checkpoints ------------------------------------------------------------------------------


class _RunsCode:
    """Unpickling this object runs `open(marker, 'w').write(...)`: the classic malicious checkpoint."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('this code ran while loading a checkpoint')",))


def checkpoint_cases(folder: Path, good_state: dict | None = None) -> dict[str, Path]:
    """Hostile checkpoint files in `folder`; `marker` is the file the malicious ones would create.

    `good_state` (a real model's state_dict) is cut in half for the truncated cases; without it a
    small conv net's is used. Keys: wrong_arch_pt, wrong_arch_safetensors, truncated_pt,
    truncated_safetensors, pickle_code (a torch.save zip whose pickle runs code), raw_pickle_code
    (a bare pickle that does), empty, text, and marker.
    """
    import torch
    from safetensors.torch import save as st_save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "PWNED_marker.txt"
    if good_state is None:
        good_state = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(32 * 26 * 26, 10)
        ).state_dict()
    wrong = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Linear(5, 3)).state_dict()  # not a CNN

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    def torch_bytes(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    good_pt = torch_bytes(good_state)
    good_st = st_save({k: v.contiguous() for k, v in good_state.items()})
    return {
        "wrong_arch_pt": write("wrong_arch.pt", torch_bytes(wrong)),
        "wrong_arch_safetensors": write("wrong_arch.safetensors", st_save(wrong)),
        "truncated_pt": write("truncated.pt", good_pt[: len(good_pt) // 2]),
        "truncated_safetensors": write("truncated.safetensors", good_st[: len(good_st) // 2]),
        "pickle_code": write("evil.pt", torch_bytes({"state_dict": _RunsCode(marker)})),
        "raw_pickle_code": write("evil.pkl", pickle.dumps(_RunsCode(marker))),
        "empty": write("empty.pt", b""),
        "text": write("notes.pt", b"not a checkpoint at all\n" * 10),
        "marker": marker,
    }


# --- on disk ----------------------------------------------------------------------------------


def write_corpus(folder: Path, limit_mb: int | None = None) -> dict[str, Path]:
    """Write every image case to `folder` under its own file name; returns {case name: path}."""
    folder = Path(folder)
    out = {}
    for c in image_cases(limit_mb):
        sub = folder / c.name  # one folder per case: two cases may share a file name
        sub.mkdir(parents=True, exist_ok=True)
        out[c.name] = sub / c.filename
        out[c.name].write_bytes(c.data)
    return out


if __name__ == "__main__":  # python -m tests.hostile_corpus /tmp/corpus : look at the files yourself
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    for name, path in write_corpus(target).items():
        print(f"{name:15s} {path.stat().st_size:>10,d} B  {path}")
    for name, path in checkpoint_cases(target / "checkpoints").items():
        if path.exists():
            print(f"{name:15s} {path.stat().st_size:>10,d} B  {path}")
