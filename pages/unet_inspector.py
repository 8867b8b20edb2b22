"""UNet block inspector: SD-1.5's real UNet, block by block, traced on the meta device (no weights)."""

import inspect
from functools import partial

import streamlit as st

from core import diffusion, unet
from ui import charts, jobs
from ui.cached import img2img_pipeline
from ui.diffusion_charts import (
    activation_bars,
    metric_rows,
    mnist_unet_ui,
    parameter_types,
    records_table,
    unet_diagram,
)
from ui.i18n import TABLES, labeller, t
from ui.shell import current_device, explained_errors, presenter, show_source
from ui.state import sync_url, url_default

LOAD, RUN = "unet.load.job", "unet.run.job"
url_default("unet.size", "512x512", choices=list(unet.SIZES))
url_default("unet.batch", 1)
url_default("unet.cfg", True)
url_default("unet.block", "mid_block")
url_default("unet.source", "sd15", choices=["sd15", "loaded"])
url_default("unet.model", diffusion.default_model())
url_default("unet.prompt", diffusion.HOMEWORK_PROMPT)
url_default("unet.t", 999)
url_default("unet.side", 512)


@st.cache_data(show_spinner=False, max_entries=32)
def trace(config_key: tuple, size: str, batch: int, guidance: bool) -> list[unet.BlockRow]:
    return unet.inspect_unet(dict(config_key), *unet.parse_size(size), batch, guidance)


@st.cache_data(show_spinner=False)
def mnist_unet_rows() -> list[unet.BlockRow]:
    """The MNIST diffusion UNet's blocks (its default size; shapes and counts need no trained weights)."""
    from core import ddpm

    return ddpm.describe_unet()


def settings_ui(pipe) -> list[unet.BlockRow] | None:
    """Size, batch, guidance and which UNet -> the trace (cached), or None after a sentence."""
    cols = iter(st.columns([2, 2] + ([] if presenter() else [2]) + ([2] if pipe is not None else [])))
    label, size_help = unet.size_label, t("unet.size.help")
    next(cols).selectbox(t("unet.size"), unet.SIZES, key="unet.size", help=size_help, format_func=label)
    next(cols).toggle(t("unet.cfg"), key="unet.cfg", help=t("unet.cfg.help"))
    if not presenter():
        next(cols).number_input(t("unet.batch"), min_value=1, max_value=8, step=1, key="unet.batch")
    config = unet.SD15
    if pipe is not None:
        sources = ["sd15", "loaded"]
        next(cols).radio(t("unet.source"), sources, key="unet.source", format_func=labeller("unet.source."))
        config = pipe.unet.config if st.session_state["unet.source"] == "loaded" else config
    s = st.session_state
    with explained_errors():
        return trace(unet.config_key(config), s["unet.size"], int(s["unet.batch"]), bool(s["unet.cfg"]))
    return None


@st.cache_data(show_spinner=False, max_entries=64)  # Altair validates the layered U in ~0.2 s a rerun
def diagram_spec(rows: list[unet.BlockRow], picked: str, big: bool) -> dict:
    return unet_diagram(rows, picked, big)


def on_pick() -> None:
    """A click in the diagram selects that block in the selectbox (set before the widget is drawn)."""
    if picked := unet.picked_block(st.session_state["unet.diagram"].selection):
        st.session_state["unet.block"] = picked


@st.fragment  # picking a block redraws the diagram and the details only
def block_ui(rows: list[unet.BlockRow]) -> None:
    st.session_state["unet.block"] = unet.find_block(rows, st.session_state["unet.block"]).name
    st.subheader(t("unet.diagram"))
    spec = diagram_spec(rows, st.session_state["unet.block"], presenter())
    st.vega_lite_chart(spec, key="unet.diagram", on_select=on_pick, selection_mode="pick", width="stretch")
    st.caption(t("unet.diagram.caption"))
    by_name, label = {r.name: r for r in rows}, lambda n: unet.block_label(by_name[n])
    row = by_name[st.selectbox(t("unet.block"), list(by_name), key="unet.block", format_func=label)]
    st.subheader(t("unet.details", name=row.name, cls=row.cls))
    metric_rows({t(f"unet.d.{k}"): v for k, v in unet.block_numbers(row, rows).items()})
    key = f"unet.explain.{unet.explain_topic(row)}"
    st.markdown(t(key) if key in TABLES["en"] else row.cls)
    st.markdown(f"**{t('unet.parts')}**")
    records_table(unet.part_table(row), counts=True)
    if unet.has_sublayers(row):
        st.markdown(t("unet.parts.explain"))
    for title, records in unet.detail_tables(row).items():
        st.markdown(f"**{t(f'unet.{title}')}**")
        records_table(records)
    with st.expander(t("unet.source_of", cls=row.cls)):
        st.code(inspect.getsource(unet.diffusers_class(row.cls)), language="python")
    sync_url("unet.block")  # a fragment rerun skips the page's last line


