"""UNet block inspector: SD-1.5's real UNet, block by block, traced on the meta device (no weights)."""

import inspect

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core import unet
from core.limits import LIMITS
from ui.cached import img2img_pipeline
from ui.i18n import TABLES, t
from ui.shell import chart_height, current_device, explained_errors, presenter, run_job, show_source
from ui.state import sync_url, url_default

SIZES = ["512x512", "768x512", "512x768", "640x640", "1024x1024", "256x256"]  # width x height
SHORT = {"in": "conv_in", "out": "conv_out", "mid": "mid"}


def number_columns(*labels: str) -> dict:
    """Parameter counts with thousands separators, still sortable as numbers."""
    return {label: st.column_config.NumberColumn(format="localized") for label in labels}


@st.cache_data(show_spinner=False, max_entries=32)
def trace(config_items: tuple, height: int, width: int, batch: int, guidance: bool) -> list[unet.BlockRow]:
    return unet.inspect_unet(dict(config_items), height, width, batch, guidance)


def fmt(shape: tuple) -> str:
    return "×".join(map(str, shape))


def label(row: unet.BlockRow) -> str:
    return SHORT.get(row.kind, row.name.replace("_blocks.", " "))


def diagram(rows: list[unet.BlockRow], picked: str) -> alt.LayerChart:
    """Blocks at (forward order, resolution level), width by channels; skips as arcs above the blocks."""
    blocks = [r for r in rows if r.kind != "time"]
    widest = max(r.channels for r in blocks)
    x = {r.name: i for i, r in enumerate(blocks)}
    level = {r.name: r.level for r in blocks}
    boxes = pd.DataFrame(
        [
            dict(
                name=r.name,
                cls=r.cls,
                label=label(r),
                shape=f"{r.in_shape[2]}×{r.in_shape[3]} · {r.channels}",
                params=f"{r.params:,}",
                x=x[r.name] - 0.2 - 0.26 * r.channels / widest,
                x2=x[r.name] + 0.2 + 0.26 * r.channels / widest,
                xc=x[r.name],
                y=r.level - 0.32,
                y2=r.level + 0.32,
                yc=r.level,
                picked=r.name == picked,
            )
            for r in blocks
        ]
    )
    pairs: dict[tuple[str, str], int] = {}
    for s in unet.skip_pairs(rows):
        src = s.source if s.source == "conv_in" else ".".join(s.source.split(".")[:2])
        key = (src, s.target.rsplit(".resnets", 1)[0])
        pairs[key] = pairs.get(key, 0) + 1
    arcs = []
    for k, ((src, dst), count) in enumerate(sorted(pairs.items(), key=lambda kv: x[kv[0][0]])):
        top = min(level[src], level[dst]) - 0.42 - 0.07 * (k % 3)
        for order, (px, py) in enumerate(
            [(x[src], level[src] - 0.32), (x[src], top), (x[dst], top), (x[dst], level[dst] - 0.32)]
        ):
            arcs.append(dict(pair=f"{src}→{dst}", order=order, x=px, y=py, count=count))
    deepest = max(level.values())
    xs = alt.Scale(domain=[-0.6, len(blocks) - 0.4], nice=False)
    ys = alt.Scale(domain=[-0.75, deepest + 0.45], reverse=True, nice=False)
    pick = alt.selection_point(fields=["name"], name="pick", on="click")
    lines = (
        alt.Chart(pd.DataFrame(arcs))
        .mark_line(color="#9aa0a6", strokeDash=[5, 3])
        .encode(
            x=alt.X("x:Q", scale=xs, axis=None),
            y=alt.Y("y:Q", scale=ys, axis=None),
            detail="pair:N",
            order="order:O",
            strokeWidth=alt.StrokeWidth("count:Q", scale=alt.Scale(range=[1.5, 4]), legend=None),
        )
    )
    rects = (
        alt.Chart(boxes)
        .mark_rect(cornerRadius=6, stroke="#333")
        .encode(
            x=alt.X("x:Q", scale=xs, axis=None),
            x2="x2:Q",
            y=alt.Y("y:Q", scale=ys, axis=None),
            y2="y2:Q",
            color=alt.Color(
                "cls:N",
                scale=alt.Scale(scheme="pastel1"),
                legend=alt.Legend(
                    title=None, orient="bottom", columns=4, labelFontSize=15 if presenter() else 12
                ),
            ),
            strokeWidth=alt.condition("datum.picked", alt.value(4), alt.value(0.5)),
            tooltip=["name:N", "cls:N", "shape:N", "params:N"],
        )
        .add_params(pick)
    )
    size = 18 if presenter() else 13
    names = (
        alt.Chart(boxes)
        .mark_text(fontWeight="bold", fontSize=size, dy=-size * 0.6)
        .encode(x="xc:Q", y="yc:Q", text="label:N")
    )
    shapes = (
        alt.Chart(boxes)
        .mark_text(fontSize=size - 2, dy=size * 0.7)
        .encode(x="xc:Q", y="yc:Q", text="shape:N")
    )
    return alt.layer(lines, rects, names, shapes).properties(height=chart_height(380))


