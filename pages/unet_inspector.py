"""UNet block inspector: SD-1.5's real UNet, block by block, traced on the meta device (no weights)."""

from functools import partial

import streamlit as st

from core import diffusion, unet
from ui import charts, diffusion_charts, jobs, weights
from ui.cached import img2img_pipeline, pipeline_job, pipeline_loader
from ui.i18n import TABLES, labeller, t
from ui.shell import explained_errors, presenter, show_code, show_source
from ui.state import url_state

LOAD, RUN, SOURCES = "unet.load.job", "unet.run.job", ("sd15", "loaded")
MNIST_PAGE = "pages/mnist_diffusion.py"  # a UNet you can train here, no download
s = url_state(
    "unet.",
    size=("512x512", unet.SIZES),
    batch=1,
    cfg=True,
    block="mid_block",
    source=("sd15", SOURCES),
    model=diffusion.default_model(),
    prompt=diffusion.HOMEWORK_PROMPT,
    t=999,
    side=512,
)


def settings_ui(pipe) -> tuple[tuple, list[unet.BlockRow]] | None:
    """Size, guidance, batch and which UNet -> (its config key, its trace), or None after a sentence."""
    cols = iter(st.columns(2 + (not presenter()) + (pipe is not None)))  # equal widths
    label, size_help = unet.size_label, t("unet.size.help")
    next(cols).selectbox(t("unet.size"), unet.SIZES, key="unet.size", help=size_help, format_func=label)
    next(cols).toggle(t("unet.cfg"), key="unet.cfg", help=t("unet.cfg.help"))
    if not presenter():
        next(cols).number_input(t("unet.batch"), min_value=1, max_value=8, step=1, key="unet.batch")
    if pipe is not None:
        next(cols).radio(t("unet.source"), SOURCES, key="unet.source", format_func=labeller("unet.source."))
    config = unet.config_key(pipe.unet.config if pipe is not None and s.source == "loaded" else unet.SD15)
    with explained_errors():
        return config, diffusion_charts.sd_unet_rows(config, s.size, int(s.batch), bool(s.cfg))
    return None


def on_pick() -> None:
    """A click in the diagram selects that block in the selectbox (set before the widget is drawn)."""
    if picked := unet.picked_block(st.session_state["unet.diagram"].selection):
        s.block = picked


@st.fragment  # picking a block redraws the diagram and the details only
def block_ui(config: tuple, rows: list[unet.BlockRow]) -> None:
    s.block = unet.find_block(rows, s.block).name
    st.subheader(t("unet.diagram"))
    spec = diffusion_charts.sd_unet_diagram(config, s.size, s.block, presenter(), rows)
    st.vega_lite_chart(spec, key="unet.diagram", on_select=on_pick, selection_mode="pick", width="stretch")
    st.caption(t("unet.diagram.caption"))
    by_name, label = {r.name: r for r in rows}, lambda n: unet.block_label(by_name[n])
    row = by_name[st.selectbox(t("unet.block"), list(by_name), key="unet.block", format_func=label)]
    st.subheader(t("unet.details", name=row.name, cls=row.cls))
    diffusion_charts.metric_rows({t(f"unet.d.{k}"): v for k, v in unet.block_numbers(row, rows).items()})
    key = f"unet.explain.{unet.explain_topic(row)}"
    st.markdown(t(key) if key in TABLES["en"] else row.cls)
    diffusion_charts.records_table(unet.part_table(row), counts=True, title=t("unet.parts"))
    if unet.has_sublayers(row):
        st.markdown(t("unet.parts.explain"))
    for title, records in unet.detail_tables(row).items():
        diffusion_charts.records_table(records, title=t(f"unet.{title}"))
    with st.expander(t("unet.source_of", cls=row.cls)):
        show_code(unet.diffusers_class(row.cls))
    s.sync()  # a fragment rerun skips the page's top


