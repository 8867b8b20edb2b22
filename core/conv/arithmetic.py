"""Convolution arithmetic by hand: sizes, padding, `conv2d`, `pool2d`, exactly as `torch.nn.functional`.

Shapes: an image is (H, W) or (C, H, W); a kernel is (kh, kw) or (C, kh, kw); channels are summed.
Like PyTorch (and unlike the textbook definition) this is cross-correlation: the kernel is not flipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from core.errors import UserError

Pair = int | tuple[int, int]
ArrayLike = np.ndarray | Sequence

SLIDE_INPUT = np.arange(9, dtype=np.float64).reshape(3, 3)  # the slides' 3×3 input 0..8
SLIDE_KERNEL = np.array([[0, 1], [2, 3]], dtype=np.float64)  # ... and 2×2 kernel: 19 25 37 43
SLIDE_MULTI_INPUT = np.stack([SLIDE_INPUT, SLIDE_INPUT + 1])  # (2, 3, 3): 0..8 and 1..9
SLIDE_MULTI_KERNEL = np.stack([SLIDE_KERNEL, SLIDE_KERNEL + 1])  # (2, 2, 2): [[0,1],[2,3]] and [[1,2],[3,4]]


# --- sizes ------------------------------------------------------------------------------------


def pair(value: Pair, name: str) -> tuple[int, int]:
    """An int or an (h, w) pair -> (h, w)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    items = tuple(value)
    if len(items) != 2:
        raise UserError(
            f"{name} must be one number or a pair (height, width), not {value!r}.",
            f"{name} 必须是一个数或一对数（高, 宽），而不是 {value!r}。",
        )
    return int(items[0]), int(items[1])