def on_pick() -> None:
    """A click in the diagram selects that block in the selectbox (set before the widget is drawn)."""
    points = st.session_state["unet.diagram"].selection.get("pick") or []
    if points and points[0].get("name"):
        st.session_state["unet.block"] = points[0]["name"]


st.title(t("nav.unet"))
st.markdown(t("unet.intro", params=f"{unet.SD15_PARAMETERS:,}"))

url_default("unet.size", "512x512", choices=SIZES)
url_default("unet.batch", 1)
url_default("unet.cfg", True)
url_default("unet.block", "mid_block")
url_default("unet.source", "sd15", choices=["sd15", "loaded"])
pipe_key = st.session_state.get("unet.pipe_key")
pipe = img2img_pipeline(*pipe_key) if pipe_key else None

cols = st.columns([2, 1, 1, 2] if pipe is not None else [2, 1, 1])
cols[0].selectbox(
    t("unet.size"),
    SIZES,
    key="unet.size",
    help=t("unet.size.help"),
    format_func=lambda s: s.replace("x", " × "),
)
if not presenter():
    cols[1].number_input(t("unet.batch"), min_value=1, max_value=8, step=1, key="unet.batch")
cols[2].toggle(t("unet.cfg"), key="unet.cfg", help=t("unet.cfg.help"))
if pipe is not None:
    sources = {s: t(f"unet.source.{s}") for s in ("sd15", "loaded")}  # resolved now, in this run's language
    cols[3].radio(
        t("unet.source"), list(sources), key="unet.source", horizontal=True, format_func=sources.get
    )
width, height = map(int, st.session_state["unet.size"].split("x"))
batch = int(st.session_state["unet.batch"])
config = unet.SD15
if pipe is not None and st.session_state["unet.source"] == "loaded":
    config = pipe.unet.config

rows = None
with explained_errors():
    rows = trace(
        tuple(sorted((k, v) for k, v in dict(config).items() if not k.startswith("_"))),
        height,
        width,
        batch,
        bool(st.session_state["unet.cfg"]),
    )
