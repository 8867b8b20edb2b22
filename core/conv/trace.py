"""Step traces: one output cell's window and arithmetic (`Step`), and the whole sweep the page animates.

>>> trace_cell(SLIDE_INPUT, SLIDE_KERNEL, 0, 0).expression()
'0×0 + 1×1 + 3×2 + 4×3 = 19'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.conv.arithmetic import (
    SLIDE_INPUT,
    SLIDE_KERNEL,
    SLIDE_MULTI_INPUT,
    SLIDE_MULTI_KERNEL,
    ArrayLike,
    Pair,
    as_chw,
    broadcast_kernel,
    conv2d,
    fmt,
    output_shape,
    pad,
    pair,
    pool2d,
)
from core.conv.photo import KERNELS
from core.errors import UserError


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
    x3 = as_chw(x, "input")
    if op == "conv":
        k3 = broadcast_kernel(kernel, x3.shape[0])  # (C, kh, kw)
        kh, kw = k3.shape[1:]
    elif op in ("max", "avg"):
        if x3.shape[0] > 1:
            raise UserError(
                "Pooling works on each channel on its own: step through one channel at a time.",
                "池化对每个通道分别进行：请一次只逐步查看一个通道。",
            )
        k3, (kh, kw) = None, pair(kernel, "kernel")
        padding, dilation, bias = 0, 1, 0.0  # pooling here has no padding and no dilation
    else:
        raise UserError(f"Unknown operation {op!r}.", f"未知的运算 {op!r}。")
    (sh, sw), (dh, dw) = pair(stride, "stride"), pair(dilation, "dilation")
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
    x3 = as_chw(x, "input")
    if op == "conv":
        k_hw = as_chw(kernel, "kernel").shape[1:]
        oh, ow = output_shape(x3.shape[1:], k_hw, padding, stride, dilation)
    else:
        oh, ow = output_shape(x3.shape[1:], pair(kernel, "kernel"), 0, stride, 1)
    return [
        trace_cell(x3, kernel, r, c, padding, stride, dilation, bias, op)
        for r in range(oh)
        for c in range(ow)
    ]


@dataclass(frozen=True)
class GridExample:
    """A worked example for grid mode: numbers, kernel, operation, padding and stride (rows, columns)."""

    input: np.ndarray  # (H, W) or (C, H, W)
    kernel: np.ndarray  # (kh, kw) or (C, kh, kw); pooling uses only its size
    op: str = "conv"  # "conv", "max" or "avg"
    padding: int = 0
    stride: tuple[int, int] = (1, 1)


GRID_EXAMPLES: dict[str, GridExample] = {  # the slides' worked examples, and one edge detection
    "slide": GridExample(SLIDE_INPUT, SLIDE_KERNEL),  # → 19 25 37 43
    "slide_pad": GridExample(SLIDE_INPUT, SLIDE_KERNEL, padding=1),  # → 4×4
    "slide_stride": GridExample(SLIDE_INPUT, SLIDE_KERNEL, padding=1, stride=(3, 2)),  # → [[0, 8], [6, 8]]
    "slide_multi": GridExample(SLIDE_MULTI_INPUT, SLIDE_MULTI_KERNEL),  # two channels summed → 56
    "slide_pool": GridExample(SLIDE_INPUT, SLIDE_KERNEL, op="max"),  # max(0, 1, 3, 4) = 4
    "edge": GridExample(  # two 3×3 squares of 9: the Laplacian lights up their borders
        np.kron(np.eye(2), np.ones((3, 3))) * 9,
        KERNELS["edge"],
        padding=1,
    ),
}


@dataclass
class Sweep:
    """Everything grid mode draws: the input, the kernel (None for pooling), every Step and the output."""

    x: np.ndarray  # (C, H, W) input; pooling steps through channel 0 only, so (1, H, W)
    kernel: np.ndarray | None  # (C, kh, kw), None for pooling
    op: str  # "conv", "max" or "avg"
    window: tuple[int, int]  # (kh, kw)
    padding: tuple[int, int]  # as used: pooling here has none
    stride: tuple[int, int]
    dilation: tuple[int, int]  # as used: pooling here has none
    bias: float
    steps: list[Step]  # one per output cell, row by row
    out: np.ndarray  # (H_out, W_out)
    first_channel_only: bool = False  # pooling a multi-channel input shows its first channel
    ignores_pad_dil: bool = False  # pooling was asked for padding or dilation, which it does not use

    @property
    def padded(self) -> np.ndarray:
        """(C, H + 2ph, W + 2pw): the input as the window sees it."""
        return pad(self.x, self.padding)

    def signature(self) -> str:
        """The settings that fix the output: a new signature asks the student to predict again."""
        k = None if self.kernel is None else self.kernel.tolist()
        return repr((self.x.tolist(), k, self.op, self.window, self.padding, self.stride, self.dilation))


def sweep(
    x: ArrayLike,
    kernel: ArrayLike | None = None,
    padding: Pair = 0,
    stride: Pair = 1,
    dilation: Pair = 1,
    bias: float = 0.0,
    op: str = "conv",
    window: int = 2,
) -> Sweep:
    """(C, H, W) input ⋆ (C, kh, kw) kernel, or a window×window pooling -> the whole Sweep, one call."""
    x3 = as_chw(x, "input")
    if op == "conv":
        k3 = broadcast_kernel(kernel, x3.shape[0])  # (C, kh, kw)
        steps = trace(x3, k3, padding, stride, dilation, bias)
        out = conv2d(x3, k3, padding, stride, dilation, bias)  # (H_out, W_out)
        return Sweep(
            x3,
            k3,
            op,
            k3.shape[1:],
            pair(padding, "padding"),
            pair(stride, "stride"),
            pair(dilation, "dilation"),
            float(bias),
            steps,
            out,
        )
    many = x3.shape[0] > 1
    x1 = x3[:1]  # pooling works per channel: step through the first one
    steps = trace(x1, window, stride=stride, op=op)
    out = pool2d(x1[0], window, stride, op)
    ignored = pair(padding, "padding") != (0, 0) or pair(dilation, "dilation") != (1, 1)
    return Sweep(
        x1,
        None,
        op,
        pair(window, "kernel"),
        (0, 0),
        pair(stride, "stride"),
        (1, 1),
        0.0,
        steps,
        out,
        many,
        ignored,
    )