def overview_ui(rows: list[unet.BlockRow]):
    """The mid block's story, then tabs: all blocks, parameters by type, skips; returns the live tab."""
    if (mid := unet.mid_attention(rows)) is not None:
        st.subheader(t("unet.mid.title"))
        st.markdown(t("unet.mid.body", q=mid.query_tokens, dim=mid.query_dim))
    tabs = st.tabs([t("unet.tab.table"), t("unet.tab.types"), t("unet.tab.skips"), t("unet.tab.live")])
    (b, _, lh, lw), (h, w) = rows[0].in_shape, unet.parse_size(st.session_state["unet.size"])
    tabs[0].caption(t("unet.table.caption", w=w, h=h, lh=lh, lw=lw, b=b))
    with tabs[0]:
        records_table(unet.block_table(rows), counts=True)
    with tabs[1]:
        parameter_types(unet.parameters_by_type(rows), t("unet.col.params"))
        st.caption(t("unet.types.caption"))
    with tabs[2]:
        records_table(unet.skip_table(unet.skip_pairs(rows)))
    return tabs[3]


def finished(job: jobs.BackgroundJob) -> None:
    """A finished load (the pipeline's cache key) or analysis, kept in the session (the view says it)."""
    st.session_state["unet.pipe_key" if job.name == LOAD else "unet.live"] = job.result


def load_work() -> jobs.Work:
    """Load's click: the pipeline named in the box, into the cache both SD pages share -> its cache key."""
    key = st.session_state["unet.model"].strip(), str(current_device())

    def load(report, should_stop):
        report({"progress": 0.0})  # "Loading the pipeline …" while it loads
        return img2img_pipeline(*key) and key

    return load


def live_ui(pipe, pipe_key) -> None:
    """Real weights: load a pipeline, run its UNet once on noise (background jobs with their live views)."""
    st.markdown(t("unet.live.intro"))
    st.text_input(t("unet.live.model"), key="unet.model")
    jobs.control(LOAD, t("unet.live.load"), load_work, draw_loading, key="unet.load", type="secondary")
    if pipe is None:
        st.info(t("unet.live.none"))
        return
    n_params = unet.count_parameters(pipe.unet)
    st.success(t("unet.live.loaded", model=pipe_key[0], device=pipe_key[1], params=f"{n_params:,}"))
    max_side = diffusion.max_side(pipe.unet.device.type)
    st.session_state["unet.side"] = min(int(st.session_state["unet.side"]), max_side)
    st.text_input(t("unet.live.prompt"), key="unet.prompt")
    c = st.columns(2)
    c[0].slider(t("unet.live.timestep"), 0, 999, key="unet.t")
    c[1].slider(t("unet.live.side"), 64, max_side, step=64, key="unet.side")
    if pipe.unet.device.type == "cpu" and n_params > 100_000_000:
        st.warning(t("unet.live.slow"))
    s = st.session_state  # read at the click: the prompt, side and timestep just set
    start = lambda: partial(unet.analyse, pipe, s["unet.prompt"], int(s["unet.side"]), int(s["unet.t"]))
    jobs.control(RUN, t("unet.live.run"), start, draw_running, key="unet.run", device=pipe.unet.device)
    if st.session_state.get("unet.live"):
        stats, maps = st.session_state["unet.live"]
        st.markdown(f"**{t('unet.live.stats')}**")
        activation_bars(unet.stats_table(stats))
        st.markdown(f"**{t('unet.live.maps')}**")
        tokens, images = unet.token_maps(maps)
        charts.image_row([m.numpy() for m in images], tokens, per_row=6, factor=8)
        st.caption(t("unet.live.maps.caption"))


def draw_loading(snap: dict) -> None:
    model, device = st.session_state["unet.model"], current_device().type.upper()
    jobs.progress_bar(snap, t("unet.live.loading", model=model, device=device))


def draw_running(snap: dict) -> None:
    jobs.progress_bar(snap, t("unet.live.running", done=snap["records"][-1]["done"]))


jobs.harvest(LOAD, finished)
jobs.harvest(RUN, finished)
st.title(t("nav.unet"))
st.markdown(t("unet.intro", params=f"{unet.SD15_PARAMETERS:,}"))
pipe_key = st.session_state.get("unet.pipe_key")
pipe = img2img_pipeline(*pipe_key) if pipe_key else None
if (rows := settings_ui(pipe)) is not None:
    metric_rows({t(f"unet.m.{k}"): v for k, v in unet.headline(rows).items()})
    block_ui(rows)
    with overview_ui(rows):
        live_ui(pipe, pipe_key)
mnist_unet_ui("unet.mnist.title", mnist_unet_rows(), "pages/mnist_diffusion.py")  # issue #18's UNet
sync_url("unet.")
show_source(unet.inspect_unet, unet.trace_unet, unet.CrossAttentionRecorder, unet.cross_attention_maps)
jobs.watch_all()  # last: the page is drawn and clickable while a pipeline loads or the UNet runs