if rows is not None:
    by_name = {r.name: r for r in rows}
    if st.session_state["unet.block"] not in by_name:
        st.session_state["unet.block"] = "mid_block"
    total = unet.total_parameters(rows)
    first = rows[0]
    attention = [a for r in rows for a in r.cross_attention]
    m = st.columns(4)
    m[0].metric(t("unet.m.params"), f"{total:,}")
    m[1].metric(t("unet.m.latent"), f"{first.in_shape[2]} × {first.in_shape[3]}")
    m[2].metric(t("unet.m.batch"), first.in_shape[0])
    if attention:
        m[3].metric(t("unet.m.tokens"), f"{attention[0].key_tokens} × {attention[0].key_dim}")

    st.subheader(t("unet.diagram"))
    st.altair_chart(
        diagram(rows, st.session_state["unet.block"]),
        key="unet.diagram",
        on_select=on_pick,
        selection_mode="pick",
        width="stretch",
    )
    st.caption(t("unet.diagram.caption"))

    st.selectbox(
        t("unet.block"), list(by_name), key="unet.block", format_func=lambda n: f"{n} · {by_name[n].cls}"
    )
    row = by_name[st.session_state["unet.block"]]
    st.subheader(t("unet.details", name=row.name, cls=row.cls))
    d = st.columns(4)
    d[0].metric(t("unet.d.params"), f"{row.params:,}")
    d[1].metric(t("unet.d.in"), fmt(row.in_shape))
    d[2].metric(t("unet.d.out"), fmt(row.out_shape))
    d[3].metric(t("unet.d.share"), f"{100 * row.params / total:.1f} %")
    key = row.kind if row.kind in ("in", "out", "time") else row.cls
    explain_key = f"unet.explain.{key}"
    st.markdown(t(explain_key) if explain_key in TABLES["en"] else row.cls)
    st.markdown(f"**{t('unet.parts')}**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("unet.col.part"): p.name,
                    t("unet.col.class"): p.cls,
                    t("unet.col.out"): fmt(p.out_shape),
                    t("unet.col.params"): p.params,
                    t("unet.col.heads"): f"{p.heads} × {p.head_dim}" if p.heads else "",
                }
                for p in row.parts
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config=number_columns(t("unet.col.params")),
    )
    if any(p.cls in ("ResnetBlock2D", "Transformer2DModel") for p in row.parts):
        st.markdown(t("unet.parts.explain"))
    if row.cross_attention:
        st.markdown(f"**{t('unet.cross')}**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("unet.col.where"): a.where,
                        t("unet.col.query"): a.query_tokens,
                        t("unet.col.keys"): a.key_tokens,
                        t("unet.col.dims"): f"{a.query_dim} → {a.key_dim}",
                        t("unet.col.heads"): f"{a.heads} × {a.head_dim}",
                        t("unet.col.scores"): fmt(a.scores_shape),
                    }
                    for a in row.cross_attention
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    for title, skips in ((t("unet.skips.out"), row.skips_out), (t("unet.skips.in"), row.skips_in)):
        if skips:
            st.markdown(f"**{title}**")
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            t("unet.col.index"): s.index,
                            t("unet.col.source"): s.source,
                            t("unet.col.target"): s.target,
                            t("unet.col.shape"): fmt(s.shape),
                        }
                        for s in sorted(skips, key=lambda s: s.index)
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    with st.expander(t("unet.source_of", cls=row.cls)):
        st.code(inspect.getsource(unet.diffusers_class(row.cls)), language="python")

    mid = by_name.get("mid_block")
    if mid is not None and mid.cross_attention:
        st.subheader(t("unet.mid.title"))
        mid_attention = mid.cross_attention[0]
        st.markdown(t("unet.mid.body", q=mid_attention.query_tokens, dim=mid_attention.query_dim))

    tabs = st.tabs([t("unet.tab.table"), t("unet.tab.types"), t("unet.tab.skips"), t("unet.tab.live")])
    with tabs[0]:
        lh, lw = first.in_shape[2], first.in_shape[3]
        st.caption(t("unet.table.caption", w=width, h=height, lh=lh, lw=lw, b=first.in_shape[0]))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("unet.col.block"): r.name,
                        t("unet.col.class"): r.cls,
                        t("unet.col.in"): fmt(r.in_shape),
                        t("unet.col.out"): fmt(r.out_shape),
                        t("unet.col.params"): r.params,
                        t("unet.col.level"): r.level,
                        t("unet.col.skips"): f"{len(r.skips_out)} / {len(r.skips_in)}",
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
            width="stretch",
            column_config=number_columns(t("unet.col.params")),
        )
    with tabs[1]:
        by_type = unet.parameters_by_type(rows)
        types = pd.DataFrame([{"type": k, "params": v} for k, v in by_type.items() if v])
        st.altair_chart(
            alt.Chart(types)
            .mark_bar()
            .encode(
                x=alt.X("params:Q", title=t("unet.col.params")),
                y=alt.Y("type:N", sort="-x", title=t("unet.col.type")),
                tooltip=["type:N", alt.Tooltip("params:Q", format=",")],
            )
            .properties(height=chart_height(260)),
            width="stretch",
        )
        st.caption(t("unet.types.caption"))
    with tabs[2]:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("unet.col.index"): s.index,
                        t("unet.col.source"): s.source,
                        t("unet.col.target"): s.target,
                        t("unet.col.shape"): fmt(s.shape),
                    }
                    for s in unet.skip_pairs(rows)
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    with tabs[3]:
        st.markdown(t("unet.live.intro"))
        device = current_device()
        from core.diffusion import HOMEWORK_PROMPT, default_model

        url_default("unet.model", default_model())
        st.text_input(t("unet.live.model"), key="unet.model")
        if st.button(t("unet.live.load"), key="unet.load"):
            with explained_errors():
                model = st.session_state["unet.model"].strip()
                if run_job(lambda: img2img_pipeline(model, str(device)), device) is not None:
                    st.session_state["unet.pipe_key"] = (model, str(device))
                    st.rerun()
        if pipe is None:
            st.info(t("unet.live.none"))
        else:
            n_params = unet.count_parameters(pipe.unet)
            st.success(t("unet.live.loaded", model=pipe_key[0], device=pipe_key[1], params=f"{n_params:,}"))
            url_default("unet.prompt", HOMEWORK_PROMPT)
            url_default("unet.t", 999)
            on_cpu = pipe.unet.device.type == "cpu"
            max_side = LIMITS.max_sd_side_cpu if on_cpu else LIMITS.max_sd_side
            url_default("unet.side", min(512, max_side))
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
                    embeddings, tokens = unet.encode_prompt(pipe, prompt)
                    stats = unet.activation_stats(pipe.unet, embeddings, side, side, step)
                    maps = unet.cross_attention_maps(pipe.unet, embeddings, tokens, side, side, step)
                    return stats, maps

                with explained_errors():
                    st.session_state["unet.live"] = run_job(analyse, pipe.unet.device)
            live = st.session_state.get("unet.live")
            if live:
                stats, maps = live
                st.markdown(f"**{t('unet.live.stats')}**")
                frame = pd.DataFrame(
                    [
                        {
                            "block": s.name,
                            "mean": s.mean,
                            "std": s.std,
                            "min": s.min,
                            "max": s.max,
                            "shape": fmt(s.shape),
                        }
                        for s in stats
                    ]
                )
                st.altair_chart(
                    alt.Chart(frame)
                    .mark_bar()
                    .encode(
                        x=alt.X("block:N", sort=None, title=t("unet.col.block")),
                        y=alt.Y("std:Q"),
                        tooltip=list(frame.columns),
                    )
                    .properties(height=chart_height(240)),
                    width="stretch",
                )
                st.dataframe(frame, hide_index=True, width="stretch")
                st.markdown(f"**{t('unet.live.maps')}**")
                n = unet.prompt_length(maps.tokens)
                grid = st.columns(min(n, 6))
                for i in range(n):
                    m_i = maps.mean[i].numpy()
                    img = (255 * (m_i - m_i.min()) / (np.ptp(m_i) + 1e-8)).astype(np.uint8)
                    grid[i % len(grid)].image(
                        np.kron(img, np.ones((8, 8), np.uint8)),
                        caption=maps.tokens[i],
                        clamp=True,
                        width="stretch",
                    )
                st.caption(t("unet.live.maps.caption"))
        sync_url("unet.model")

sync_url("unet.size", "unet.batch", "unet.cfg", "unet.block", "unet.source")
show_source(unet.inspect_unet, unet.trace_unet, unet.CrossAttentionRecorder, unet.cross_attention_maps)
