"""core.conv against PyTorch (the same numbers as F.conv2d / F.max_pool2d / F.avg_pool2d) and the slides."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from core import conv
from core.errors import UserError
from core.images import luminance
from ui.grids import grid_html


def torch_conv(x: np.ndarray, k: np.ndarray, padding, stride, dilation, bias=0.0) -> np.ndarray:
    """The reference: F.conv2d on (1, C, H, W) and (1, C, kh, kw), float64."""
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).reshape(1, -1, *x.shape[-2:])
    kt = torch.from_numpy(np.asarray(k, dtype=np.float64)).reshape(1, -1, *k.shape[-2:])
    bt = torch.tensor([bias], dtype=torch.float64)
    return F.conv2d(xt, kt, bt, stride=stride, padding=padding, dilation=dilation)[0, 0].numpy()


# --- the slides' worked examples ---------------------------------------------------------------


def test_slide_3x3_input_with_2x2_kernel():
    out = conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL)
    np.testing.assert_array_equal(out, [[19, 25], [37, 43]])
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, 0, 0).expression()
        == "0×0 + 1×1 + 3×2 + 4×3 = 19"
    )


def test_slide_padding_1_gives_the_4x4_output():
    out = conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, padding=1)
    np.testing.assert_array_equal(out, [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]])
    # the slide's three written-out cells: top-left 0, top (0, 2) = 8 and bottom-left 6
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, 0, 0, padding=1).expression()
        == "0×0 + 0×1 + 0×2 + 0×3 = 0"
    )
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, 0, 2, padding=1).expression()
        == "0×0 + 0×1 + 1×2 + 2×3 = 8"
    )
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, 3, 0, padding=1).expression()
        == "0×0 + 6×1 + 0×2 + 0×3 = 6"
    )


def test_slide_padding_and_stride_shapes():
    # the slides' three pictures: padding 0 / stride 2, padding 1 / stride 1, padding 1 / stride 2
    assert conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, padding=0, stride=2).shape == (1, 1)
    assert conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, padding=1, stride=1).shape == (4, 4)
    # the stride slide: padding 1, stride 3 down and 2 across ("行数量 / 列数量"): 0×0 + 0×1 + 1×2 + 2×3 = 8
    np.testing.assert_array_equal(
        conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, padding=1, stride=(3, 2)), [[0, 8], [6, 8]]
    )


def test_slide_multi_channel_sum_is_56():
    out = conv.conv2d(conv.SLIDE_MULTI_INPUT, conv.SLIDE_MULTI_KERNEL)
    assert out[0, 0] == 56
    np.testing.assert_array_equal(out, [[56, 72], [104, 120]])
    step = conv.trace_cell(conv.SLIDE_MULTI_INPUT, conv.SLIDE_MULTI_KERNEL, 0, 0)
    assert step.expression() == "(0×0 + 1×1 + 3×2 + 4×3) + (1×1 + 2×2 + 4×3 + 5×4) = 56"
    per = conv.conv2d_channels(conv.SLIDE_MULTI_INPUT, conv.SLIDE_MULTI_KERNEL)
    assert per[:, 0, 0].tolist() == [19, 37]  # each channel with its own kernel, then summed


def test_slide_max_pool_is_4():
    assert conv.pool2d(conv.SLIDE_INPUT, 2, stride=1).tolist() == [[4, 5], [7, 8]]
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, 2, 0, 0, stride=1, op="max").expression() == "max(0, 1, 3, 4) = 4"
    )
    assert (
        conv.trace_cell(conv.SLIDE_INPUT, 2, 0, 0, stride=1, op="avg").expression() == "avg(0, 1, 3, 4) = 2"
    )


@pytest.mark.parametrize("example", conv.SLIDE_EXAMPLES, ids=lambda e: e.title)
def test_slide_nn_conv2d_examples_against_real_layers(example):
    layer = example.layer
    real = nn.Conv2d(
        layer.in_channels,
        layer.out_channels,
        layer.kernel_size,
        layer.stride,
        layer.padding,
        layer.dilation,
        bias=layer.bias,
    )
    y = real(torch.randn(example.input_shape))
    assert tuple(y.shape) == example.expected_output == layer.output_shape(example.input_shape)
    assert len(list(real.parameters())) == example.parameter_tensors
    assert sum(p.numel() for p in real.parameters()) == layer.param_count()
    assert layer.param_count(bias=True) - layer.param_count(bias=False) == layer.out_channels
    assert eval(layer.call(), {"nn": nn}).weight.shape == real.weight.shape  # the printed call is valid


def test_slide_example_1_numbers():
    ex = conv.SLIDE_EXAMPLES[0]
    assert (
        ex.layer.call()
        == "nn.Conv2d(in_channels=1, out_channels=5, kernel_size=3, padding=1, stride=1, bias=True)"
    )
    assert ex.layer.param_count() == 5 * 1 * 3 * 3 + 5 == 50
    assert conv.SLIDE_EXAMPLES[4].layer.param_count() == 5 * 3 * 9 + 5


# --- against PyTorch on many shapes ------------------------------------------------------------


@st.composite
def conv_cases(draw):
    c = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    # an input just big enough for the dilated kernel, or bigger
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 12))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 12))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 10, size=(c, h, w)).astype(np.float64)
    k = rng.normal(size=(c, kh, kw))
    return x, k, (ph, pw), (sh, sw), (dh, dw), float(rng.normal())


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv2d_matches_F_conv2d(case):
    x, k, padding, stride, dilation, bias = case
    ours = conv.conv2d(x, k, padding, stride, dilation, bias)
    np.testing.assert_allclose(
        ours, torch_conv(x, k, padding, stride, dilation, bias), rtol=1e-10, atol=1e-10
    )
    assert ours.shape == conv.output_shape(x.shape[1:], k.shape[1:], padding, stride, dilation)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_trace_agrees_with_conv2d_and_visits_every_cell(case):
    x, k, padding, stride, dilation, bias = case
    out = conv.conv2d(x, k, padding, stride, dilation, bias)
    steps = conv.trace(x, k, padding, stride, dilation, bias)
    assert [(s.row, s.col) for s in steps] == [
        (r, c) for r in range(out.shape[0]) for c in range(out.shape[1])
    ]
    for s in steps:
        assert s.value == pytest.approx(out[s.row, s.col], abs=1e-9)
        padded = conv.pad(x, padding)
        np.testing.assert_array_equal(s.patch, padded[:, list(s.rows)][:, :, list(s.cols)])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 10),
    st.integers(0, 10),
    st.integers(0, 2**31 - 1),
)
def test_pool2d_matches_torch(c, kh, kw, sh, sw, extra_h, extra_w, seed):
    x = np.random.default_rng(seed).normal(size=(c, kh + extra_h, kw + extra_w))
    xt = torch.from_numpy(x)[None]
    ref_max = F.max_pool2d(xt, (kh, kw), (sh, sw))[0].numpy()
    ref_avg = F.avg_pool2d(xt, (kh, kw), (sh, sw))[0].numpy()
    np.testing.assert_allclose(conv.pool2d(x, (kh, kw), (sh, sw), "max"), ref_max)
    np.testing.assert_allclose(conv.pool2d(x, (kh, kw), (sh, sw), "avg"), ref_avg, rtol=1e-12)
    # default stride = window, like F.max_pool2d
    np.testing.assert_allclose(conv.pool2d(x[0], (kh, kw)), F.max_pool2d(xt[:, :1], (kh, kw))[0, 0].numpy())


def test_output_size_formula_matches_pytorch_docs():
    for n, k, p, s, d in [
        (28, 3, 1, 1, 1),
        (28, 3, 0, 1, 1),
        (28, 3, 1, 2, 1),
        (7, 3, 0, 2, 2),
        (5, 2, 3, 3, 2),
    ]:
        expected = F.conv2d(
            torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d
        ).shape[-1]
        assert conv.output_size(n, k, p, s, d) == expected
        assert conv.size_formula(n, k, p, s, d).endswith(f"= {expected}")
    assert conv.size_formula(3, 2, 1, 2, 1) == "⌊(3 + 2×1 − 1×(2 − 1) − 1) / 2⌋ + 1 = ⌊3 / 2⌋ + 1 = 2"


def test_float32_input_stays_float32_and_matches_torch():
    x = np.random.default_rng(0).random((3, 20, 30), dtype=np.float32)
    k = conv.named_kernel("sobel_x").astype(np.float32)
    out = conv.conv2d_channels(x, k, padding=1)
    assert out.dtype == np.float32
    ref = F.conv2d(torch.from_numpy(x)[:, None], torch.from_numpy(k)[None, None], padding=1)[:, 0].numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


# --- student mistakes -> one exception type with a sentence --------------------------------------


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(stride=0), "Stride must be at least 1"),
        (dict(dilation=0), "Dilation must be at least 1"),
        (dict(padding=-1), "Padding cannot be negative"),
        (dict(dilation=3), "padded input"),  # span 4 > 3
    ],
)
def test_mistakes_raise_user_error_with_a_sentence(kwargs, words):
    with pytest.raises(UserError) as info:
        conv.conv2d(conv.SLIDE_INPUT, conv.SLIDE_KERNEL, **kwargs)
    assert words in str(info.value) and info.value.zh != info.value.en


def test_kernel_larger_than_padded_input_explains_and_padding_fixes_it():
    big = np.ones((5, 5))
    with pytest.raises(UserError, match="add padding"):
        conv.conv2d(conv.SLIDE_INPUT, big)
    assert conv.conv2d(conv.SLIDE_INPUT, big, padding=1).shape == (1, 1)


def test_empty_and_mismatched_inputs():
    with pytest.raises(UserError):
        conv.conv2d(np.zeros((0, 3)), conv.SLIDE_KERNEL)
    with pytest.raises(UserError, match="channels"):
        conv.conv2d(conv.SLIDE_MULTI_INPUT, np.ones((3, 2, 2)))
    with pytest.raises(UserError):
        conv.pool2d(conv.SLIDE_INPUT, 2, mode="median")
    with pytest.raises(UserError):
        conv.named_kernel("nope")


def test_parse_matrix_roundtrip_and_errors():
    arr = conv.parse_matrix("0 1 2\n3 4 5\n6 7 8\n\n1, 2, 3\n4 5 6\n7 8 9")
    np.testing.assert_array_equal(arr, conv.SLIDE_MULTI_INPUT)
    np.testing.assert_array_equal(
        conv.parse_matrix(conv.format_matrix(conv.KERNELS["gaussian3"])), conv.KERNELS["gaussian3"][None]
    )
    for bad, words in [
        ("", "empty"),
        ("1 2\n3", "same number"),
        ("1 x", "not a number"),
        ("\n".join(["1 " * 9] * 9), "at most"),
        ("1 2\n3 4\n\n1 2 3\n4 5 6", "same size"),
    ]:
        with pytest.raises(UserError, match=words):
            conv.parse_matrix(bad)


def test_named_kernels():
    assert set(conv.KERNELS) >= {
        "identity",
        "edge",
        "sharpen",
        "gaussian3",
        "gaussian5",
        "box",
        "sobel_x",
        "sobel_y",
        "emboss",
    }
    np.testing.assert_array_equal(conv.KERNELS["edge"], [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])  # slides
    np.testing.assert_array_equal(conv.KERNELS["sharpen"], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])  # slides
    for name in ("identity", "sharpen", "gaussian3", "gaussian5", "box"):
        assert conv.KERNELS[name].sum() == pytest.approx(1.0)  # keep brightness
    for name in ("edge", "sobel_x", "sobel_y"):
        assert conv.KERNELS[name].sum() == 0  # flat regions -> 0
    x = np.random.default_rng(1).random((6, 6))
    np.testing.assert_allclose(conv.conv2d(x, conv.named_kernel("identity"), padding=1), x)
    card = luminance(conv.test_card(96))
    # vertical stripes (top-left quarter) answer Sobel x, not Sobel y
    gx = np.abs(conv.conv2d(card[:40, :40], conv.KERNELS["sobel_x"])).mean()
    gy = np.abs(conv.conv2d(card[:40, :40], conv.KERNELS["sobel_y"])).mean()
    assert gx > 10 * max(gy, 1e-6)


# --- the PyTorch view's code runs and gives the same numbers -------------------------------------


def test_torch_code_runs_and_reproduces_the_grid(capsys):
    x, k = conv.SLIDE_MULTI_INPUT, conv.SLIDE_MULTI_KERNEL
    layer = conv.layer_for(x.shape, k.shape, padding=1, stride=(1, 2), bias=True)
    code = conv.torch_code(layer, x, k, bias_value=0.5)
    scope: dict = {}
    exec(code, scope)
    y = scope["y"].detach().numpy()[0, 0]
    np.testing.assert_allclose(y, conv.conv2d(x, k, padding=1, stride=(1, 2), bias=0.5))
    assert "stride=(1, 2)" in code and "in_channels=2" in code
    assert layer.param_count() == 2 * 2 * 2 + 1


def test_torch_code_for_a_photo_runs():
    layer = conv.ConvLayer(3, 1, (3, 3), (2, 2), (1, 1), (2, 2), bias=False)
    code = conv.torch_code(layer, kernel=conv.KERNELS["sobel_x"], input_shape=(1, 3, 40, 50))
    scope: dict = {}
    exec(code, scope)
    assert tuple(scope["y"].shape) == layer.output_shape((1, 3, 40, 50))


# --- photo mode ----------------------------------------------------------------------------------


def test_explore_photo_shapes_and_the_sum_is_nn_conv2d():
    rgb = conv.test_card(64)
    k = conv.named_kernel("sobel_x")
    res = conv.explore_photo(rgb, k, padding=1, stride=2, colour=True, pool="max", pool_size=2)
    assert res.in_shape == (3, 64, 64) and res.conv_shape == (32, 32) and res.out_shape == (16, 16)
    assert len(res.per_channel) == 3 and res.combined.shape == (16, 16, 3) and res.summed.dtype == np.uint8
    x = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float64))[None]
    ref = F.max_pool2d(F.conv2d(x, torch.from_numpy(np.repeat(k[None, None], 3, 1)), padding=1, stride=2), 2)
    assert res.summed_range == pytest.approx((ref.min().item(), ref.max().item()), rel=1e-5)
    gray = conv.explore_photo(rgb, k, colour=False)
    assert gray.in_shape == (1, 64, 64) and gray.combined.shape == (62, 62)


@pytest.mark.slow
def test_sample_images_load_offline():
    for name in conv.SAMPLES:
        img = conv.sample_image(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
        assert max(img.shape[:2]) <= conv.MAX_PHOTO_SIDE


def test_grid_html_marks_window_padding_and_hidden_cells():
    padded = conv.pad(conv.SLIDE_INPUT, 1)
    html = grid_html(
        padded, highlight=[(0, 0), (0, 1)], padding=(1, 1), weights={(0, 0): 2.0}, hidden=[(4, 4)]
    )
    assert html.count("<td") == 25 and "×2" in html and ">?" in html and "#ffd43b" in html


def test_pool_code_and_pooled_photo_code_run():
    scope: dict = {}
    exec(conv.pool_code(conv.SLIDE_INPUT, 2, 1, "max"), scope)
    np.testing.assert_array_equal(scope["y"][0, 0].numpy(), [[4, 5], [7, 8]])
    layer = conv.ConvLayer(3, 1, (3, 3), (1, 1), (1, 1))
    code = conv.torch_code(layer, kernel=conv.KERNELS["box"], input_shape=(1, 3, 21, 30), pool=("avg", 2))
    exec(code, scope)
    assert tuple(scope["y"].shape) == (1, 1, 10, 15) and "torch.Size([1, 1, 10, 15])" in code


@settings(max_examples=60, deadline=None)
@given(conv_cases(), st.sampled_from(sorted(conv.KERNELS)))
def test_separable_path_gives_the_same_numbers(case, name):
    x, _, padding, stride, dilation, _ = case
    k = conv.KERNELS[name]
    big = np.pad(x, ((0, 0), (6, 6), (6, 6)))  # ≥ 13 cells: room for a 5×5 kernel dilated by 3
    np.testing.assert_allclose(
        conv.separable_conv2d_channels(big, k, padding, stride, dilation),
        conv.conv2d_channels(big, k, padding, stride, dilation),
        rtol=1e-9,
        atol=1e-9,
    )


# --- one implementation per concept ------------------------------------------------------------


def test_luminance_is_pils_L_mode_and_digits_use_it():
    from PIL import Image

    from core import digits

    rgb = np.random.default_rng(3).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    ref = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)  # ITU-R BT.601, fixed point
    assert np.abs(luminance(rgb) - ref).max() <= 1.0
    rgba = np.dstack([rgb, np.full((16, 16), 255, np.uint8)])
    np.testing.assert_array_equal(
        digits.ink_of(rgba), np.clip(luminance(rgb), 0, 255).round().astype(np.uint8)
    )


def test_broadcast_kernel_repeats_one_channel_and_explains_a_mismatch():
    k = conv.broadcast_kernel(conv.SLIDE_KERNEL, 3)
    assert k.shape == (3, 2, 2) and (k == conv.SLIDE_KERNEL).all()
    with pytest.raises(UserError, match="one kernel slice per input channel"):
        conv.broadcast_kernel(np.ones((2, 2, 2)), 3)


@pytest.mark.parametrize("op", ["conv", "max", "avg"])
def test_sweep_is_trace_and_conv2d_in_one_call(op):
    x = conv.SLIDE_MULTI_INPUT
    s = conv.sweep(x, conv.SLIDE_MULTI_KERNEL, padding=1, stride=(1, 2), bias=0.5, op=op, window=2)
    assert len(s.steps) == s.out.size and s.steps[-1].value == pytest.approx(s.out[-1, -1])
    if op == "conv":
        np.testing.assert_array_equal(s.out, conv.conv2d(x, conv.SLIDE_MULTI_KERNEL, 1, (1, 2), 1, 0.5))
        assert s.padded.shape == (2, 5, 5) and not s.first_channel_only
    else:  # pooling steps through the first channel, without the padding it was asked for
        ref = (F.max_pool2d if op == "max" else F.avg_pool2d)(torch.from_numpy(x[:1]), 2, (1, 2))[0].numpy()
        np.testing.assert_array_equal(s.out, ref)
        assert s.first_channel_only and s.ignores_pad_dil and s.padding == (0, 0)
    assert s.signature() != conv.sweep(x, conv.SLIDE_MULTI_KERNEL, op=op).signature()


def test_pooled_photo_shape_is_what_the_code_prints(capsys):
    """Issue 12: photo mode with pooling said [1, 1, 340, 510] while its PyTorch code printed 170×255."""
    layer = conv.ConvLayer(3, 1, (3, 3), (1, 1), (1, 1), bias=False)
    code = conv.torch_code(layer, kernel=conv.KERNELS["edge"], input_shape=(1, 3, 340, 510), pool=("max", 2))
    exec(code, {})
    printed = capsys.readouterr().out.splitlines()[0]
    assert printed == "torch.Size([1, 1, 170, 255])"
    assert conv.torch_output_shape(layer, (1, 3, 340, 510), ("max", 2)) == (1, 1, 170, 255)
    assert conv.torch_output_shape(layer, (1, 3, 340, 510)) == (1, 1, 340, 510)
