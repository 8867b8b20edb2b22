"""Convolution explorer: the slides' 3×3 example cell by cell, then the same arithmetic on a photo.

Grid mode and photo mode are each a fragment: a slider reruns its mode only, not the app (felt speed);
Play reruns grid mode once per output cell.
"""

import time

import numpy as np
import streamlit as st

from core import conv
from core.images import open_image
from ui import charts
from ui.grids import grid_html, sweep_step
from ui.i18n import labeller, t
from ui.shell import explained_errors, presenter, show_source
from ui.state import sync_url, url_default

EXAMPLES = {  # grid presets: the slides' worked examples
    "slide": dict(input=conv.SLIDE_INPUT, kernel=conv.SLIDE_KERNEL, op="conv", pad=0, stride=(1, 1)),
    "slide_pad": dict(input=conv.SLIDE_INPUT, kernel=conv.SLIDE_KERNEL, op="conv", pad=1, stride=(1, 1)),
    "slide_stride": dict(input=conv.SLIDE_INPUT, kernel=conv.SLIDE_KERNEL, op="conv", pad=1, stride=(3, 2)),
    "slide_multi": dict(
        input=conv.SLIDE_MULTI_INPUT, kernel=conv.SLIDE_MULTI_KERNEL, op="conv", pad=0, stride=(1, 1)
    ),
    "slide_pool": dict(input=conv.SLIDE_INPUT, kernel=conv.SLIDE_KERNEL, op="max", pad=0, stride=(1, 1)),
    "edge": dict(
        input=np.kron(np.eye(2), np.ones((3, 3))) * 9,
        kernel=conv.KERNELS["edge"],
        op="conv",
        pad=1,
        stride=(1, 1),
    ),
}
SIZES = {"pad": (0, 3), "stride": (1, 4), "dil": (1, 3)}  # slider min, max (the example gives the value)
SPEEDS = [0.25, 0.5, 1.0, 2.0]  # Play: seconds per output cell


