"""UNet block inspector: SD-1.5's real UNet, block by block, traced on the meta device (no weights)."""

import inspect

import altair as alt
import pandas as pd
import streamlit as st

from core import diffusion, unet
from core.limits import LIMITS
from ui import charts
from ui.cached import img2img_pipeline
from ui.diffusion_charts import unet_diagram
from ui.i18n import TABLES, labeller, t
from ui.shell import current_device, explained_errors, link_to, presenter, run_job, show_source
from ui.state import sync_url, url_default

SIZES = ["512x512", "768x512", "512x768", "640x640", "1024x1024", "256x256"]  # width x height

url_default("unet.size", "512x512", choices=SIZES)
url_default("unet.batch", 1)
url_default("unet.cfg", True)
url_default("unet.block", "mid_block")
url_default("unet.source", "sd15", choices=["sd15", "loaded"])
url_default("unet.model", diffusion.default_model())
url_default("unet.prompt", diffusion.HOMEWORK_PROMPT)
url_default("unet.t", 999)
url_default("unet.side", 512)


@st.cache_data(show_spinner=False, max_entries=32)
def trace(config_items: tuple, height: int, width: int, batch: int, guidance: bool) -> list[unet.BlockRow]:
    return unet.inspect_unet(dict(config_items), height, width, batch, guidance)


@st.cache_data(show_spinner=False)
def mnist_unet_rows() -> list[unet.BlockRow]:
    """The MNIST diffusion UNet's blocks (its default size; shapes and counts need no trained weights)."""
    from core import ddpm

    return ddpm.describe_unet()


def table(records: list[dict], counts: bool = False) -> None:
    """Core records as a table with translated headers; parameter counts get thousands separators."""
    frame = pd.DataFrame(records).rename(columns=lambda c: t(f"unet.col.{c}"))
    numbers = {t("unet.col.params"): st.column_config.NumberColumn(format="localized")} if counts else None
    st.dataframe(frame, hide_index=True, width="stretch", column_config=numbers)


def metrics(items: list[tuple]) -> None:
    """(label, value[, help]) metrics, two a row on a projector (so they stay whole), four on a laptop."""
    per_row = 2 if presenter() else 4
    for start in range(0, len(items), per_row):
        for column, (label, value, *help_) in zip(
            st.columns(per_row), items[start : start + per_row], strict=False
        ):
            column.metric(label, value, help=help_[0] if help_ else None)


def settings_ui(pipe) -> list[unet.BlockRow] | None:
    """Size, batch, guidance and which UNet -> the trace (cached), or None after a sentence."""
    cols = iter(st.columns([2, 2] + ([] if presenter() else [2]) + ([2] if pipe is not None else [])))
    next(cols).selectbox(
        t("unet.size"),
        SIZES,
        key="unet.size",
        help=t("unet.size.help"),
        format_func=lambda s: s.replace("x", " × "),
    )
    next(cols).toggle(t("unet.cfg"), key="unet.cfg", help=t("unet.cfg.help"))
    if not presenter():
        next(cols).number_input(t("unet.batch"), min_value=1, max_value=8, step=1, key="unet.batch")
    config = unet.SD15
    if pipe is not None:
        next(cols).radio(
            t("unet.source"), ["sd15", "loaded"], key="unet.source", format_func=labeller("unet.source.")
        )
        config = pipe.unet.config if st.session_state["unet.source"] == "loaded" else config
    width, height = map(int, st.session_state["unet.size"].split("x"))
    items = tuple(sorted((k, v) for k, v in dict(config).items() if not k.startswith("_")))
    with explained_errors():
        return trace(
            items, height, width, int(st.session_state["unet.batch"]), bool(st.session_state["unet.cfg"])
        )
    return None


def on_pick() -> None:
    """A click in the diagram selects that block in the selectbox (set before the widget is drawn)."""
    points = st.session_state["unet.diagram"].selection.get("pick") or []
    if points and points[0].get("name"):
        st.session_state["unet.block"] = points[0]["name"]