def output_size(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> int:
    """Output length along one axis: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 (PyTorch's Conv2d docs)."""
    if n < 1:
        raise UserError(
            "The input is empty: it needs at least one row and one column.", "输入是空的：至少需要一行一列。"
        )
    if kernel < 1:
        raise UserError(
            "The kernel is empty: it needs at least one row and one column.",
            "卷积核是空的：至少需要一行一列。",
        )
    if stride < 1:
        raise UserError(
            f"Stride must be at least 1 (got {stride}): with stride 0 the window would never move.",
            f"步幅至少为 1（现在是 {stride}）：步幅为 0 时窗口永远不会移动。",
        )
    if dilation < 1:
        raise UserError(
            f"Dilation must be at least 1 (got {dilation}): 1 means the kernel's taps are adjacent.",
            f"空洞（膨胀）至少为 1（现在是 {dilation}）：1 表示卷积核的各个位置紧挨着。",
        )
    if padding < 0:
        raise UserError(
            f"Padding cannot be negative (got {padding}).", f"填充不能为负数（现在是 {padding}）。"
        )
    span = dilation * (kernel - 1) + 1  # how many input pixels one window covers
    if span > n + 2 * padding:
        raise UserError(
            f"The kernel covers {span} pixels (dilation {dilation} × ({kernel} − 1) + 1) but the padded "
            f"input is only {n + 2 * padding} wide ({n} + 2×{padding}): add padding, or use a smaller "
            "kernel or dilation.",
            f"卷积核覆盖 {span} 个像素（空洞 {dilation} × ({kernel} − 1) + 1），但填充后的输入只有 "
            f"{n + 2 * padding} 宽（{n} + 2×{padding}）：请增加填充，或减小卷积核或空洞。",
        )
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def output_shape(
    in_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
) -> tuple[int, int]:
    """(H, W) and (kh, kw) -> (H_out, W_out), each axis by `output_size`."""
    (ph, pw), (sh, sw), (dh, dw) = (
        pair(padding, "padding"),
        pair(stride, "stride"),
        pair(dilation, "dilation"),
    )
    return (output_size(in_hw[0], kernel_hw[0], ph, sh, dh), output_size(in_hw[1], kernel_hw[1], pw, sw, dw))


def size_formula(n: int, kernel: int, padding: int = 0, stride: int = 1, dilation: int = 1) -> str:
    """The output-size formula with the numbers put in, e.g. '⌊(3 + 2×0 − 1×(2 − 1) − 1) / 1⌋ + 1 = 2'."""
    out = output_size(n, kernel, padding, stride, dilation)
    top = n + 2 * padding - dilation * (kernel - 1) - 1
    return (
        f"⌊({n} + 2×{padding} − {dilation}×({kernel} − 1) − 1) / {stride}⌋ + 1"
        f" = ⌊{top} / {stride}⌋ + 1 = {out}"
    )


# --- the operations ---------------------------------------------------------------------------


def as_chw(a: ArrayLike, what: str) -> np.ndarray:
    """(H, W) or (C, H, W) -> (C, H, W) float array (float32 stays float32, the rest become float64)."""
    arr = np.asarray(a)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise UserError(
            f"The {what} must contain numbers only.",
            f"{'输入' if what == 'input' else '卷积核'}只能包含数字。",
        )
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise UserError(
            f"The {what} must be a non-empty (H, W) or (C, H, W) array, got shape {arr.shape}.",
            f"{'输入' if what == 'input' else '卷积核'}必须是非空的 (H, W) 或 (C, H, W) 数组，"
            f"现在的形状是 {arr.shape}。",
        )
    arr = arr.astype(np.promote_types(arr.dtype, np.float32), copy=False)
    if not np.isfinite(arr).all():
        raise UserError(
            f"The {what} contains inf or NaN.",
            f"{'输入' if what == 'input' else '卷积核'}中含有 inf 或 NaN。",
        )
    return arr


def broadcast_kernel(kernel: ArrayLike, channels: int) -> np.ndarray:
    """(kh, kw) or (C, kh, kw) -> (channels, kh, kw): a one-channel kernel is used on every channel."""
    k3 = as_chw(kernel, "kernel")
    if k3.shape[0] == 1 and channels > 1:
        k3 = np.repeat(k3, channels, axis=0)
    if k3.shape[0] != channels:
        raise UserError(
            f"The input has {channels} channels but the kernel has {k3.shape[0]}: "
            "a convolution needs one kernel slice per input channel.",
            f"输入有 {channels} 个通道，而卷积核有 {k3.shape[0]} 个：每个输入通道都需要一片卷积核。",
        )
    return k3


def pad(x: ArrayLike, padding: Pair, value: float = 0.0) -> np.ndarray:
    """(C, H, W) or (H, W) -> the same with `padding` rows/columns of `value` on every side."""
    arr = np.asarray(x)
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise UserError(
            f"Padding cannot be negative (got {padding}).", f"填充不能为负数（现在是 {padding}）。"
        )
    widths = [(0, 0)] * (arr.ndim - 2) + [(ph, ph), (pw, pw)]
    return np.pad(arr, widths, constant_values=value)


def conv2d_channels(
    x: ArrayLike, kernel: ArrayLike, padding: Pair = 0, stride: Pair = 1, dilation: Pair = 1
) -> np.ndarray:
    """(C, H, W) ⋆ (C, kh, kw) -> (C, H_out, W_out): each channel with its own kernel slice, not yet summed.

    A 2-D kernel is used for every channel. Summing over C gives `conv2d`.
    """
    x3 = as_chw(x, "input")
    k3 = broadcast_kernel(kernel, x3.shape[0])  # (C, kh, kw)
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
    _, kh, kw = k3.shape
    oh, ow = output_shape(x3.shape[1:], (kh, kw), padding, (sh, sw), (dh, dw))
    xp = pad(x3, padding)  # (C, H + 2ph, W + 2pw)
    dtype = np.promote_types(x3.dtype, k3.dtype)
    out = np.zeros((x3.shape[0], oh, ow), dtype=dtype)
    term = np.empty_like(out)  # reused buffer: no new array per tap
    # Loop over the kh·kw taps, not over the output cells: tap (i, j) of every window at once is a
    # strided slice of the padded input, starting at (i·dh, j·dw) and stepping by the stride.
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            np.multiply(xp[:, rows, cols], k3[:, i, j, None, None], out=term)  # (C, oh, ow) * (C, 1, 1)
            out += term
    return out


def conv2d(
    x: ArrayLike,
    kernel: ArrayLike,
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    bias: float = 0.0,
) -> np.ndarray:
    """(H, W) or (C, H, W) ⋆ (kh, kw) or (C, kh, kw) -> (H_out, W_out), channels summed, plus `bias`.

    The same numbers as `F.conv2d(x[None], kernel[None], bias, stride, padding, dilation)[0, 0]`.
    """
    return conv2d_channels(x, kernel, padding, stride, dilation).sum(axis=0) + bias


def separable_conv2d_channels(
    x: np.ndarray, kernel: np.ndarray, padding: Pair = 0, stride: Pair = 1, dilation: Pair = 1
) -> np.ndarray:
    """(C, H, W) ⋆ (kh, kw) -> (C, H_out, W_out), the same numbers as `conv2d_channels`, faster for blurs.

    A kernel of rank r is a sum of r outer products u vᵀ (its SVD); each is a column pass then a row pass,
    kh + kw taps instead of kh·kw. A 5×5 Gaussian has rank 1: 10 taps instead of 25.
    """
    kh, kw = kernel.shape
    u, s, vt = np.linalg.svd(kernel.astype(np.float64))
    rank = int((s > s[0] * 1e-6).sum()) if s[0] > 0 else 0
    if rank == 0 or rank * (kh + kw) >= kh * kw:
        return conv2d_channels(x, kernel, padding, stride, dilation)
    (ph, pw), (sh, sw), (dh, dw) = (
        pair(padding, "padding"),
        pair(stride, "stride"),
        pair(dilation, "dilation"),
    )
    out = None
    for i in range(rank):
        col = (u[:, i] * s[i]).astype(x.dtype)[:, None]  # (kh, 1)
        row = vt[i].astype(x.dtype)[None, :]  # (1, kw)
        part = conv2d_channels(x, col, (ph, 0), (sh, 1), (dh, 1))  # down the columns
        part = conv2d_channels(part, row, (0, pw), (1, sw), (1, dw))  # then along the rows
        out = part if out is None else out + part
    return out


def pool2d(x: ArrayLike, kernel: Pair, stride: Pair | None = None, mode: str = "max") -> np.ndarray:
    """(H, W) -> (H_out, W_out) or (C, H, W) -> (C, H_out, W_out): max or mean of each window, per channel.

    `stride` defaults to the window size, as in `F.max_pool2d`; no padding, floor mode.
    """
    if mode not in ("max", "avg"):
        raise UserError(
            f"Pooling mode must be 'max' or 'avg', not {mode!r}.",
            f"池化方式必须是 max 或 avg，而不是 {mode!r}。",
        )
    arr = np.asarray(x)
    x3 = as_chw(arr, "input")
    kh, kw = pair(kernel, "kernel")
    sh, sw = pair(kernel if stride is None else stride, "stride")
    oh, ow = output_shape(x3.shape[1:], (kh, kw), 0, (sh, sw), 1)
    taps = [
        x3[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
        for i in range(kh)
        for j in range(kw)
    ]
    out = np.maximum.reduce(taps) if mode == "max" else np.add.reduce(taps) / (kh * kw)
    return out[0] if arr.ndim == 2 else out


# --- typed matrices ------------------------------------------------------------------------

MAX_GRID = 8  # grid mode: inputs up to 8×8
MAX_KERNEL = 7


def parse_matrix(text: str, what: str = "input", max_side: int = MAX_GRID) -> np.ndarray:
    """Typed numbers -> (C, H, W): rows on lines, numbers split by spaces/commas, channels by a blank line."""
    label_zh = "输入" if what == "input" else "卷积核"
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    if not blocks:
        raise UserError(
            f"The {what} is empty: type rows of numbers, one row per line.",
            f"{label_zh}是空的：请输入数字，每行一行。",
        )
    channels = []
    for block in blocks:
        rows = []
        for line in block.strip().splitlines():
            cells = [c for c in re.split(r"[\s,;]+", line.strip().strip("[]")) if c]
            try:
                rows.append([float(c.replace("−", "-")) for c in cells])
            except ValueError as err:
                raise UserError(
                    f"The {what} has something that is not a number in the row {line.strip()!r}.",
                    f"{label_zh}的这一行中有不是数字的内容：{line.strip()!r}。",
                ) from err
        if len({len(r) for r in rows}) != 1:
            raise UserError(
                f"Every row of the {what} needs the same number of values "
                f"(got rows of {sorted({len(r) for r in rows})}).",
                f"{label_zh}的每一行必须有相同个数的数"
                f"（现在各行分别有 {sorted({len(r) for r in rows})} 个）。",
            )
        channels.append(np.array(rows, dtype=np.float64))
    if len({c.shape for c in channels}) != 1:
        raise UserError(
            f"Every channel of the {what} must have the same size.", f"{label_zh}的每个通道必须大小相同。"
        )
    arr = np.stack(channels)
    if max(arr.shape[1:]) > max_side or arr.shape[0] > 4:
        raise UserError(
            f"The {what} can be at most {max_side}×{max_side} with 4 channels here (got "
            f"{arr.shape[0]}×{arr.shape[1]}×{arr.shape[2]}).",
            f"这里的{label_zh}最大为 {max_side}×{max_side}、4 个通道（现在是 "
            f"{arr.shape[0]}×{arr.shape[1]}×{arr.shape[2]}）。",
        )
    if not np.isfinite(arr).all():
        raise UserError(f"The {what} contains inf or NaN.", f"{label_zh}中含有 inf 或 NaN。")
    return arr


def format_matrix(a: ArrayLike) -> str:
    """(H, W) or (C, H, W) -> text that `parse_matrix` reads back."""
    arr = np.asarray(a, dtype=np.float64)
    arr = arr[None] if arr.ndim == 2 else arr
    return "\n\n".join("\n".join(" ".join(fmt(v) for v in row) for row in ch) for ch in arr)


def fmt(v: float) -> str:
    """A number as a student writes it: 19, 0.0625, -1."""
    v = float(v)
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.4g}"
