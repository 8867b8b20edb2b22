"""2-D convolution and pooling written out by hand, exactly as `torch.nn.functional.conv2d` computes them.

Everything here works on numpy arrays, so a notebook can use it directly:

    >>> from core import conv
    >>> x = np.arange(9).reshape(3, 3)                      # the slides' 3×3 input 0..8
    >>> conv.conv2d(x, [[0, 1], [2, 3]])
    array([[19., 25.],
           [37., 43.]])
    >>> conv.trace_cell(x, [[0, 1], [2, 3]], 0, 0).expression()
    '0×0 + 1×1 + 3×2 + 4×3 = 19'

Like PyTorch (and unlike the textbook definition) this is cross-correlation: the kernel is not flipped.
Shapes: an image is (H, W) or (C, H, W); a kernel is (kh, kw) or (C, kh, kw); channels are summed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import UserError

Pair = int | tuple[int, int]
ArrayLike = np.ndarray | Sequence


# --- sizes ------------------------------------------------------------------------------------


def _pair(value: Pair, name: str) -> tuple[int, int]:
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
        _pair(padding, "padding"),
        _pair(stride, "stride"),
        _pair(dilation, "dilation"),
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


def _as_chw(a: ArrayLike, what: str) -> np.ndarray:
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


def pad(x: ArrayLike, padding: Pair, value: float = 0.0) -> np.ndarray:
    """(C, H, W) or (H, W) -> the same with `padding` rows/columns of `value` on every side."""
    arr = np.asarray(x)
    ph, pw = _pair(padding, "padding")
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
    x3, k3 = _as_chw(x, "input"), _as_chw(kernel, "kernel")
    if k3.shape[0] == 1 and x3.shape[0] > 1:
        k3 = np.repeat(k3, x3.shape[0], axis=0)
    if k3.shape[0] != x3.shape[0]:
        raise UserError(
            f"The input has {x3.shape[0]} channels but the kernel has {k3.shape[0]}: "
            "a convolution needs one kernel slice per input channel.",
            f"输入有 {x3.shape[0]} 个通道，而卷积核有 {k3.shape[0]} 个：每个输入通道都需要一片卷积核。",
        )
    (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
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
        _pair(padding, "padding"),
        _pair(stride, "stride"),
        _pair(dilation, "dilation"),
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
    x3 = _as_chw(arr, "input")
    kh, kw = _pair(kernel, "kernel")
    sh, sw = _pair(kernel if stride is None else stride, "stride")
    oh, ow = output_shape(x3.shape[1:], (kh, kw), 0, (sh, sw), 1)
    taps = [
        x3[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
        for i in range(kh)
        for j in range(kw)
    ]
    out = np.maximum.reduce(taps) if mode == "max" else np.add.reduce(taps) / (kh * kw)
    return out[0] if arr.ndim == 2 else out


# --- named kernels ----------------------------------------------------------------------------

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


# --- step trace -------------------------------------------------------------------------------


@dataclass
class Step:
    """One output cell: where the window sits in the padded input, what it multiplies, and the result."""

    row: int  # output cell
    col: int
    rows: tuple[int, ...]  # padded-input row of each window row
    cols: tuple[int, ...]  # padded-input column of each window column
    patch: np.ndarray  # (C, kh, kw) input values under the window
    weights: np.ndarray | None  # (C, kh, kw) kernel, None for pooling
    value: float
    op: str = "conv"  # "conv", "max" or "avg"
    bias: float = 0.0
    products: np.ndarray | None = field(default=None, repr=False)  # (C, kh, kw), conv only

    def expression(self) -> str:
        """The arithmetic: '0×0 + 1×1 + 3×2 + 4×3 = 19', '(…) + (…) = 56', 'max(0, 1, 3, 4) = 4'."""
        if self.op in ("max", "avg"):
            values = ", ".join(fmt(v) for v in self.patch.ravel())
            return f"{self.op}({values}) = {fmt(self.value)}"
        terms = [
            " + ".join(f"{_paren(x)}×{_paren(w)}" for x, w in zip(p.ravel(), k.ravel(), strict=True))
            for p, k in zip(self.patch, self.weights, strict=True)
        ]
        text = terms[0] if len(terms) == 1 else " + ".join(f"({t})" for t in terms)
        if self.bias:
            text += f" + {_paren(self.bias)}"
        return f"{text} = {fmt(self.value)}"


def _paren(v: float) -> str:
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def trace_cell(
    x: ArrayLike,
    kernel: ArrayLike | Pair,
    row: int,
    col: int,
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    bias: float = 0.0,
    op: str = "conv",
) -> Step:
    """Output cell (row, col)'s window on an (H, W)/(C, H, W) input; `kernel` is a window size for pooling."""
    x3 = _as_chw(x, "input")
    if op == "conv":
        k3 = _as_chw(kernel, "kernel")
        if k3.shape[0] == 1 and x3.shape[0] > 1:
            k3 = np.repeat(k3, x3.shape[0], axis=0)
        if k3.shape[0] != x3.shape[0]:
            conv2d_channels(x3, k3)  # raises the channel-mismatch sentence
        kh, kw = k3.shape[1:]
    elif op in ("max", "avg"):
        if x3.shape[0] > 1:
            raise UserError(
                "Pooling works on each channel on its own: step through one channel at a time.",
                "池化对每个通道分别进行：请一次只逐步查看一个通道。",
            )
        k3, (kh, kw) = None, _pair(kernel, "kernel")
        padding, dilation, bias = 0, 1, 0.0  # pooling here has no padding and no dilation
    else:
        raise UserError(f"Unknown operation {op!r}.", f"未知的运算 {op!r}。")
    (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
    oh, ow = output_shape(x3.shape[1:], (kh, kw), padding, (sh, sw), (dh, dw))
    if not (0 <= row < oh and 0 <= col < ow):
        raise UserError(
            f"Output cell ({row}, {col}) is outside the {oh}×{ow} output.",
            f"输出位置 ({row}, {col}) 超出了 {oh}×{ow} 的输出。",
        )
    rows = tuple(row * sh + i * dh for i in range(kh))
    cols = tuple(col * sw + j * dw for j in range(kw))
    patch = pad(x3, padding)[:, rows][:, :, cols]  # (C, kh, kw)
    if op == "conv":
        products = patch * k3
        return Step(row, col, rows, cols, patch, k3, float(products.sum() + bias), op, float(bias), products)
    value = float(patch.max() if op == "max" else patch.mean())
    return Step(row, col, rows, cols, patch, None, value, op)


def trace(
    x: ArrayLike,
    kernel: ArrayLike | Pair,
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    bias: float = 0.0,
    op: str = "conv",
) -> list[Step]:
    """Every output cell's Step, row by row: the sweep of the window for the page to animate."""
    x3 = _as_chw(x, "input")
    if op == "conv":
        k_hw = _as_chw(kernel, "kernel").shape[1:]
        oh, ow = output_shape(x3.shape[1:], k_hw, padding, stride, dilation)
    else:
        oh, ow = output_shape(x3.shape[1:], _pair(kernel, "kernel"), 0, stride, 1)
    return [
        trace_cell(x3, kernel, r, c, padding, stride, dilation, bias, op)
        for r in range(oh)
        for c in range(ow)
    ]


# --- the slides' examples ---------------------------------------------------------------------

SLIDE_INPUT = np.arange(9, dtype=np.float64).reshape(3, 3)  # 0..8
SLIDE_KERNEL = np.array([[0, 1], [2, 3]], dtype=np.float64)
SLIDE_MULTI_INPUT = np.stack([SLIDE_INPUT, SLIDE_INPUT + 1])  # (2, 3, 3): 0..8 and 1..9
SLIDE_MULTI_KERNEL = np.stack([SLIDE_KERNEL, SLIDE_KERNEL + 1])  # (2, 2, 2): [[0,1],[2,3]] and [[1,2],[3,4]]


# --- PyTorch view -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvLayer:
    """The arguments of one `nn.Conv2d`, with what they imply: output shape, parameter count, code."""

    in_channels: int = 1
    out_channels: int = 1
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    bias: bool = True

    def output_shape(self, input_shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """(N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        n, c, h, w = input_shape
        if c != self.in_channels:
            raise UserError(
                f"nn.Conv2d(in_channels={self.in_channels}) cannot take an input with {c} channels.",
                f"nn.Conv2d(in_channels={self.in_channels}) 不能接收 {c} 个通道的输入。",
            )
        oh, ow = output_shape((h, w), self.kernel_size, self.padding, self.stride, self.dilation)
        return n, self.out_channels, oh, ow

    def param_count(self, bias: bool | None = None) -> int:
        """weight (C_out, C_in, kh, kw) plus bias (C_out,) when there is one."""
        with_bias = self.bias if bias is None else bias
        kh, kw = self.kernel_size
        return self.out_channels * self.in_channels * kh * kw + (self.out_channels if with_bias else 0)

    def call(self) -> str:
        """'nn.Conv2d(in_channels=1, out_channels=5, kernel_size=3, padding=1, stride=1, bias=True)'."""

        def one(p: tuple[int, int]) -> str:
            return str(p[0]) if p[0] == p[1] else str(tuple(p))

        parts = [
            f"in_channels={self.in_channels}",
            f"out_channels={self.out_channels}",
            f"kernel_size={one(self.kernel_size)}",
            f"padding={one(self.padding)}",
            f"stride={one(self.stride)}",
        ]
        if self.dilation != (1, 1):
            parts.append(f"dilation={one(self.dilation)}")
        parts.append(f"bias={self.bias}")
        return f"nn.Conv2d({', '.join(parts)})"


def layer_for(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    bias: bool = True,
) -> ConvLayer:
    """The nn.Conv2d that does what `conv2d` does on an (H, W)/(C, H, W) input with one output channel."""
    c = x_shape[0] if len(x_shape) == 3 else 1
    return ConvLayer(
        c,
        1,
        tuple(kernel_shape[-2:]),
        _pair(stride, "stride"),
        _pair(padding, "padding"),
        _pair(dilation, "dilation"),
        bias,
    )


def torch_code(
    layer: ConvLayer,
    x: ArrayLike | None = None,
    kernel: ArrayLike | None = None,
    input_shape: tuple[int, int, int, int] | None = None,
    bias_value: float = 0.0,
    pool: tuple[str, int] | None = None,
) -> str:
    """Runnable PyTorch reproducing the view: the given input and kernel, or a random input of `input_shape`.

    `pool=("max", 2)` appends F.max_pool2d(y, 2) (or avg_pool2d) after the convolution.
    """
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", ""]
    if x is not None:
        x3 = _as_chw(x, "input")
        shape = (1, *x3.shape)
        lines.append(f"x = torch.tensor({_pylist(x3)}).reshape{shape}  # (N, C, H, W)")
    else:
        shape = input_shape or (1, layer.in_channels, 28, 28)
        lines.append(f"x = torch.randn{tuple(shape)}  # (N, C, H, W): put your own image here")
    lines.append(f"conv = {layer.call()}")
    if kernel is not None:
        k3 = _as_chw(kernel, "kernel")
        if k3.shape[0] == 1 and layer.in_channels > 1:
            k3 = np.repeat(k3, layer.in_channels, axis=0)
        wshape = (layer.out_channels, layer.in_channels, *layer.kernel_size)
        lines += [
            "with torch.no_grad():  # set the kernel instead of learning it",
            f"    conv.weight.copy_(torch.tensor({_pylist(k3)}).reshape{wshape})",
        ]
        if layer.bias:
            lines.append(f"    conv.bias.fill_({float(bias_value)!r})")
    out_shape = layer.output_shape(shape)
    lines.append("y = conv(x)")
    if pool is not None:
        mode, size = pool
        out_shape = (*out_shape[:2], *output_shape(out_shape[2:], (size, size), 0, size, 1))
        lines.append(
            f"y = F.{'max' if mode == 'max' else 'avg'}_pool2d(y, {size})  # window {size}, stride {size}"
        )
    lines += [
        f"print(y.shape)  # torch.Size({list(out_shape)})",
        f"print(sum(p.numel() for p in conv.parameters()))  # {layer.param_count()} parameters",
    ]
    if kernel is not None and x is not None:
        lines.append("print(y[0, 0])")
    return "\n".join(lines) + "\n"


def pool_code(x: ArrayLike, window: Pair, stride: Pair, mode: str = "max") -> str:
    """Runnable PyTorch for grid mode's pooling: F.max_pool2d / F.avg_pool2d on the typed input."""
    x3 = _as_chw(x, "input")
    (kh, kw), (sh, sw) = _pair(window, "kernel"), _pair(stride, "stride")
    oh, ow = output_shape(x3.shape[1:], (kh, kw), 0, (sh, sw), 1)
    fn = "max_pool2d" if mode == "max" else "avg_pool2d"
    return "\n".join(
        [
            "import torch",
            "import torch.nn.functional as F",
            "",
            f"x = torch.tensor({_pylist(x3)}).reshape{(1, *x3.shape)}  # (N, C, H, W)",
            f"y = F.{fn}(x, kernel_size={(kh, kw)}, stride={(sh, sw)})",
            f"print(y.shape)  # torch.Size({[1, x3.shape[0], oh, ow]})",
            "print(y[0])  # no parameters: pooling learns nothing",
            "",
        ]
    )


def _pylist(a: np.ndarray) -> str:
    return repr(np.asarray(a, dtype=np.float64).tolist())


@dataclass(frozen=True)
class SlideExample:
    """One of the six nn.Conv2d examples in the lecture slides."""

    title: str
    input_shape: tuple[int, int, int, int]
    layer: ConvLayer
    expected_output: tuple[int, int, int, int]
    parameter_tensors: int  # len(list(conv.parameters())): 2 with bias, 1 without


SLIDE_EXAMPLES: tuple[SlideExample, ...] = (
    SlideExample("1", (1, 1, 28, 28), ConvLayer(1, 5, (3, 3), (1, 1), (1, 1)), (1, 5, 28, 28), 2),
    SlideExample("2: padding=0", (1, 1, 28, 28), ConvLayer(1, 5, (3, 3), (1, 1), (0, 0)), (1, 5, 26, 26), 2),
    SlideExample("3: stride=2", (1, 1, 28, 28), ConvLayer(1, 5, (3, 3), (2, 2), (1, 1)), (1, 5, 14, 14), 2),
    SlideExample(
        "4: bias=False",
        (1, 1, 28, 28),
        ConvLayer(1, 5, (3, 3), (2, 2), (1, 1), bias=False),
        (1, 5, 14, 14),
        1,
    ),
    SlideExample(
        "5: in_channels=3", (1, 3, 28, 28), ConvLayer(3, 5, (3, 3), (1, 1), (1, 1)), (1, 5, 28, 28), 2
    ),
    SlideExample(
        "6: BatchSize=10", (10, 1, 28, 28), ConvLayer(1, 5, (3, 3), (1, 1), (1, 1)), (10, 5, 28, 28), 2
    ),
)


# --- photos -----------------------------------------------------------------------------------

SAMPLES = ("test_card", "china", "flower")
SAMPLE_CREDITS = {
    "china": "china.jpg by danielbuechele (Flickr), CC BY 2.0, shipped with scikit-learn",
    "flower": "flower.jpg by vultilion (Flickr), CC BY 2.0, shipped with scikit-learn",
    "test_card": "drawn in code by core.conv.test_card",
}
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


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) float32 luminance (ITU-R BT.601 weights, as PIL's 'L' mode)."""
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


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
    k = _as_chw(kernel, "kernel")
    if k.shape[0] != 1:
        raise UserError(
            "In photo mode the kernel is one 2-D grid, used on every channel.",
            "照片模式下卷积核是一个二维网格，用于每个通道。",
        )
    k = k.astype(np.float32)
    if colour:
        x = np.ascontiguousarray(rgb[..., :3].transpose(2, 0, 1), dtype=np.float32)  # (3, H, W)
    else:
        x = to_gray(rgb)[None]  # (1, H, W)
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


# --- grid picture (HTML, for the page or a notebook's IPython.display.HTML) ---------------------


def grid_html(
    values: np.ndarray,
    highlight: Sequence[tuple[int, int]] = (),
    current: tuple[int, int] | None = None,
    padding: tuple[int, int] = (0, 0),
    weights: dict[tuple[int, int], float] | None = None,
    hidden: Sequence[tuple[int, int]] = (),
    cell_px: int = 52,
    caption: str = "",
) -> str:
    """(H, W) numbers -> HTML table: padding cells grey, the window highlighted, its weights as ×w tags."""
    hl, hide = set(highlight), set(hidden)
    h, w = values.shape
    font = int(cell_px * 0.42)
    base = (
        f"width:{cell_px}px;height:{cell_px}px;min-width:{cell_px}px;text-align:center;vertical-align:middle;"
        f"font-size:{font}px;font-weight:600;border:1px solid #adb5bd;position:relative;padding:0;"
        "font-family:ui-monospace,Menlo,Consolas,monospace;"
    )
    rows = []
    for r in range(h):
        cells = []
        for c in range(w):
            is_pad = r < padding[0] or r >= h - padding[0] or c < padding[1] or c >= w - padding[1]
            background, color, outline = ("#e9ecef", "#868e96", "") if is_pad else ("#ffffff", "#212529", "")
            if (r, c) in hl:  # under the window
                background, color, outline = (
                    "#ffd43b",
                    "#212529",
                    "outline:3px solid #e8590c;outline-offset:-3px;",
                )
            if current == (r, c):  # the output cell being computed
                background, outline = "#8ce99a", "outline:4px solid #2b8a3e;outline-offset:-4px;"
            if (r, c) in hide:  # not computed yet
                color = "#ced4da"
            text = "?" if (r, c) in hide else html.escape(fmt(values[r, c]))
            tag = ""
            if weights and (r, c) in weights:
                tag = (
                    f"<span style='position:absolute;right:2px;bottom:0;font-size:{max(11, font // 2)}px;"
                    f"color:#c92a2a;font-weight:700'>×{html.escape(fmt(weights[(r, c)]))}</span>"
                )
            cells.append(
                f"<td style='{base}background:{background};color:{color};{outline}'>{text}{tag}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = (
        (
            f"<caption style='caption-side:top;text-align:left;font-size:{max(14, font * 2 // 3)}px;"
            f"color:#495057;padding-bottom:4px'>{html.escape(caption)}</caption>"
        )
        if caption
        else ""
    )
    return (
        f"<table style='border-collapse:collapse;margin:0 0 8px 0;table-layout:fixed'>{cap}"
        + "".join(rows)
        + "</table>"
    )