@st.fragment  # picking a block redraws the diagram and the details only
def block_ui(rows: list[unet.BlockRow]) -> None:
    by_name = {r.name: r for r in rows}
    if st.session_state["unet.block"] not in by_name:
        st.session_state["unet.block"] = "mid_block"
    st.subheader(t("unet.diagram"))
    chart = unet_diagram(rows, st.session_state["unet.block"])
    st.altair_chart(chart, key="unet.diagram", on_select=on_pick, selection_mode="pick", width="stretch")
    st.caption(t("unet.diagram.caption"))
    st.selectbox(
        t("unet.block"), list(by_name), key="unet.block", format_func=lambda n: f"{n} · {by_name[n].cls}"
    )
    row = by_name[st.session_state["unet.block"]]
    st.subheader(t("unet.details", name=row.name, cls=row.cls))
    share = f"{100 * row.params / unet.total_parameters(rows):.1f} %"
    metrics(
        [
            (t("unet.d.params"), unet.short_count(row.params), f"{row.params:,}"),
            (t("unet.d.share"), share),
            (t("unet.d.in"), unet.shape_text(row.in_shape)),
            (t("unet.d.out"), unet.shape_text(row.out_shape)),
        ]
    )
    key = f"unet.explain.{row.kind if row.kind in ('in', 'out', 'time') else row.cls}"
    st.markdown(t(key) if key in TABLES["en"] else row.cls)
    st.markdown(f"**{t('unet.parts')}**")
    table(unet.part_table(row), counts=True)
    if any(p.cls in ("ResnetBlock2D", "Transformer2DModel") for p in row.parts):
        st.markdown(t("unet.parts.explain"))
    for title, records in (
        (t("unet.cross"), unet.cross_table(row)),
        (t("unet.skips.out"), unet.skip_table(row.skips_out)),
        (t("unet.skips.in"), unet.skip_table(row.skips_in)),
    ):
        if records:
            st.markdown(f"**{title}**")
            table(records)
    with st.expander(t("unet.source_of", cls=row.cls)):
        st.code(inspect.getsource(unet.diffusers_class(row.cls)), language="python")
    sync_url("unet.block")  # a fragment rerun skips the page's last line


def overview_ui(rows: list[unet.BlockRow]):
    """The mid block's story, then tabs: all blocks, parameters by type, skips; returns the live tab."""
    mid = next((r for r in rows if r.kind == "mid" and r.cross_attention), None)
    if mid is not None:
        st.subheader(t("unet.mid.title"))
        st.markdown(
            t("unet.mid.body", q=mid.cross_attention[0].query_tokens, dim=mid.cross_attention[0].query_dim)
        )
    tabs = st.tabs([t("unet.tab.table"), t("unet.tab.types"), t("unet.tab.skips"), t("unet.tab.live")])
    b, _, lh, lw = rows[0].in_shape
    width, height = st.session_state["unet.size"].split("x")
    tabs[0].caption(t("unet.table.caption", w=width, h=height, lh=lh, lw=lw, b=b))
    with tabs[0]:
        table(unet.block_table(rows), counts=True)
    with tabs[1]:
        types = pd.DataFrame(
            [{"type": k, "params": v} for k, v in unet.parameters_by_type(rows).items() if v]
        )
        x = alt.X("params:Q", title=t("unet.col.params"))
        tip = ["type:N", alt.Tooltip("params:Q", format=",")]
        charts.show(
            alt.Chart(types).mark_bar().encode(x, alt.Y("type:N", sort="-x", title=None), tooltip=tip), 260
        )
        st.caption(t("unet.types.caption"))
    with tabs[2]:
        table(unet.skip_table(unet.skip_pairs(rows)))
    return tabs[3]


