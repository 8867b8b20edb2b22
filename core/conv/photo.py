"""Photo mode: named kernels, the sample photos, and one photo convolved channel by channel.

>>> res = explore_photo(sample_image("test_card"), named_kernel("sobel_x"), padding=1)
>>> res.in_shape, res.conv_shape
((3, 384, 384), (384, 384))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.conv.arithmetic import ArrayLike, Pair, as_chw, pool2d, separable_conv2d_channels
from core.errors import UserError
from core.images import luminance

_BINOMIAL5 = np.array([1, 4, 6, 4, 1], dtype=np.float64)
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),  # Laplacian, 8-neighbour
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "gaussian3": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "gaussian5": np.outer(_BINOMIAL5, _BINOMIAL5) / 256,  # binomial approximation of a Gaussian
    "box": np.ones((3, 3)) / 9,
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),  # responds to vertical edges
    "sobel_y": np.array(
        [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64
    ),  # responds to horizontal edges
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
}


def named_kernel(name: str) -> np.ndarray:
    """A copy of one of KERNELS, (kh, kw)."""
    if name not in KERNELS:
        raise UserError(
            f"Unknown kernel {name!r}; choose one of: {', '.join(KERNELS)}.",
            f"未知的卷积核 {name!r}；可选：{', '.join(KERNELS)}。",
        )
    return KERNELS[name].copy()


SAMPLES = ("test_card", "china", "flower")
MAX_PHOTO_SIDE = 512


def test_card(size: int = 384) -> np.ndarray:
    """A geometric test image -> (size, size, 3) uint8: stripes, checkerboard, disc, ramp and RGB bars."""
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w, 3), 235, dtype=np.uint8)
    q = size // 2
    img[:q, :q][(xx[:q, :q] // 12) % 2 == 0] = 30  # vertical stripes: Sobel x lights up, Sobel y does not
    img[:q, q:][(yy[:q, q:] // 12) % 2 == 0] = 30  # horizontal stripes
    checker = ((xx[q:, :q] // 24) + (yy[q:, :q] // 24)) % 2 == 0
    img[q:, :q][checker] = 30
    ramp = (xx[q:, q:] - q) / (w - q - 1) * 255  # smooth ramp: no edges for the Laplacian to find
    img[q:, q:] = ramp[..., None].astype(np.uint8)
    disc = (yy - h // 2) ** 2 + (xx - w // 2) ** 2 < (size // 7) ** 2
    img[disc] = (230, 40, 40)
    bar = size // 16
    for c in range(3):  # pure red, green and blue bars: each lights up one channel only
        color = [0, 0, 0]
        color[c] = 255
        img[h - bar :, c * w // 3 : (c + 1) * w // 3] = color
    return img


def sample_image(name: str) -> np.ndarray:
    """A bundled sample photo -> (H, W, 3) uint8, longer side at most MAX_PHOTO_SIDE."""
    if name == "test_card":
        return test_card()
    if name not in SAMPLES:
        raise UserError(f"Unknown sample {name!r}.", f"未知的示例图片 {name!r}。")
    from PIL import Image
    from sklearn.datasets import load_sample_image  # ships the two JPEGs inside the package: no network

    img = Image.fromarray(load_sample_image(f"{name}.jpg"))
    img.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(img)


def to_uint8(a: np.ndarray, display: str = "clip") -> np.ndarray:
    """A float map -> uint8 to show: 'clip' to 0..255 like an image viewer, or 'rescale' min..max."""
    if display == "rescale":
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(a, 0, 255).astype(np.uint8)


@dataclass
class PhotoResult:
    """Everything photo mode shows, as arrays ready for display (uint8) plus the shapes for the text."""

    channels: list[np.ndarray]  # per input channel, (H, W, 3) uint8 tinted R/G/B (or one gray)
    per_channel: list[np.ndarray]  # per channel result, (H', W', 3) uint8 tinted
    combined: np.ndarray  # (H', W', 3) colour filter (channels kept apart) or (H', W') gray
    summed: np.ndarray  # (H', W') uint8: what nn.Conv2d(C, 1) gives, the channels summed, rescaled to show
    summed_range: tuple[float, float]  # min and max of the sum before rescaling
    in_shape: tuple[int, int, int]  # (C, H, W)
    conv_shape: tuple[int, int]  # (H_out, W_out) after the convolution
    out_shape: tuple[int, int]  # after pooling too


def _tint(gray_u8: np.ndarray, c: int) -> np.ndarray:
    """(H, W) uint8 -> (H, W, 3) with only channel c lit."""
    out = np.zeros((*gray_u8.shape, 3), dtype=np.uint8)
    out[..., c] = gray_u8
    return out


def explore_photo(
    rgb: np.ndarray,
    kernel: ArrayLike,
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    colour: bool = True,
    pool: str = "none",
    pool_size: int = 2,
    display: str = "clip",
) -> PhotoResult:
    """(H, W, 3) uint8 photo ⋆ (kh, kw) kernel on each channel -> PhotoResult (per channel, combined, sum)."""
    if rgb.ndim != 3 or rgb.shape[-1] < 3 or 0 in rgb.shape:
        raise UserError("The photo must be a non-empty colour image.", "照片必须是非空的彩色图像。")
    k = as_chw(kernel, "kernel")
    if k.shape[0] != 1:
        raise UserError(
            "In photo mode the kernel is one 2-D grid, used on every channel.",
            "照片模式下卷积核是一个二维网格，用于每个通道。",
        )
    k = k.astype(np.float32)
    if colour:
        x = np.ascontiguousarray(rgb[..., :3].transpose(2, 0, 1), dtype=np.float32)  # (3, H, W)
    else:
        x = luminance(rgb)[None]  # (1, H, W)
    per = separable_conv2d_channels(x, k[0], padding, stride, dilation)  # (C, H', W')
    conv_shape = per.shape[1:]
    summed = per.sum(axis=0)  # (H', W'): one output channel of nn.Conv2d(C, 1)
    if pool != "none":
        per = pool2d(per, pool_size, mode=pool)
        summed = pool2d(summed, pool_size, mode=pool)
    if colour:
        channels = [_tint(rgb[..., c], c) for c in range(3)]
        shown = [to_uint8(p, display) for p in per]
        per_channel = [_tint(s, c) for c, s in enumerate(shown)]
        combined = np.stack(shown, axis=-1)  # a photo filter: each channel filtered on its own (groups=3)
    else:
        channels = [to_uint8(x[0])]
        per_channel = [to_uint8(per[0], display)]
        combined = per_channel[0]
    return PhotoResult(
        channels,
        per_channel,
        combined,
        to_uint8(summed, "rescale"),
        (float(summed.min()), float(summed.max())),
        tuple(x.shape),
        tuple(conv_shape),
        tuple(summed.shape),
    )
