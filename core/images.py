"""Turning uploaded bytes into a safe RGB image, with a teaching sentence for everything that can go wrong."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import UserError
from core.limits import LIMITS

MAX_UPLOAD_BYTES = LIMITS.max_upload_mb * 2**20  # keep server.maxUploadSize (MB) in config.toml equal
MAX_PIXELS = 40_000_000  # a 20000×20000 "decompression bomb" is 400 M pixels: refused before decoding


def open_image(data: bytes, max_side: int | None = None) -> Image.Image:
    """Decode PNG/JPEG/GIF/WebP/BMP bytes into an RGB image (EXIF rotation applied).

    RGBA is laid on white, palette and 16-bit images are converted, an animated GIF gives its first
    frame. `max_side` shrinks the image (keeping its aspect) so its longer side is at most that.
    """
    if not data:
        raise UserError("The file is empty.", "文件是空的。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(
            f"The file is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB.",
            f"文件大小为 {len(data) / 2**20:.1f} MB，上限是 {MAX_UPLOAD_BYTES // 2**20} MB。",
        )
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        raise UserError(
            "SVG is a vector drawing, not pixels: export it as PNG or JPEG first.",
            "SVG 是矢量图而不是像素图：请先导出为 PNG 或 JPEG。",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UserError(
                    f"The image is {width}×{height} pixels, too large to open safely "
                    f"(limit {MAX_PIXELS // 1_000_000} million pixels). Resize it first.",
                    f"图像有 {width}×{height} 像素，太大，无法安全打开"
                    f"（上限 {MAX_PIXELS // 1_000_000} 百万像素）。请先缩小。",
                )
            image.seek(0)  # animated GIF/WebP: the first frame
            image.load()
    except UserError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        if isinstance(err, UnidentifiedImageError):
            raise UserError(
                "This file is not an image that can be read (PNG, JPEG, GIF, WebP or BMP).",
                "无法识别该文件为图像（支持 PNG、JPEG、GIF、WebP、BMP）。",
            ) from err
        raise UserError(
            "The image is too large to open safely. Resize it first.", "图像太大，无法安全打开。请先缩小。"
        ) from err
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data
        raise UserError(
            "The image file is damaged or incomplete (truncated). Save it again and re-upload.",
            "图像文件已损坏或不完整（被截断）。请重新保存后再上传。",
        ) from err
    image = ImageOps.exif_transpose(image)
    image = to_rgb(image)
    if max_side is not None and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit greyscale: scale to 0..255
        arr = np.asarray(image, dtype=np.float64)
        top = arr.max() if arr.max() > 255 else 255.0
        image = Image.fromarray((arr / max(top, 1) * 255).round().astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B, as PIL's "L" mode


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(..., 3 or 4) RGB(A) -> (...) float32 brightness, 0..255 for uint8 input (alpha ignored)."""
    return rgb[..., :3].astype(np.float32) @ np.array(LUMA, dtype=np.float32)


def zoom(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (H, W[, C]) -> (H·f, W·f[, C]): pixels stay visible as squares."""
    factor = max(1, int(factor))
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def mosaic(images: np.ndarray, per_row: int, gap: int = 1, fill: float = 0) -> np.ndarray:
    """(N, H, W) images -> one (rows·(H+gap)−gap, cols·(W+gap)−gap) picture, row by row."""
    n, h, w = images.shape[:3]
    cols = max(1, min(per_row, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, *images.shape[3:]), fill, images.dtype)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return out
