"""Turn a drawing into an MNIST digit, the way MNIST itself was made, keeping every step to show.

LeCun et al. describe it: the digit is cropped to its ink, scaled (keeping its aspect ratio) to fit
a 20×20 box with anti-aliasing, then placed in a 28×28 image so that its centre of mass sits at the
centre. A model trained on MNIST sees drawn digits the way it saw its training digits only after the
same steps.

    steps = preprocess(rgba)          # rgba (H, W, 4) uint8 from the canvas
    steps.digit                       # (28, 28) uint8, the model's input before normalization

A page lets a student choose the digit one of four ways (`SOURCES`); `pick` is the one call for all:

    picked = pick(load("mnist"), "class", digit=3, nth=2)   # the third 3 of the test set
    picked = pick(load("mnist"), "upload", picture=png_bytes)  # dark ink on light paper is fine
    picked.image                      # (28, 28) uint8, white ink on black like MNIST
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.data import Dataset, normalize
from core.errors import UserError
from core.images import luminance, open_image

BOX = 20  # MNIST digits fit a 20×20 box ...
SIZE = 28  # ... inside a 28×28 image
INK_THRESHOLD = 20  # ink values (0..255) below this are treated as paper
SOURCES = ("index", "class", "draw", "upload")  # a test image by index or by class, a drawing, an upload
UPLOAD_SIDE = 560  # an upload is shrunk to at most this side first (2× the canvas): a photo stays fast


@dataclass(frozen=True)
class Preprocessed:
    """Every step from the canvas to the model input."""

    ink: np.ndarray  # (H, W) uint8: brightness of the strokes on black (white ink = 255)
    box: tuple[int, int, int, int]  # (top, left, bottom, right) of the ink, bottom/right exclusive
    cropped: np.ndarray  # (h, w) uint8: the ink's bounding box
    scaled: np.ndarray  # (20, 20) uint8: longer side scaled to 20, centred in the box
    digit: np.ndarray  # (28, 28) uint8: the 20×20 placed so the centre of mass is at the centre
    shift: tuple[int, int]  # (rows, cols) the digit moved to centre its mass
    normalized: torch.Tensor  # (1, 1, 28, 28) float: (digit/255 - 0.1307) / 0.3081, what the model reads

    @property
    def square(self) -> np.ndarray:
        """(s, s) uint8: the crop padded to a square with dark grey (40): a thin "1" stays readable."""
        h, w = self.cropped.shape
        side = max(h, w)
        pad = (((side - h) // 2, (side - h + 1) // 2), ((side - w) // 2, (side - w + 1) // 2))
        return np.pad(self.cropped, pad, constant_values=40)


def ink_of(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (H, W) uint8 ink: luminance times opacity (transparent = no ink)."""
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise UserError(
            f"Expected an RGBA image (H, W, 4); got shape {tuple(rgba.shape)}.",
            f"需要 RGBA 图像 (H, W, 4)；收到的形状是 {tuple(rgba.shape)}。",
        )
    alpha = rgba[..., 3].astype(np.float32) / 255.0 if rgba.shape[2] == 4 else 1.0
    return np.clip(luminance(rgba) * alpha, 0, 255).round().astype(np.uint8)


