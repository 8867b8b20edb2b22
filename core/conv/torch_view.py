"""The PyTorch view: an `nn.Conv2d`'s arguments and what they imply (shape, parameters), runnable code.

>>> SLIDE_EXAMPLES[2].layer.output_shape((1, 1, 28, 28)), SLIDE_EXAMPLES[2].layer.param_count()
((1, 5, 14, 14), 50)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.conv.arithmetic import ArrayLike, Pair, as_chw, broadcast_kernel, output_shape, pair
from core.errors import UserError


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
        pair(stride, "stride"),
        pair(padding, "padding"),
        pair(dilation, "dilation"),
        bias,
    )


def torch_output_shape(
    layer: ConvLayer, input_shape: tuple[int, int, int, int], pool: tuple[str, int] | None = None
) -> tuple[int, int, int, int]:
    """(N, C, H, W) -> the shape `torch_code` prints: after the convolution, then the pooling if any."""
    n, c, h, w = layer.output_shape(input_shape)
    if pool is None:
        return n, c, h, w
    size = pool[1]
    return (n, c, *output_shape((h, w), (size, size), 0, size, 1))


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
        x3 = as_chw(x, "input")
        shape = (1, *x3.shape)
        lines.append(f"x = torch.tensor({_pylist(x3)}).reshape{shape}  # (N, C, H, W)")
    else:
        shape = input_shape or (1, layer.in_channels, 28, 28)
        lines.append(f"x = torch.randn{tuple(shape)}  # (N, C, H, W): put your own image here")
    lines.append(f"conv = {layer.call()}")
    if kernel is not None:
        k3 = broadcast_kernel(kernel, layer.in_channels)  # (C_in, kh, kw)
        wshape = (layer.out_channels, layer.in_channels, *layer.kernel_size)
        lines += [
            "with torch.no_grad():  # set the kernel instead of learning it",
            f"    conv.weight.copy_(torch.tensor({_pylist(k3)}).reshape{wshape})",
        ]
        if layer.bias:
            lines.append(f"    conv.bias.fill_({float(bias_value)!r})")
    out_shape = torch_output_shape(layer, shape, pool)  # what the code prints
    lines.append("y = conv(x)")
    if pool is not None:
        mode, size = pool
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
    x3 = as_chw(x, "input")
    (kh, kw), (sh, sw) = pair(window, "kernel"), pair(stride, "stride")
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


def slide_rows() -> list[tuple]:
    """The six examples as rows: title, input shape, Conv2d arguments, output, parameters, tensors."""
    return [
        (
            ex.title,
            str(list(ex.input_shape)),
            ex.layer.call().removeprefix("nn.Conv2d"),
            str(list(ex.layer.output_shape(ex.input_shape))),
            ex.layer.param_count(),
            2 if ex.layer.bias else 1,
        )
        for ex in SLIDE_EXAMPLES
    ]
