"""Convolution explorer: the slides' 3×3 example cell by cell, then the same arithmetic on a photo."""

import time

import numpy as np
import streamlit as st

from core import conv
from core.images import open_image
from ui.i18n import t
from ui.shell import explained_errors, lang, presenter, show_source
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
SIZES = ("pad", "stride", "dil")
SLIDER = {"pad": (0, 3), "stride": (1, 4), "dil": (1, 3)}  # min, max (the defaults come from the example)
PLAY_SECONDS = 1.0


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


def predict_gate(signature: str, true_hw: tuple[int, int]) -> bool:
    """'Predict first': True once the student has guessed the output size for these exact settings."""
    if not st.session_state["conv.predict"] or st.session_state.get("conv.revealed") == signature:
        return True
    st.info(t("conv.predict.ask"))
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    c1.number_input(t("conv.predict.h"), 0, 2000, step=1, key="conv.guess_h")
    c2.number_input(t("conv.predict.w"), 0, 2000, step=1, key="conv.guess_w")

    def check() -> None:
        guess = (st.session_state["conv.guess_h"], st.session_state["conv.guess_w"])
        st.session_state["conv.revealed"] = signature
        st.session_state["conv.verdict"] = (guess, tuple(true_hw))

    c3.button(t("conv.predict.check"), on_click=check, type="primary")
    return False


def show_verdict() -> None:
    verdict = st.session_state.pop("conv.verdict", None)
    if verdict:
        (gh, gw), (h, w) = verdict
        if (gh, gw) == (h, w):
            st.success(t("conv.predict.right", h=h, w=w))
        else:
            st.warning(t("conv.predict.wrong", gh=gh, gw=gw, h=h, w=w))


def size_text(in_hw, k_hw, pads, strides, dils) -> None:
    """The output-size formula with the numbers in, one line per axis (core writes the formula)."""
    for axis, i in (("H", 0), ("W", 1)):
        st.markdown(
            f"${axis}_{{out}}$ = `{conv.size_formula(in_hw[i], k_hw[i], pads[i], strides[i], dils[i])}`"
        )


st.title(t("nav.conv"))
st.caption(t("conv.intro"))
big = presenter()
if big:  # the output size is the answer the class waits for: make it projector-sized
    st.markdown(
        "<style>[data-testid='stMetricValue'] * { font-size: 3.2rem !important; }</style>",
        unsafe_allow_html=True,
    )
LANG = lang()  # format_func labels are also drawn outside the script run

# 1. Settings, from the URL (or remembered, or the slides' first example)
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
for name in SIZES:  # ... and its padding and stride
    lo, hi = SLIDER[name]
    rows, cols = {"pad": (example["pad"], example["pad"]), "stride": example["stride"], "dil": (1, 1)}[name]
    url_default(f"conv.{name}", rows, choices=list(range(lo, hi + 1)))
    url_default(f"conv.{name}_w", cols, choices=list(range(lo, hi + 1)))
url_default("conv.photo", "test_card", choices=[*conv.SAMPLES, "upload"])
url_default("conv.kname", "edge", choices=[*conv.KERNELS, "custom"])
url_default("conv.custom", conv.format_matrix(conv.KERNELS["sharpen"]))
url_default("conv.colour", "rgb", choices=["rgb", "gray"])
url_default("conv.pool", "none", choices=["none", "max", "avg"])
url_default("conv.pool_size", 2, choices=[2, 3, 4])
url_default("conv.display", "clip", choices=["clip", "rescale"])
st.session_state["conv.playing"] = False  # only Play (a fragment-only run) plays; any other control stops it

mode = (
    st.segmented_control(
        t("conv.mode"),
        ["grid", "photo"],
        key="conv.mode",
        selection_mode="single",
        format_func=lambda m: t(f"conv.mode.{m}", LANG),
    )
    or "grid"
)

# 2. Padding, stride, dilation: one slider each, or one per axis
per_axis = st.session_state["conv.axes"]
cols = st.columns(3)
for col, name in zip(cols, SIZES, strict=True):
    lo, hi = SLIDER[name]
    label = t(f"conv.{name}") + (t("conv.axis.h") if per_axis else "")
    col.slider(label, lo, hi, key=f"conv.{name}", help=t(f"conv.{name}.help"))
    if per_axis:
        col.slider(t(f"conv.{name}") + t("conv.axis.w"), lo, hi, key=f"conv.{name}_w")