def preprocess(rgba: np.ndarray) -> Preprocessed:
    """Canvas RGBA (H, W, 4) uint8 -> MNIST-style 28×28 digit, with every intermediate step kept."""
    # 1. Ink: white strokes on black
    ink = ink_of(np.asarray(rgba))
    rows = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    if len(rows) == 0:
        raise UserError("The canvas is empty: draw a digit first.", "画布是空的：请先画一个数字。")

    # 2. Crop to the ink's bounding box
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    cropped = ink[top:bottom, left:right]

    # 3. Scale the longer side to 20 pixels (aspect ratio kept, anti-aliased), centre it in 20×20
    h, w = cropped.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    t = torch.from_numpy(cropped).float()[None, None]  # (1, 1, h, w)
    small = F.interpolate(t, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)[0, 0]
    scaled = np.zeros((BOX, BOX), dtype=np.float32)
    oy, ox = (BOX - new_h) // 2, (BOX - new_w) // 2
    scaled[oy : oy + new_h, ox : ox + new_w] = small.clamp(0, 255).numpy()

    # 4. Place in 28×28 so that the centre of mass lands on the centre pixel
    total = scaled.sum()
    ys, xs = np.indices(scaled.shape)
    com_y, com_x = (ys * scaled).sum() / total, (xs * scaled).sum() / total
    start = (SIZE - BOX) // 2  # 4: where a plain centring would put the box
    # MNIST's own digits have their centre of mass at pixel (14, 14) (mean over the training set: 14.0)
    dy = int(np.clip(round(SIZE / 2 - (start + com_y)), -start, start))
    dx = int(np.clip(round(SIZE / 2 - (start + com_x)), -start, start))
    digit = np.zeros((SIZE, SIZE), dtype=np.float32)
    digit[start + dy : start + dy + BOX, start + dx : start + dx + BOX] = scaled
    digit_u8 = digit.round().astype(np.uint8)

    # 5. Normalize as in training
    normalized = normalize(torch.from_numpy(digit_u8)[None])  # (1, 1, 28, 28)
    return Preprocessed(
        ink=ink,
        box=(int(top), int(left), int(bottom), int(right)),
        cropped=cropped,
        scaled=scaled.round().astype(np.uint8),
        digit=digit_u8,
        shift=(dy, dx),
        normalized=normalized,
    )


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of mass of a 2-D array (the brightness-weighted mean position)."""
    image = np.asarray(image, dtype=np.float64)
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return float((ys * image).sum() / total), float((xs * image).sum() / total)


def paper_to_ink(rgb: np.ndarray) -> np.ndarray:
    """A photo or scan (H, W, 3) uint8 -> ink (H, W) uint8: white strokes on black, paper at 0.

    The paper's brightness is the median of the border pixels: on light paper the picture is inverted
    (dark pen -> bright ink). The paper level is then subtracted and the strongest ink stretched to 255.
    """
    lum = luminance(np.asarray(rgb))  # (H, W) float32, 0..255
    border = np.concatenate([lum[0], lum[-1], lum[:, 0], lum[:, -1]])
    paper = float(np.median(border))
    ink = 255 - lum if paper > 127 else lum
    ink = np.clip(ink - min(paper, 255 - paper), 0, None)
    top = float(ink.max())
    return np.zeros(ink.shape, np.uint8) if top <= 0 else np.round(ink * 255 / top).astype(np.uint8)


@dataclass(frozen=True)
class Picked:
    """A digit chosen for a model, and where it came from."""

    image: np.ndarray  # (28, 28) uint8, white ink on black like MNIST
    source: str  # one of SOURCES
    index: int = -1  # the test-set index for "index" and "class", else -1
    label: int = -1  # that test image's label, else -1
    steps: Preprocessed | None = None  # "draw" and "upload": every step from the picture to the 28×28


def pick_by_class(labels: torch.Tensor, digit: int, occurrence: int = 0) -> int:
    """Index of the `occurrence`-th image of class `digit` in labels (N,)."""
    where = torch.nonzero(labels == digit).flatten()
    if len(where) == 0:
        raise UserError(f"There is no test image of class {digit}.", f"测试集中没有类别 {digit} 的图像。")
    return int(where[occurrence % len(where)])


def pick(
    ds: Dataset,
    source: str,
    index: int = 0,
    digit: int = 0,
    nth: int = 0,
    picture: np.ndarray | bytes | None = None,
) -> Picked | None:
    """One way to choose a digit: a test image by index, by class (its nth), a canvas RGBA, or upload bytes.

    Returns None while a drawing or an upload is missing (`picture` None or a blank canvas).
    """
    if source in ("index", "class"):
        i = int(index) if source == "index" else pick_by_class(ds.test_y, digit, nth)
        if not 0 <= i < len(ds.test_x):
            raise UserError(
                f"The test set has images 0 to {len(ds.test_x) - 1}; {i} is not one of them.",
                f"测试集的图像序号是 0 到 {len(ds.test_x) - 1}；没有 {i}。",
            )
        return Picked(ds.test_x[i].numpy(), source, i, int(ds.test_y[i]))
    if source not in SOURCES:
        raise ValueError(f"unknown digit source {source!r}; one of {SOURCES}")
    if picture is None:
        return None
    if source == "upload":
        ink = paper_to_ink(np.asarray(open_image(picture, max_side=UPLOAD_SIDE)))  # (H, W)
        picture = np.repeat(ink[..., None], 3, axis=2)  # grey RGB: preprocess reads the same ink back
        if not (ink >= INK_THRESHOLD).any():
            raise UserError(
                "No digit found in the picture: write it darker or lighter than the paper around it.",
                "图片里没有找到数字：笔迹要比周围的纸明显更深（或更浅）。",
            )
    elif not (ink_of(np.asarray(picture)) >= INK_THRESHOLD).any():
        return None  # a blank canvas: nothing drawn yet
    steps = preprocess(picture)
    return Picked(steps.digit, source, steps=steps)