def overview_ui(rows: list[unet.BlockRow]):
    """The mid block's story, then tabs: all blocks, parameters by type, skips; returns the live tab."""
    if (mid := unet.mid_attention(rows)) is not None:
        st.subheader(t("unet.mid.title"))
        st.markdown(t("unet.mid.body", q=mid.query_tokens, dim=mid.query_dim))
    tabs = st.tabs([t("unet.tab.table"), t("unet.tab.types"), t("unet.tab.skips"), t("unet.tab.live")])
    (b, _, lh, lw), (h, w) = rows[0].in_shape, unet.parse_size(s.size)
    tabs[0].caption(t("unet.table.caption", w=w, h=h, lh=lh, lw=lw, b=b))
    with tabs[0]:
        diffusion_charts.records_table(unet.block_table(rows), counts=True)
    with tabs[1]:
        diffusion_charts.parameter_types(unet.parameters_by_type(rows), t("unet.col.params"))
        st.caption(t("unet.types.caption"))
    with tabs[2]:
        diffusion_charts.records_table(unet.skip_table(unet.skip_pairs(rows)))
    return tabs[3]


def finished(job: jobs.BackgroundJob) -> None:
    """A finished load (the pipeline's cache key) or analysis, kept in the session (the view says it)."""
    st.session_state["unet.pipe_key" if job.name == LOAD else "unet.live"] = job.result


def live_ui(pipe, pipe_key) -> None:
    """Real weights: load a pipeline, run its UNet once on noise (background jobs with their live views)."""
    st.markdown(t("unet.live.intro"))
    st.text_input(t("unet.live.model"), key="unet.model")
    ready = weights.pipeline_status("unet", s.model.strip() or diffusion.default_model(), [MNIST_PAGE])
    load = lambda: pipeline_job(s.model.strip())  # at the click: the name just typed, into the shared cache
    loading = partial(jobs.progress_bar, text=pipeline_loader(s.model)[1])  # one line until it has loaded
    kw = {"key": "unet.load", "type": "secondary", "disabled": not ready}
    jobs.control(LOAD, t("unet.live.load"), load, loading, **kw)
    if pipe is None:
        if ready:  # else the sentence above said why it cannot load
            st.info(t("unet.live.none"))
        return
    n_params = unet.count_parameters(pipe.unet)
    st.success(t("unet.live.loaded", model=pipe_key[0], device=pipe_key[1], params=f"{n_params:,}"))
    max_side = diffusion.max_side(pipe.unet.device.type)
    s.side = min(int(s.side), max_side)
    st.text_input(t("unet.live.prompt"), key="unet.prompt")
    c = st.columns(2)
    c[0].slider(t("unet.live.timestep"), 0, 999, key="unet.t")
    c[1].slider(t("unet.live.side"), 64, max_side, step=64, key="unet.side")
    if pipe.unet.device.type == "cpu" and n_params > 100_000_000:
        st.warning(t("unet.live.slow"))
    start = lambda: partial(unet.analyse, pipe, s.prompt, int(s.side), int(s.t))  # at the click
    running = jobs.progress_line("unet.live.running")
    jobs.control(RUN, t("unet.live.run"), start, running, key="unet.run", device=pipe.unet.device)
    if st.session_state.get("unet.live"):
        stats, maps = st.session_state["unet.live"]
        diffusion_charts.activation_bars(unet.stats_table(stats), title=t("unet.live.stats"))
        st.markdown(f"**{t('unet.live.maps')}**")
        tokens, images = unet.token_maps(maps)
        charts.image_row([m.numpy() for m in images], tokens, per_row=6, factor=8)
        st.caption(t("unet.live.maps.caption"))


jobs.harvest(LOAD, finished)
jobs.harvest(RUN, finished)
st.title(t("nav.unet"))
st.markdown(t("unet.intro", params=f"{unet.SD15_PARAMETERS:,}"))
pipe_key = st.session_state.get("unet.pipe_key")
pipe = img2img_pipeline(*pipe_key) if pipe_key else None
if (traced := settings_ui(pipe)) is not None:
    config, rows = traced
    diffusion_charts.metric_rows({t(f"unet.m.{k}"): v for k, v in unet.headline(rows).items()})
    block_ui(config, rows)
    with overview_ui(rows):
        live_ui(pipe, pipe_key)
diffusion_charts.mnist_unet_ui("unet.mnist.title", MNIST_PAGE)  # issue #18's UNet, untrained
show_source(unet.inspect_unet, unet.trace_unet, unet.CrossAttentionRecorder, unet.cross_attention_maps)
jobs.watch_all()  # last: the page is drawn and clickable while a pipeline loads or the UNet runs
