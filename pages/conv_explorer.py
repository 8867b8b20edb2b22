"""Convolution explorer: the slides' 3×3 example cell by cell, then the same arithmetic on a photo.

Grid mode and photo mode are each a fragment: a slider reruns its mode only, not the app (felt speed);
Play reruns grid mode once per output cell. A little over 250 lines: two whole views (the grid with
its formula and Play, the photo with its kernels and PyTorch code), each one fragment; the logic is in core.
"""

import numpy as np
import streamlit as st

from core import conv
from ui import charts
from ui.grids import grid_html, predict_first, sweep_player
from ui.i18n import t
from ui.shell import explained_errors, image_upload, pick, presenter, show_source
from ui.state import url_state

SIZES = {"pad": (0, 3), "stride": (1, 4), "dil": (1, 3)}  # slider min, max (the example gives the value)
SPEEDS = [0.25, 0.5, 1.0, 2.0]  # Play: seconds per output cell
CHOICES = {"op": ["conv", "max", "avg"], **{n: range(lo, hi + 1) for n, (lo, hi) in SIZES.items()}}


@st.cache_data(show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    return conv.sample_image(name)  # (H, W, 3) uint8


def example_state(name: str) -> dict[str, object]:
    """An example's settings by short name: its numbers, operation, padding and stride (rows, columns)."""
    ex, fmt = conv.GRID_EXAMPLES[name], conv.format_matrix
    state = {
        "input": fmt(ex.input),
        "kernel": fmt(ex.kernel),
        "op": ex.op,
        "axes": ex.stride[0] != ex.stride[1],
    }
    for size, (rows, cols) in zip(SIZES, [(ex.padding,) * 2, ex.stride, (1, 1)], strict=True):
        state |= {size: rows, f"{size}_w": cols}
    return state


def load_example() -> None:
    """Selecting an example fills the text boxes and the sliders (runs before the page is drawn)."""
    st.session_state.update({f"conv.{k}": v for k, v in example_state(s.example).items()}, **{"conv.step": 1})


# 1. State, each URL key once (URL > remembered > the slides' first example)
s = url_state("conv.", mode=("grid", ["grid", "photo"]), example=("slide", conv.GRID_EXAMPLES))
url_state(
    "conv.",
    **{k: (v, CHOICES.get(k.removesuffix("_w"))) for k, v in example_state(s.example).items()},  # its numbers
    window=2,
    bias=0.0,
    predict=True,
    step=1,
    speed=(1.0, SPEEDS),
    photo=("test_card", [*conv.SAMPLES, "upload"]),
    kname=("edge", [*conv.KERNELS, "custom"]),
    custom=conv.format_matrix(conv.KERNELS["sharpen"]),
    colour=("rgb", ["rgb", "gray"]),
    pool=("none", ["none", "max", "avg"]),
    pool_size=(2, [2, 3, 4]),
    display=("clip", ["clip", "rescale"]),
)


def sizes_ui(big: bool) -> tuple[tuple[int, int], ...]:
    """Padding, stride, dilation sliders (one per axis if asked) -> ((ph, pw), (sh, sw), (dh, dw))."""
    per_axis = s.axes
    for col, (name, (lo, hi)) in zip(st.columns(3), SIZES.items(), strict=True):
        label = t(f"conv.{name}") + (t("conv.axis.h") if per_axis else "")
        col.slider(label, lo, hi, key=f"conv.{name}", help=t(f"conv.{name}.help"))
        if per_axis:
            col.slider(t(f"conv.{name}") + t("conv.axis.w"), lo, hi, key=f"conv.{name}_w")
    if not big:
        st.toggle(t("conv.axes"), key="conv.axes", help=t("conv.axes.help"))
    st.toggle(t("conv.predict"), key="conv.predict", help=t("conv.predict.help"))
    return tuple((getattr(s, n), getattr(s, f"{n}_w") if per_axis else getattr(s, n)) for n in SIZES)


def size_ui(in_hw, k_hw, pads, strides, dils, metric=st) -> None:
    """The output size, and its formula with the numbers in, one line per axis (core writes the formula)."""
    out = conv.output_shape(in_hw, k_hw, pads, strides, dils)
    metric.metric(t("conv.out_size"), f"{out[0]} × {out[1]}")
    for axis, i in (("H", 0), ("W", 1)):
        st.markdown(
            f"${axis}_{{out}}$ = `{conv.size_formula(in_hw[i], k_hw[i], pads[i], strides[i], dils[i])}`"
        )


def torch_ui(layer: conv.ConvLayer, in_shape: tuple[int, ...], code: str, pool=None, note: str = "") -> None:
    """The nn.Conv2d view: the shape the code prints, parameters with and without bias, the code."""
    big = presenter()  # projector-sized numbers: the shape gets a row of its own
    p1, p2, p3 = (st.container(), *st.columns(2)) if big else st.columns(3)
    p1.metric(t("conv.torch.shape"), str(list(conv.torch_output_shape(layer, in_shape, pool))))
    p2.metric(t("conv.torch.params"), layer.param_count(bias=True))
    p3.metric(t("conv.torch.params_nobias"), layer.param_count(bias=False))
    if note:
        st.caption(note)
    st.code(code, language="python")


def grid_inputs_ui(big: bool, sizes: tuple[tuple[int, int], ...]) -> conv.Sweep:
    """Example, operation and (not in presenter mode) the typed numbers -> the sweep (one core call)."""
    c1, c2 = st.columns([2, 1])
    pick(c1.selectbox, "conv.example", list(conv.GRID_EXAMPLES), on_change=load_example)
    pick(c2.radio, "conv.op", ["conv", "max", "avg"], horizontal=True)
    op = s.op
    e1, e2, e3 = st.columns([2, 2, 1]) if not big else (None, st, None)
    if not big:
        e1.text_area(t("conv.input"), key="conv.input", height=170, help=t("conv.input.help"))
        if op == "conv":
            e2.text_area(t("conv.kernel"), key="conv.kernel", height=170, help=t("conv.kernel.help"))
            e3.number_input(t("conv.bias"), step=1.0, key="conv.bias")
    if op != "conv":
        e2.slider(t("conv.window"), 1, 4, key="conv.window")
    x = conv.parse_matrix(s.input, "input")  # (C, H, W); the kernel (C, kh, kw)
    k = conv.parse_matrix(s.kernel, "kernel", conv.MAX_KERNEL) if op == "conv" else None
    return conv.sweep(x, k, *sizes, float(s.bias), op, s.window)


@st.fragment
def grid_ui(big: bool) -> None:
    """Grid mode: the slide, cell by cell, then the same layer in PyTorch."""
    if not st.session_state.pop("conv.tick", False):  # Play's own reruns play on; any control stops it
        st.session_state["conv.playing"] = False
    sizes = sizes_ui(big)
    with explained_errors():
        sweep = grid_inputs_ui(big, sizes)  # every output cell's arithmetic
        if sweep.first_channel_only:
            st.caption(t("conv.pool.first"))
        if sweep.ignores_pad_dil:
            st.caption(t("conv.pool.note"))
        revealed = predict_first("conv", sweep.signature(), sweep.out.shape)
        if revealed:
            m1, m2 = st.columns([1, 2])
            with m2:
                size_ui(
                    sweep.x.shape[1:], sweep.window, sweep.padding, sweep.stride, sweep.dilation, metric=m1
                )
        sweep_player(sweep, revealed, big, SPEEDS)
        if revealed:
            st.subheader(t("conv.torch"))
            if sweep.kernel is None:
                st.caption(t("conv.torch.pool"))
                st.code(conv.pool_code(sweep.x, sweep.window, sweep.stride, sweep.op), language="python")
            else:
                layer = conv.layer_for(
                    sweep.x.shape, sweep.kernel.shape, sweep.padding, sweep.stride, sweep.dilation, bias=True
                )
                code = conv.torch_code(layer, sweep.x, sweep.kernel, bias_value=sweep.bias)
                how = t("conv.torch.params_how", c=sweep.x.shape[0], kh=sweep.window[0], kw=sweep.window[1])
                torch_ui(layer, (1, *sweep.x.shape), code, note=how)
    s.sync()  # a fragment run skips the page's top


def photo_settings_ui(big: bool) -> None:
    c1, c2, c3 = st.columns(3)
    pick(c1.selectbox, "conv.photo", [*conv.SAMPLES, "upload"])
    pick(c2.selectbox, "conv.kname", [*conv.KERNELS, "custom"], "conv.k.")
    pick(c3.radio, "conv.colour", ["rgb", "gray"], horizontal=True)
    d1, d2, d3 = st.columns(3)
    pick(d1.radio, "conv.pool", ["none", "max", "avg"], horizontal=True)
    if s.pool != "none":
        d2.select_slider(t("conv.pool_size"), [2, 3, 4], key="conv.pool_size")
    if not big:
        pick(d3.radio, "conv.display", ["clip", "rescale"], horizontal=True, help=t("conv.display.help"))


def photo_input_ui() -> np.ndarray | None:
    """The chosen sample or an upload -> (H, W, 3) uint8; None while waiting for it, or after a bad file."""
    if s.photo != "upload":
        st.caption(t(f"conv.credit.{s.photo}"))
        return sample_image(s.photo)
    upload = image_upload(t("conv.upload"), t("conv.upload.wait"), conv.MAX_PHOTO_SIDE, hint=st.info)
    return None if upload is None else np.asarray(upload[0])


@st.fragment
def photo_ui(big: bool) -> None:
    """Photo mode: the same arithmetic on a real photo, channel by channel."""
    pads, strides, dils = sizes_ui(big)
    photo_settings_ui(big)
    with explained_errors():
        if (rgb := photo_input_ui()) is None:
            return s.sync()
        if s.kname == "custom":
            st.text_area(t("conv.custom"), key="conv.custom", height=110, help=t("conv.kernel.help"))
            kernel = conv.parse_matrix(s.custom, "kernel", conv.MAX_KERNEL)[0]  # (kh, kw)
        else:
            kernel = conv.named_kernel(s.kname)
        colour, pool = s.colour == "rgb", s.pool
        res = conv.explore_photo(rgb, kernel, pads, strides, dils, colour, pool, s.pool_size, s.display)
        k1, k2 = st.columns([1, 3])
        k1.markdown(
            grid_html(kernel, cell_px=60 if big else 44, caption=t("conv.grid.kernel")),
            unsafe_allow_html=True,
        )
        k2.image(
            rgb, caption=t("conv.photo.input", h=rgb.shape[0], w=rgb.shape[1]), width=560 if big else 420
        )
        signature = repr(("photo", s.photo, rgb.shape, kernel.shape, pads, strides, dils))
        revealed = predict_first("conv", signature, res.conv_shape)
        if revealed:
            photo_results_ui(res, rgb, kernel, pads, strides, dils, colour, pool)
    s.sync()


def photo_results_ui(
    res: conv.PhotoResult, rgb, kernel, pads, strides, dils, colour: bool, pool: str
) -> None:
    (c, h, w), (oh, ow) = res.in_shape, res.conv_shape
    size_ui(rgb.shape[:2], kernel.shape, pads, strides, dils)
    pooled = t("conv.photo.pooled", mode=t(f"conv.pool.{pool}"), h=res.out_shape[0], w=res.out_shape[1])
    st.markdown(t("conv.photo.shapes", c=c, h=h, w=w, oh=oh, ow=ow) + (pooled if pool != "none" else ""))
    if colour:
        st.markdown(f"#### {t('conv.photo.channels')}")
        charts.image_row(res.channels, [t(f"conv.photo.ch{i}") for i in range(3)], per_row=3, factor=1)
        st.markdown(f"#### {t('conv.photo.per_channel')}")
        captions = [t(f"conv.photo.ch{i}") + " ⋆ " + t("conv.grid.kernel") for i in range(3)]
        charts.image_row(res.per_channel, captions, per_row=3, factor=1)
        summed = t("conv.photo.summed", lo=res.summed_range[0], hi=res.summed_range[1])
        charts.image_row([res.combined, res.summed], [t("conv.photo.combined"), summed], per_row=2, factor=1)
        st.caption(t("conv.photo.sum_note"))
    else:
        charts.image_row(
            [res.channels[0], res.combined], [t("conv.photo.gray_in"), t("conv.photo.gray_out")], 2, 1
        )
        st.caption(t("conv.photo.gray_note"))
    st.subheader(t("conv.torch"))
    layer = conv.ConvLayer(c, 1, kernel.shape, strides, pads, dils, bias=False)
    pool_arg = None if pool == "none" else (pool, s.pool_size)
    code = conv.torch_code(layer, kernel=kernel, input_shape=(1, *res.in_shape), pool=pool_arg)
    torch_ui(layer, (1, *res.in_shape), code, pool_arg)


def slides_ui(big: bool) -> None:
    """The slides' six nn.Conv2d examples: shapes and parameter counts."""
    keys = ["conv.slides6.example", "conv.slides6.input", "", "conv.slides6.output", "conv.torch.params"]
    names = [t(k) if k else "nn.Conv2d" for k in keys] + [t("conv.slides6.tensors")]
    with st.expander(t("conv.slides6"), expanded=big):
        rows = [dict(zip(names, row, strict=True)) for row in conv.slide_rows()]
        st.dataframe(rows, hide_index=True, width="stretch")


st.title(t("nav.conv"))
st.caption(t("conv.intro"))
big = presenter()
if big:  # the output size is the answer the class waits for: make it projector-sized
    st.markdown(
        "<style>[data-testid='stMetricValue'] * { font-size: 3.2rem !important; }</style>",
        unsafe_allow_html=True,
    )
pick(st.segmented_control, "conv.mode", ["grid", "photo"], required=True)
if s.mode == "photo":
    photo_ui(big)
else:
    grid_ui(big)
slides_ui(big)
show_source(
    conv.conv2d_channels, conv.conv2d, conv.pool2d, conv.output_size, conv.trace_cell, conv.explore_photo
)
