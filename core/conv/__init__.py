"""2-D convolution and pooling written out by hand, exactly as `torch.nn.functional.conv2d` computes them.

Everything here works on numpy arrays, so a notebook can use it directly:

    >>> from core import conv
    >>> x = np.arange(9).reshape(3, 3)                      # the slides' 3×3 input 0..8
    >>> conv.conv2d(x, [[0, 1], [2, 3]])
    array([[19., 25.],
           [37., 43.]])
    >>> conv.trace_cell(x, [[0, 1], [2, 3]], 0, 0).expression()
    '0×0 + 1×1 + 3×2 + 4×3 = 19'

One file per concern (this file only gathers their public names):
    arithmetic.py   sizes and the formula, pad, conv2d, pool2d, typed matrices, the slides' numbers
    trace.py        Step: one output cell's window and arithmetic; trace and sweep: every cell
    photo.py        named kernels, the sample photos, explore_photo (a photo channel by channel)
    torch_view.py   ConvLayer (an nn.Conv2d's arguments), runnable PyTorch code, the slides' six examples
The grid picture (HTML) is drawn by ui/grids.py.
"""

from core.conv.arithmetic import (
    MAX_GRID,
    MAX_KERNEL,
    SLIDE_INPUT,
    SLIDE_KERNEL,
    SLIDE_MULTI_INPUT,
    SLIDE_MULTI_KERNEL,
    as_chw,
    broadcast_kernel,
    conv2d,
    conv2d_channels,
    fmt,
    format_matrix,
    output_shape,
    output_size,
    pad,
    pair,
    parse_matrix,
    pool2d,
    separable_conv2d_channels,
    size_formula,
)
from core.conv.photo import (
    KERNELS,
    MAX_PHOTO_SIDE,
    SAMPLES,
    PhotoResult,
    explore_photo,
    named_kernel,
    sample_image,
    test_card,
    to_uint8,
)
from core.conv.torch_view import (
    SLIDE_EXAMPLES,
    ConvLayer,
    SlideExample,
    layer_for,
    pool_code,
    slide_rows,
    torch_code,
    torch_output_shape,
)
from core.conv.trace import GRID_EXAMPLES, GridExample, Step, Sweep, sweep, trace, trace_cell

__all__ = [
    "GRID_EXAMPLES",
    "GridExample",
    "slide_rows",
    "KERNELS",
    "MAX_GRID",
    "MAX_KERNEL",
    "MAX_PHOTO_SIDE",
    "SAMPLES",
    "SLIDE_EXAMPLES",
    "SLIDE_INPUT",
    "SLIDE_KERNEL",
    "SLIDE_MULTI_INPUT",
    "SLIDE_MULTI_KERNEL",
    "ConvLayer",
    "PhotoResult",
    "SlideExample",
    "Step",
    "Sweep",
    "as_chw",
    "broadcast_kernel",
    "conv2d",
    "conv2d_channels",
    "explore_photo",
    "fmt",
    "format_matrix",
    "layer_for",
    "named_kernel",
    "output_shape",
    "output_size",
    "pad",
    "pair",
    "parse_matrix",
    "pool2d",
    "pool_code",
    "sample_image",
    "separable_conv2d_channels",
    "size_formula",
    "sweep",
    "test_card",
    "to_uint8",
    "torch_code",
    "torch_output_shape",
    "trace",
    "trace_cell",
]