if not big:
    st.toggle(t("conv.axes"), key="conv.axes", help=t("conv.axes.help"))
st.toggle(t("conv.predict"), key="conv.predict", help=t("conv.predict.help"))


def axis_pair(name: str) -> tuple[int, int]:
    h = st.session_state[f"conv.{name}"]
    return (h, st.session_state[f"conv.{name}_w"]) if per_axis else (h, h)


pads, strides, dils = axis_pair("pad"), axis_pair("stride"), axis_pair("dil")

# 3a. Grid mode: the slide, cell by cell
if mode == "grid":
    c1, c2 = st.columns([2, 1])
    c1.selectbox(
        t("conv.example"),
        list(EXAMPLES),
        key="conv.example",
        on_change=load_example,
        format_func=lambda e: t(f"conv.example.{e}", LANG),
    )
    c2.radio(
        t("conv.op"),
        ["conv", "max", "avg"],
        key="conv.op",
        horizontal=True,
        format_func=lambda o: t(f"conv.op.{o}", LANG),
    )
    op = st.session_state["conv.op"]
    if not big:
        e1, e2, e3 = st.columns([2, 2, 1])
        e1.text_area(t("conv.input"), key="conv.input", height=170, help=t("conv.input.help"))
        if op == "conv":
            e2.text_area(t("conv.kernel"), key="conv.kernel", height=170, help=t("conv.kernel.help"))
            e3.number_input(t("conv.bias"), step=1.0, key="conv.bias")
        else:
            e2.slider(t("conv.window"), 1, 4, key="conv.window")
    elif op != "conv":
        st.slider(t("conv.window"), 1, 4, key="conv.window")
    with explained_errors():
        x = conv.parse_matrix(st.session_state["conv.input"], "input")  # (C, H, W)
        if op == "conv":
            k = conv.parse_matrix(st.session_state["conv.kernel"], "kernel", conv.MAX_KERNEL)  # (C, kh, kw)
            bias = float(st.session_state["conv.bias"])
            steps = conv.trace(x, k, pads, strides, dils, bias)
            out = conv.conv2d(x, k, pads, strides, dils, bias)
            k_hw, used_pads, used_dils = k.shape[1:], pads, dils
        else:
            if x.shape[0] > 1:
                st.caption(t("conv.pool.first"))
                x = x[:1]  # pooling works per channel: step through the first one
            k, bias, window = None, 0.0, st.session_state["conv.window"]
            steps = conv.trace(x, window, stride=strides, op=op)
            out = conv.pool2d(x[0], window, strides, op)
            k_hw, used_pads, used_dils = (window, window), (0, 0), (1, 1)
            if pads != (0, 0) or dils != (1, 1):
                st.caption(t("conv.pool.note"))
        out_hw = (out.shape[-2], out.shape[-1])
        signature = repr(
            (x.tolist(), None if k is None else k.tolist(), op, k_hw, used_pads, strides, used_dils)
        )
        cell_px = int(
            np.clip((560 if big else 400) // (x.shape[2] + 2 * used_pads[1]), 30, 88 if big else 60)
        )
        padded = conv.pad(x, used_pads)  # (C, H + 2p, W + 2p)

        revealed = predict_gate(signature, out_hw)
        show_verdict()
        n = len(steps)
        if st.session_state["conv.step"] > n or not revealed:
            st.session_state["conv.step"] = min(max(1, st.session_state["conv.step"]), n) if revealed else 1

        if revealed:
            m1, m2 = st.columns([1, 3])
            m1.metric(t("conv.out_size"), f"{out_hw[0]} × {out_hw[1]}")
            with m2:
                size_text(x.shape[1:], k_hw, used_pads, strides, used_dils)

        @st.fragment
        def sweep() -> None:
            """The window walks over the padded input; the output fills in cell by cell.

            Play chains fragment-only runs (the rest of the page stays put): each draws one cell, waits
            PLAY_SECONDS and reruns the fragment on the next cell, until the last. A Pause click during
            the wait joins that rerun, so the window stops where it is; any other control is a full run,
            which stops the play. (A browser-side `run_every` timer stalled now and then; this cannot.)
            """
            playing = revealed and n > 1 and st.session_state["conv.playing"]
            if revealed:

                def toggle_play() -> None:
                    """Play from the slider's cell (after the last, the first); Pause leaves it there."""
                    if st.session_state["conv.playing"]:
                        st.session_state["conv.step"] = st.session_state["conv.shown"]  # the cell on screen
                    else:
                        step_now = st.session_state["conv.step"]
                        first = step_now if step_now < n else 1
                        st.session_state["conv.pos"] = st.session_state["conv.shown"] = first
                    st.session_state["conv.playing"] = not st.session_state["conv.playing"]

                st.button(
                    t("conv.pause") if playing else t("conv.play"),
                    on_click=toggle_play,
                    disabled=n < 2,
                    icon=":material/pause:" if playing else ":material/play_arrow:",
                    key="conv.play_button",
                )
            if not playing:
                if revealed and n > 1:
                    st.slider(t("conv.step"), 1, n, key="conv.step", help=t("conv.step.help"))
                draw_step(st.session_state["conv.step"])
                return
            # The play position is not the slider's key: the browser sends the hidden slider's old value
            # with a Pause click, which would win over a value set here.
            done = min(st.session_state.get("conv.pos", 1), n)
            st.progress(done / n, text=t("conv.playing", done=done, n=n))
            draw_step(done)
            st.session_state["conv.shown"] = done
            time.sleep(PLAY_SECONDS)
            if done >= n:
                st.session_state["conv.playing"] = False  # stop on the last cell, the slider comes back
                st.session_state["conv.step"] = n
            else:
                st.session_state["conv.pos"] = done + 1
            st.rerun(scope="fragment")

        def draw_step(done: int) -> None:
            """The padded input and its window, the kernel, the output so far, and this cell's sum."""
            step = steps[done - 1]
            window = [(r, c) for r in step.rows for c in step.cols]
            g1, g2, g3 = st.columns([3, 2, 3])
            with g1:
                for ch in range(x.shape[0]):
                    weights = (
                        None
                        if k is None
                        else {
                            (r, c): k[ch, i, j]
                            for i, r in enumerate(step.rows)
                            for j, c in enumerate(step.cols)
                        }
                    )
                    caption = t("conv.grid.input", p=f"{used_pads[0]}, {used_pads[1]}") + (
                        t("conv.grid.channel", c=ch) if x.shape[0] > 1 else ""
                    )
                    st.markdown(
                        conv.grid_html(
                            padded[ch],
                            window,
                            padding=used_pads,
                            weights=weights,
                            cell_px=cell_px,
                            caption=caption,
                        ),
                        unsafe_allow_html=True,
                    )
            with g2:
                if k is None:
                    st.markdown(t("conv.grid.pool", op=t(f"conv.op.{op}"), k=k_hw[0]))
                for ch in range(0 if k is None else k.shape[0]):
                    st.markdown(
                        conv.grid_html(
                            k[ch],
                            cell_px=cell_px,
                            caption=t("conv.grid.kernel")
                            + (t("conv.grid.channel", c=ch) if k.shape[0] > 1 else ""),
                        ),
                        unsafe_allow_html=True,
                    )
            with g3:
                if revealed:
                    hidden = [
                        (r, c)
                        for r in range(out_hw[0])
                        for c in range(out_hw[1])
                        if r * out_hw[1] + c >= done
                    ]
                    st.markdown(
                        conv.grid_html(
                            out,
                            current=(step.row, step.col),
                            hidden=hidden,
                            cell_px=max(cell_px, 44),
                            caption=t("conv.grid.output"),
                        ),
                        unsafe_allow_html=True,
                    )
                else:
                    st.markdown(f"**{t('conv.grid.output')}**: ?")
            if revealed:
                size = 40 if big else 26
                st.markdown(
                    f"<div style='font-size:{size}px;font-family:ui-monospace,Menlo,monospace;"
                    f"padding:8px 12px;background:#fff9db;border-left:6px solid #e8590c;margin:6px 0'>"
                    f"{t('conv.cell', r=step.row, c=step.col)} &nbsp; {step.expression()}</div>",
                    unsafe_allow_html=True,
                )

        sweep()

        # 4. PyTorch view
        if revealed:
            st.subheader(t("conv.torch"))
            if op == "conv":
                layer = conv.layer_for(x.shape, k.shape, pads, strides, dils, bias=True)
                code = conv.torch_code(layer, x, k, bias_value=bias)
                p1, p2, p3 = st.columns(3)
                p1.metric(t("conv.torch.shape"), str(list(layer.output_shape((1, *x.shape)))))
                p2.metric(t("conv.torch.params"), layer.param_count(bias=True))
                p3.metric(t("conv.torch.params_nobias"), layer.param_count(bias=False))
                st.caption(t("conv.torch.params_how", c=x.shape[0], kh=k.shape[1], kw=k.shape[2]))
            else:
                code = conv.pool_code(x, st.session_state["conv.window"], strides, op)
                st.caption(t("conv.torch.pool"))
            st.code(code, language="python")

# 3b. Photo mode: the same arithmetic on a real photo, channel by channel
else:
    c1, c2, c3 = st.columns(3)
    c1.selectbox(
        t("conv.photo"),
        [*conv.SAMPLES, "upload"],
        key="conv.photo",
        format_func=lambda p: t(f"conv.photo.{p}", LANG),
    )
    c2.selectbox(
        t("conv.kname"),
        [*conv.KERNELS, "custom"],
        key="conv.kname",
        format_func=lambda k: t(f"conv.k.{k}", LANG),
    )
    c3.radio(
        t("conv.colour"),
        ["rgb", "gray"],
        key="conv.colour",
        horizontal=True,
        format_func=lambda c: t(f"conv.colour.{c}", LANG),
    )
    d1, d2, d3 = st.columns(3)
    d1.radio(
        t("conv.pool"),
        ["none", "max", "avg"],
        key="conv.pool",
        horizontal=True,
        format_func=lambda p: t(f"conv.pool.{p}", LANG),
    )
    if st.session_state["conv.pool"] != "none":
        d2.select_slider(t("conv.pool_size"), [2, 3, 4], key="conv.pool_size")
    if not big:
        d3.radio(
            t("conv.display"),
            ["clip", "rescale"],
            key="conv.display",
            horizontal=True,
            format_func=lambda d: t(f"conv.display.{d}", LANG),
            help=t("conv.display.help"),
        )
    with explained_errors():
        if st.session_state["conv.photo"] == "upload":
            upload = st.file_uploader(t("conv.upload"), type=["png", "jpg", "jpeg", "gif", "webp", "bmp"])
            if upload is None:
                st.info(t("conv.upload.wait"))
                st.stop()
            rgb = np.asarray(open_image(upload.getvalue(), max_side=conv.MAX_PHOTO_SIDE))
        else:
            rgb = st.cache_data(conv.sample_image, show_spinner=False)(st.session_state["conv.photo"])
            st.caption(t(f"conv.credit.{st.session_state['conv.photo']}"))
        if st.session_state["conv.kname"] == "custom":
            st.text_area(t("conv.custom"), key="conv.custom", height=110, help=t("conv.kernel.help"))
            kernel = conv.parse_matrix(st.session_state["conv.custom"], "kernel", conv.MAX_KERNEL)[0]
        else:
            kernel = conv.named_kernel(st.session_state["conv.kname"])
        colour = st.session_state["conv.colour"] == "rgb"
        pool = st.session_state["conv.pool"]
        res = conv.explore_photo(
            rgb,
            kernel,
            pads,
            strides,
            dils,
            colour=colour,
            pool=pool,
            pool_size=st.session_state["conv.pool_size"],
            display=st.session_state["conv.display"],
        )
        k1, k2 = st.columns([1, 3])
        k1.markdown(
            conv.grid_html(kernel, cell_px=60 if big else 44, caption=t("conv.grid.kernel")),
            unsafe_allow_html=True,
        )
        k2.image(
            rgb, caption=t("conv.photo.input", h=rgb.shape[0], w=rgb.shape[1]), width=560 if big else 420
        )
        signature = repr(
            ("photo", st.session_state["conv.photo"], rgb.shape, kernel.shape, pads, strides, dils)
        )
        revealed = predict_gate(signature, res.conv_shape)
        show_verdict()
        if revealed:
            pool_txt = (
                t("conv.photo.pooled", mode=t(f"conv.pool.{pool}"), h=res.out_shape[0], w=res.out_shape[1])
                if pool != "none"
                else ""
            )
            st.metric(t("conv.out_size"), f"{res.conv_shape[0]} × {res.conv_shape[1]}")
            size_text(rgb.shape[:2], kernel.shape, pads, strides, dils)
            st.markdown(
                t(
                    "conv.photo.shapes",
                    c=res.in_shape[0],
                    h=res.in_shape[1],
                    w=res.in_shape[2],
                    oh=res.conv_shape[0],
                    ow=res.conv_shape[1],
                )
                + pool_txt
            )
            if colour:
                st.markdown(f"#### {t('conv.photo.channels')}")
                cols = st.columns(3)
                for c, col in enumerate(cols):
                    col.image(res.channels[c], caption=t(f"conv.photo.ch{c}"), width="stretch")
                st.markdown(f"#### {t('conv.photo.per_channel')}")
                cols = st.columns(3)
                for c, col in enumerate(cols):
                    col.image(
                        res.per_channel[c],
                        caption=t(f"conv.photo.ch{c}") + " ⋆ " + t("conv.grid.kernel"),
                        width="stretch",
                    )
                s1, s2 = st.columns(2)
                s1.image(res.combined, caption=t("conv.photo.combined"), width="stretch")
                s2.image(
                    res.summed,
                    caption=t("conv.photo.summed", lo=res.summed_range[0], hi=res.summed_range[1]),
                    width="stretch",
                )
                st.caption(t("conv.photo.sum_note"))
            else:
                s1, s2 = st.columns(2)
                s1.image(res.channels[0], caption=t("conv.photo.gray_in"), width="stretch")
                s2.image(res.combined, caption=t("conv.photo.gray_out"), width="stretch")
                st.caption(t("conv.photo.gray_note"))

            st.subheader(t("conv.torch"))
            layer = conv.ConvLayer(res.in_shape[0], 1, kernel.shape, strides, pads, dils, bias=False)
            p1, p2, p3 = st.columns(3)
            in_shape = (1, *res.in_shape)
            p1.metric(t("conv.torch.shape"), str(list(layer.output_shape(in_shape))))
            p2.metric(t("conv.torch.params"), layer.param_count(bias=True))
            p3.metric(t("conv.torch.params_nobias"), layer.param_count(bias=False))
            st.code(
                conv.torch_code(
                    layer,
                    kernel=kernel,
                    input_shape=in_shape,
                    pool=None if pool == "none" else (pool, st.session_state["conv.pool_size"]),
                ),
                language="python",
            )

# 5. The slides' six nn.Conv2d examples
with st.expander(t("conv.slides6"), expanded=big):
    st.dataframe(
        [
            {
                t("conv.slides6.example"): ex.title,
                t("conv.slides6.input"): str(list(ex.input_shape)),
                "nn.Conv2d": ex.layer.call().removeprefix("nn.Conv2d"),
                t("conv.slides6.output"): str(list(ex.layer.output_shape(ex.input_shape))),
                t("conv.torch.params"): ex.layer.param_count(),
                t("conv.slides6.tensors"): 2 if ex.layer.bias else 1,
            }
            for ex in conv.SLIDE_EXAMPLES
        ],
        hide_index=True,
        width="stretch",
    )

sync_url(
    "conv.mode",
    "conv.example",
    "conv.input",
    "conv.kernel",
    "conv.op",
    "conv.window",
    "conv.bias",
    "conv.axes",
    "conv.predict",
    *(f"conv.{n}" for n in SIZES),
    *(f"conv.{n}_w" for n in SIZES),
    "conv.photo",
    "conv.kname",
    "conv.custom",
    "conv.colour",
    "conv.pool",
    "conv.pool_size",
    "conv.display",
)
show_source(
    conv.conv2d_channels, conv.conv2d, conv.pool2d, conv.output_size, conv.trace_cell, conv.explore_photo
)