def live_ui(pipe, pipe_key) -> None:
    """Real weights: load a pipeline, run its UNet once on noise, show block statistics and token maps."""
    st.markdown(t("unet.live.intro"))
    device = current_device()
    st.text_input(t("unet.live.model"), key="unet.model")
    if st.button(t("unet.live.load"), key="unet.load"):
        with explained_errors():
            model = st.session_state["unet.model"].strip()
            if run_job(lambda: img2img_pipeline(model, str(device)), device) is not None:
                st.session_state["unet.pipe_key"] = (model, str(device))
                st.rerun()
    if pipe is None:
        st.info(t("unet.live.none"))
        return
    n_params = unet.count_parameters(pipe.unet)
    st.success(t("unet.live.loaded", model=pipe_key[0], device=pipe_key[1], params=f"{n_params:,}"))
    on_cpu = pipe.unet.device.type == "cpu"
    max_side = LIMITS.max_sd_side_cpu if on_cpu else LIMITS.max_sd_side
    st.session_state["unet.side"] = min(int(st.session_state["unet.side"]), max_side)
    st.text_input(t("unet.live.prompt"), key="unet.prompt")
    c = st.columns(2)
    c[0].slider(t("unet.live.timestep"), 0, 999, key="unet.t")
    c[1].slider(t("unet.live.side"), 64, max_side, step=64, key="unet.side")
    if on_cpu and n_params > 100_000_000:
        st.warning(t("unet.live.slow"))
    if st.button(t("unet.live.run"), key="unet.run", type="primary"):
        side, step, prompt = (
            int(st.session_state["unet.side"]),
            int(st.session_state["unet.t"]),
            st.session_state["unet.prompt"],
        )

        def analyse():
            embeddings, tokens = diffusion.encode_prompt(pipe, prompt)
            stats = unet.activation_stats(pipe.unet, embeddings, side, side, step)
            return stats, unet.cross_attention_maps(pipe.unet, embeddings, tokens, side, side, step)

        with explained_errors():
            st.session_state["unet.live"] = run_job(analyse, pipe.unet.device)
    if st.session_state.get("unet.live"):
        stats, maps = st.session_state["unet.live"]
        st.markdown(f"**{t('unet.live.stats')}**")
        frame = pd.DataFrame([{**vars(s), "shape": unet.shape_text(s.shape)} for s in stats])
        x = alt.X("name:N", sort=None, title=t("unet.col.block"))
        charts.show(alt.Chart(frame).mark_bar().encode(x, alt.Y("std:Q"), tooltip=list(frame.columns)), 240)
        st.dataframe(frame.rename(columns={"name": "block"}), hide_index=True, width="stretch")
        st.markdown(f"**{t('unet.live.maps')}**")
        tokens, images = unet.token_maps(maps)
        charts.image_row([m.numpy() for m in images], tokens, per_row=6, factor=8)
        st.caption(t("unet.live.maps.caption"))


st.title(t("nav.unet"))
st.markdown(t("unet.intro", params=f"{unet.SD15_PARAMETERS:,}"))
pipe_key = st.session_state.get("unet.pipe_key")
pipe = img2img_pipeline(*pipe_key) if pipe_key else None
rows = settings_ui(pipe)
if rows is not None:
    first, attention = rows[0], [a for r in rows for a in r.cross_attention]
    total = unet.total_parameters(rows)
    metrics(
        [
            (t("unet.m.params"), unet.short_count(total), f"{total:,}"),
            (t("unet.m.latent"), f"{first.in_shape[2]} × {first.in_shape[3]}"),
            (t("unet.m.batch"), first.in_shape[0]),
            *(
                [(t("unet.m.tokens"), f"{attention[0].key_tokens} × {attention[0].key_dim}")]
                if attention
                else []
            ),
        ]
    )
    block_ui(rows)
    with overview_ui(rows):
        live_ui(pipe, pipe_key)
with st.expander(t("unet.mnist.title")):  # the UNet that "Diffusion you can train" trains (issue #18)
    mnist_rows = mnist_unet_rows()
    st.markdown(t("unet.mnist.body", params=sum(r.params for r in mnist_rows)))
    table(unet.block_table(mnist_rows), counts=True)
    link_to("pages/mnist_diffusion.py")
sync_url("unet.")
show_source(unet.inspect_unet, unet.trace_unet, unet.CrossAttentionRecorder, unet.cross_attention_maps)