@st.cache_data(show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    return conv.sample_image(name)  # (H, W, 3) uint8


def load_example() -> None:
    """Selecting an example fills the text boxes and the sliders (runs before the page is drawn)."""
    ex = EXAMPLES[st.session_state["conv.example"]]
    st.session_state["conv.input"] = conv.format_matrix(ex["input"])
    st.session_state["conv.kernel"] = conv.format_matrix(ex["kernel"])
    st.session_state["conv.op"] = ex["op"]
    st.session_state["conv.pad"] = st.session_state["conv.pad_w"] = ex["pad"]
    st.session_state["conv.stride"], st.session_state["conv.stride_w"] = ex["stride"]
    st.session_state["conv.dil"] = st.session_state["conv.dil_w"] = 1
    st.session_state["conv.axes"] = ex["stride"][0] != ex["stride"][1]
    st.session_state["conv.step"] = 1


# 1. State, each URL key once (URL > remembered > the slides' first example)
url_default("conv.mode", "grid", choices=["grid", "photo"])
example = EXAMPLES[url_default("conv.example", "slide", choices=list(EXAMPLES))]
url_default("conv.input", conv.format_matrix(example["input"]))  # a link naming an example gets its numbers
url_default("conv.kernel", conv.format_matrix(example["kernel"]))
url_default("conv.op", example["op"], choices=["conv", "max", "avg"])
url_default("conv.window", 2)
url_default("conv.bias", 0.0)
url_default("conv.axes", example["stride"][0] != example["stride"][1])
url_default("conv.predict", True)
url_default("conv.step", 1)
url_default("conv.speed", 1.0, choices=SPEEDS)
for name, (lo, hi), (rows, cols) in zip(
    SIZES, SIZES.values(), [(example["pad"],) * 2, example["stride"], (1, 1)], strict=True
):
    url_default(f"conv.{name}", rows, choices=list(range(lo, hi + 1)))  # ... and its padding and stride
    url_default(f"conv.{name}_w", cols, choices=list(range(lo, hi + 1)))
url_default("conv.photo", "test_card", choices=[*conv.SAMPLES, "upload"])
url_default("conv.kname", "edge", choices=[*conv.KERNELS, "custom"])
url_default("conv.custom", conv.format_matrix(conv.KERNELS["sharpen"]))
url_default("conv.colour", "rgb", choices=["rgb", "gray"])
url_default("conv.pool", "none", choices=["none", "max", "avg"])
url_default("conv.pool_size", 2, choices=[2, 3, 4])
url_default("conv.display", "clip", choices=["clip", "rescale"])


def sizes_ui(big: bool) -> tuple[tuple[int, int], ...]:
    """Padding, stride, dilation sliders (one per axis if asked) -> ((ph, pw), (sh, sw), (dh, dw))."""
    per_axis = st.session_state["conv.axes"]
    for col, (name, (lo, hi)) in zip(st.columns(3), SIZES.items(), strict=True):
        col.slider(
            t(f"conv.{name}") + (t("conv.axis.h") if per_axis else ""),
            lo,
            hi,
            key=f"conv.{name}",
            help=t(f"conv.{name}.help"),
        )
        if per_axis:
            col.slider(t(f"conv.{name}") + t("conv.axis.w"), lo, hi, key=f"conv.{name}_w")
    if not big:
        st.toggle(t("conv.axes"), key="conv.axes", help=t("conv.axes.help"))
    st.toggle(t("conv.predict"), key="conv.predict", help=t("conv.predict.help"))
    s = st.session_state
    return tuple((s[f"conv.{n}"], s[f"conv.{n}_w"] if per_axis else s[f"conv.{n}"]) for n in SIZES)


def predict_gate(signature: str, true_hw: tuple[int, int]) -> bool:
    """'Predict first': True once the student has guessed the output size for these exact settings."""
    if not st.session_state["conv.predict"] or st.session_state.get("conv.revealed") == signature:
        return True
    st.info(t("conv.predict.ask"))
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    c1.number_input(t("conv.predict.h"), 0, 2000, step=1, key="conv.guess_h")
    c2.number_input(t("conv.predict.w"), 0, 2000, step=1, key="conv.guess_w")

    def check() -> None:
        guess = (st.session_state["conv.guess_h"], st.session_state["conv.guess_w"])
        st.session_state["conv.revealed"] = signature
        st.session_state["conv.verdict"] = (guess, tuple(true_hw))

    c3.button(t("conv.predict.check"), on_click=check, type="primary")
    return False


def verdict_ui() -> None:
    if verdict := st.session_state.pop("conv.verdict", None):
        (gh, gw), (h, w) = verdict
        right = (gh, gw) == (h, w)
        (st.success if right else st.warning)(
            t(f"conv.predict.{'right' if right else 'wrong'}", gh=gh, gw=gw, h=h, w=w)
        )


def size_ui(in_hw, k_hw, pads, strides, dils, metric=st) -> None:
    """The output size, and its formula with the numbers in, one line per axis (core writes the formula)."""
    out = conv.output_shape(in_hw, k_hw, pads, strides, dils)
    metric.metric(t("conv.out_size"), f"{out[0]} × {out[1]}")
    for axis, i in (("H", 0), ("W", 1)):
        st.markdown(
            f"${axis}_{{out}}$ = `{conv.size_formula(in_hw[i], k_hw[i], pads[i], strides[i], dils[i])}`"
        )


def torch_ui(layer: conv.ConvLayer, in_shape: tuple[int, ...], code: str, pool=None) -> None:
    """The nn.Conv2d view: the shape the code prints, parameters with and without bias, the code."""
    p1, p2, p3 = st.columns([2, 1, 1])  # the shape is the longest number: it gets the room
    p1.metric(t("conv.torch.shape"), str(list(conv.torch_output_shape(layer, in_shape, pool))))
    p2.metric(t("conv.torch.params"), layer.param_count(bias=True))
    p3.metric(t("conv.torch.params_nobias"), layer.param_count(bias=False))
    st.code(code, language="python")


def grid_inputs_ui(big: bool, sizes: tuple[tuple[int, int], ...]) -> conv.Sweep:
    """Example, operation and (not in presenter mode) the typed numbers -> the sweep (one core call)."""
    c1, c2 = st.columns([2, 1])
    c1.selectbox(
        t("conv.example"),
        list(EXAMPLES),
        key="conv.example",
        on_change=load_example,
        format_func=labeller("conv.example."),
    )
    c2.radio(
        t("conv.op"), ["conv", "max", "avg"], key="conv.op", horizontal=True, format_func=labeller("conv.op.")
    )
    s, op = st.session_state, st.session_state["conv.op"]
    e1, e2, e3 = st.columns([2, 2, 1]) if not big else (None, st, None)
    if not big:
        e1.text_area(t("conv.input"), key="conv.input", height=170, help=t("conv.input.help"))
        if op == "conv":
            e2.text_area(t("conv.kernel"), key="conv.kernel", height=170, help=t("conv.kernel.help"))
            e3.number_input(t("conv.bias"), step=1.0, key="conv.bias")
    if op != "conv":
        e2.slider(t("conv.window"), 1, 4, key="conv.window")
    x = conv.parse_matrix(s["conv.input"], "input")  # (C, H, W)
    k = (
        conv.parse_matrix(s["conv.kernel"], "kernel", conv.MAX_KERNEL) if op == "conv" else None
    )  # (C, kh, kw)
    return conv.sweep(x, k, *sizes, float(s["conv.bias"]), op, s["conv.window"])


@st.fragment
def grid_ui(big: bool) -> None:
    """Grid mode: the slide, cell by cell, then the same layer in PyTorch."""
    if not st.session_state.pop("conv.tick", False):  # Play's own reruns play on; any control stops it
        st.session_state["conv.playing"] = False
    sizes = sizes_ui(big)
    with explained_errors():
        s = grid_inputs_ui(big, sizes)
        if s.first_channel_only:
            st.caption(t("conv.pool.first"))
        if s.ignores_pad_dil:
            st.caption(t("conv.pool.note"))
        revealed = predict_gate(s.signature(), s.out.shape)
        verdict_ui()
        if revealed:
            m1, m2 = st.columns([1, 3])
            with m2:
                size_ui(s.x.shape[1:], s.window, s.padding, s.stride, s.dilation, metric=m1)
        sweep_ui(s, revealed, big)
        if revealed:
            st.subheader(t("conv.torch"))
            if s.kernel is None:
                st.caption(t("conv.torch.pool"))
                st.code(conv.pool_code(s.x, s.window, s.stride, s.op), language="python")
            else:
                layer = conv.layer_for(s.x.shape, s.kernel.shape, s.padding, s.stride, s.dilation, bias=True)
                st.caption(t("conv.torch.params_how", c=s.x.shape[0], kh=s.window[0], kw=s.window[1]))
                torch_ui(layer, (1, *s.x.shape), conv.torch_code(layer, s.x, s.kernel, bias_value=s.bias))
    sync_url("conv.")  # a fragment run skips the page's last line


def sweep_ui(s: conv.Sweep, revealed: bool, big: bool) -> None:
    """The window walks over the padded input; the output fills in cell by cell.

    Play chains fragment-only runs (the rest of the page stays put): each draws one cell, waits the chosen
    seconds and reruns grid mode on the next cell, until the last. A Pause click during the wait joins
    that rerun, so the window stops where it is; any other control stops the play.
    """
    ss, n = st.session_state, len(s.steps)
    ss["conv.step"] = min(max(1, ss["conv.step"]), n) if revealed else 1
    playing = revealed and n > 1 and ss["conv.playing"]
    if revealed:
        b1, b2 = st.columns([1, 2], vertical_alignment="bottom")
        per_cell = t("conv.speed.value").replace("{s:g}", "{:g}")  # bound now: format_func runs later

        def toggle_play() -> None:
            """Play from the slider's cell (after the last, the first); Pause leaves it there."""
            if ss["conv.playing"]:
                ss["conv.step"] = ss["conv.shown"]  # the cell on screen
            else:
                ss["conv.pos"] = ss["conv.shown"] = ss["conv.step"] if ss["conv.step"] < n else 1
            ss["conv.playing"], ss["conv.tick"] = not ss["conv.playing"], True

        b1.button(
            t("conv.pause") if playing else t("conv.play"),
            on_click=toggle_play,
            disabled=n < 2,
            icon=":material/pause:" if playing else ":material/play_arrow:",
            key="conv.play_button",
        )
        b2.select_slider(
            t("conv.speed"),
            SPEEDS,
            key="conv.speed",
            format_func=per_cell.format,
            on_change=ss.__setitem__,  # a new speed keeps playing (from the next cell)
            args=("conv.tick", True),
        )
    if not playing:
        if revealed and n > 1:
            st.slider(t("conv.step"), 1, n, key="conv.step", help=t("conv.step.help"))
        sweep_step(s, ss["conv.step"], revealed, big)
        return
    # The play position is not the slider's key: a Pause click sends the hidden slider's old value.
    done = min(ss.get("conv.pos", 1), n)
    st.progress(done / n, text=t("conv.playing", done=done, n=n))
    sweep_step(s, done, revealed, big)
    ss["conv.shown"] = done
    time.sleep(ss["conv.speed"])
    if done >= n:
        ss["conv.playing"], ss["conv.step"] = False, n  # stop on the last cell, the slider comes back
    else:
        ss["conv.pos"] = done + 1
    ss["conv.tick"] = True
    st.rerun(scope="fragment")


def photo_settings_ui(big: bool) -> None:
    c1, c2, c3 = st.columns(3)
    c1.selectbox(
        t("conv.photo"), [*conv.SAMPLES, "upload"], key="conv.photo", format_func=labeller("conv.photo.")
    )
    c2.selectbox(
        t("conv.kname"), [*conv.KERNELS, "custom"], key="conv.kname", format_func=labeller("conv.k.")
    )
    c3.radio(
        t("conv.colour"),
        ["rgb", "gray"],
        key="conv.colour",
        horizontal=True,
        format_func=labeller("conv.colour."),
    )
    d1, d2, d3 = st.columns(3)
    d1.radio(
        t("conv.pool"),
        ["none", "max", "avg"],
        key="conv.pool",
        horizontal=True,
        format_func=labeller("conv.pool."),
    )
    if st.session_state["conv.pool"] != "none":
        d2.select_slider(t("conv.pool_size"), [2, 3, 4], key="conv.pool_size")
    if not big:
        d3.radio(
            t("conv.display"),
            ["clip", "rescale"],
            key="conv.display",
            horizontal=True,
            format_func=labeller("conv.display."),
            help=t("conv.display.help"),
        )


def photo_input_ui() -> np.ndarray | None:
    """The chosen sample or an upload -> (H, W, 3) uint8; None while waiting for the upload."""
    name = st.session_state["conv.photo"]
    if name != "upload":
        st.caption(t(f"conv.credit.{name}"))
        return sample_image(name)
    upload = st.file_uploader(t("conv.upload"), type=["png", "jpg", "jpeg", "gif", "webp", "bmp"])
    if upload is None:
        st.info(t("conv.upload.wait"))
        return None
    return np.asarray(open_image(upload.getvalue(), max_side=conv.MAX_PHOTO_SIDE))


@st.fragment
def photo_ui(big: bool) -> None:
    """Photo mode: the same arithmetic on a real photo, channel by channel."""
    pads, strides, dils = sizes_ui(big)
    photo_settings_ui(big)
    s = st.session_state
    with explained_errors():
        if (rgb := photo_input_ui()) is None:
            return
        if s["conv.kname"] == "custom":
            st.text_area(t("conv.custom"), key="conv.custom", height=110, help=t("conv.kernel.help"))
            kernel = conv.parse_matrix(s["conv.custom"], "kernel", conv.MAX_KERNEL)[0]  # (kh, kw)
        else:
            kernel = conv.named_kernel(s["conv.kname"])
        colour, pool = s["conv.colour"] == "rgb", s["conv.pool"]
        res = conv.explore_photo(
            rgb, kernel, pads, strides, dils, colour, pool, s["conv.pool_size"], s["conv.display"]
        )
        k1, k2 = st.columns([1, 3])
        k1.markdown(
            grid_html(kernel, cell_px=60 if big else 44, caption=t("conv.grid.kernel")),
            unsafe_allow_html=True,
        )
        k2.image(
            rgb, caption=t("conv.photo.input", h=rgb.shape[0], w=rgb.shape[1]), width=560 if big else 420
        )
        revealed = predict_gate(
            repr(("photo", s["conv.photo"], rgb.shape, kernel.shape, pads, strides, dils)), res.conv_shape
        )
        verdict_ui()
        if revealed:
            photo_results_ui(res, rgb, kernel, pads, strides, dils, colour, pool)
    sync_url("conv.")


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
    pool_arg = None if pool == "none" else (pool, st.session_state["conv.pool_size"])
    code = conv.torch_code(layer, kernel=kernel, input_shape=(1, *res.in_shape), pool=pool_arg)
    torch_ui(layer, (1, *res.in_shape), code, pool_arg)


def slides_ui(big: bool) -> None:
    """The slides' six nn.Conv2d examples: shapes and parameter counts."""
    with st.expander(t("conv.slides6"), expanded=big):
        rows = [
            {
                t("conv.slides6.example"): ex.title,
                t("conv.slides6.input"): str(list(ex.input_shape)),
                "nn.Conv2d": ex.layer.call().removeprefix("nn.Conv2d"),
                t("conv.slides6.output"): str(list(ex.layer.output_shape(ex.input_shape))),
                t("conv.torch.params"): ex.layer.param_count(),
                t("conv.slides6.tensors"): 2 if ex.layer.bias else 1,
            }
            for ex in conv.SLIDE_EXAMPLES
        ]
        st.dataframe(rows, hide_index=True, width="stretch")


st.title(t("nav.conv"))
st.caption(t("conv.intro"))
big = presenter()
if big:  # the output size is the answer the class waits for: make it projector-sized
    st.markdown(
        "<style>[data-testid='stMetricValue'] * { font-size: 3.2rem !important; }</style>",
        unsafe_allow_html=True,
    )
mode = st.segmented_control(
    t("conv.mode"), ["grid", "photo"], key="conv.mode", format_func=labeller("conv.mode.")
)
if mode == "photo":
    photo_ui(big)
else:
    grid_ui(big)
slides_ui(big)
sync_url("conv.")
show_source(
    conv.conv2d_channels, conv.conv2d, conv.pool2d, conv.output_size, conv.trace_cell, conv.explore_photo
)
