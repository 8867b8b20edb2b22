"""The diffusion pages' own charts: the noise schedule (ui/img2img.py, both img2img pages), the UNet's U,
its parameters by type and live activations (UNet inspector), the UNet tables (the inspector and the MNIST
diffusion page) and the headline metrics all three show.

The SD UNet's trace and its U are cached here by their setting (`sd_unet_rows`, `sd_unet_diagram`), like
the MNIST UNet's rows. The U's geometry comes from `core.unet.diagram_layout`; this file only draws. Each
box carries three short lines (name, latent size, channels: "down 3", "8×8", "1280"), so its labels fit a
column of about 70 px, the width of one block at 1280×720 in presenter mode.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core import unet
from ui import charts
from ui.i18n import t
from ui.shell import chart_height, presenter

SIGNAL, NOISE = "#1565c0", "#ef6c00"  # the same colours in both languages
CURVE_STRIDE = 4
LEVEL_PX = 100  # height of one level of the U (presenter mode: × 1.5)
ARC_COLOUR = "#9aa0a6"


def metric_rows(items: dict[str, Any], per_row: int | None = None) -> None:
    """{label: value or (value, help)} as metrics, two a row on a projector (so they stay whole), four on
    a laptop."""
    per_row, items = per_row or (2 if presenter() else 4), list(items.items())
    for start in range(0, len(items), per_row):
        for column, (label, value) in zip(st.columns(per_row), items[start : start + per_row], strict=False):
            value, help_ = value if isinstance(value, tuple) else (value, None)
            column.metric(label, value, help=help_)


def records_table(records: list[dict], counts: bool = False, title: str = "") -> None:
    """Core records (`core.unet`'s *_table) as a table under its bold `title`, headers translated
    (`unet.col.<column>`); `counts`: the parameter column gets thousands separators in the reader's
    language."""
    if title:
        st.markdown(f"**{title}**")
    numbers = {t("unet.col.params"): st.column_config.NumberColumn(format="localized")} if counts else None
    charts.table(records, "unet.col.", column_config=numbers)


@st.cache_data(show_spinner=False, max_entries=32)
def sd_unet_rows(config_key: tuple, size: str, batch: int, guidance: bool) -> list[unet.BlockRow]:
    """An SD UNet (`config_key`: `core.unet.config_key`) traced block by block at `size` ("512x512") on the
    meta device (no weights), once per setting."""
    return unet.inspect_unet(dict(config_key), *unet.parse_size(size), batch, guidance)


@st.cache_data(show_spinner=False, max_entries=64)  # Altair validates the layered U in ~0.2 s a rerun
def sd_unet_diagram(config_key: tuple, size: str, picked: str, big: bool, _rows: list) -> dict[str, Any]:
    """`unet_diagram` of `_rows`, that UNet traced at `size`, cached by the setting (hashing the rows took
    ~10 ms a rerun). Batch and guidance change no box, so toggling them sends the very same spec."""
    return unet_diagram(_rows, picked, big)


@st.cache_data(show_spinner=False, max_entries=8)
def mnist_unet_rows(_unet: Any = None, model_key: str = "") -> list[unet.BlockRow]:
    """The MNIST diffusion UNet's blocks, traced once per model (`model_key` names `_unet`; None: the
    default UNet untrained, as shapes and parameter counts need no trained weights)."""
    from core import ddpm

    return ddpm.describe_unet(_unet)


def mnist_unet_ui(title_key: str, link: str, model: Any = None, model_key: str = "") -> None:
    """The MNIST diffusion UNet (`model`, named by `model_key`; None: the default one) block by block,
    folded (the inspector and the MNIST page), and a link."""
    from ui.shell import link_to

    rows = mnist_unet_rows(model, model_key)
    with st.expander(t(title_key)):
        st.markdown(t("unet.mnist.body", params=unet.total_parameters(rows)))
        records_table(unet.block_table(rows), counts=True)
        link_to(link)


def parameter_types(by_type: dict[str, int], title: str) -> None:
    """Horizontal bars: parameters per part class (`core.unet.parameters_by_type`), largest on top."""
    frame = pd.DataFrame([{"type": k, "params": v} for k, v in by_type.items() if v])
    x, tip = alt.X("params:Q", title=title), ["type:N", alt.Tooltip("params:Q", format=",")]
    charts.show(
        alt.Chart(frame).mark_bar().encode(x, alt.Y("type:N", sort="-x", title=None), tooltip=tip), 260
    )


def activation_bars(records: list[dict], title: str = "") -> None:
    """The std of each block's output in a live forward pass (`core.unet.stats_table`), in forward order,
    under its bold `title`, then every number of it as a table."""
    if title:
        st.markdown(f"**{title}**")
    frame = pd.DataFrame(records)
    x = alt.X("name:N", sort=None, title=t("unet.col.block"))
    charts.show(alt.Chart(frame).mark_bar().encode(x, alt.Y("std:Q"), tooltip=list(frame.columns)), 240)
    records_table(records)


def noise_schedule(alphas, timesteps: list[int], titles: dict[str, str]) -> dict[str, Any]:
    """ᾱ_t and 1 − ᾱ_t over t (T,), the timesteps that run as dots, the start as a dashed rule.

    Returns the styled Vega-Lite spec (draw it with `st.vega_lite_chart(spec, width="stretch")`): a page
    caches it, so a slider moved back and forth skips Altair's build and validation (felt speed).
    """
    signal, noise = titles["signal"], titles["noise"]
    every = CURVE_STRIDE  # a smooth curve needs 250 of the 1000 points (and redraws 4x faster)
    t = range(0, len(alphas), every)
    curve = pd.DataFrame({"t": t, signal: alphas[::every], noise: 1 - alphas[::every]}).melt(
        "t", var_name="c"
    )
    x, y = alt.X("t:Q", title=titles["t"]), alt.Y("value:Q", title=titles["value"])
    colours = alt.Scale(domain=[signal, noise], range=[SIGNAL, NOISE])
    colour = alt.Color("c:N", title=None, scale=colours, legend=alt.Legend(orient="top"))
    lines = alt.Chart(curve).mark_line(strokeWidth=3).encode(x, y, colour)
    ran = pd.DataFrame({"t": timesteps, "value": alphas[timesteps]})
    dots = alt.Chart(ran).mark_circle(size=40, color="#444").encode(x, y)
    start = alt.Chart(pd.DataFrame({"t": timesteps[:1]})).mark_rule(strokeDash=[6, 4], size=2).encode(x)
    spec = charts._style((lines + dots + start).properties(height=chart_height(280))).to_dict()
    spec.get("config", {}).pop("view", None)  # Altair's default 300 px view: Streamlit sizes the chart
    return spec


def unet_diagram(rows: list[unet.BlockRow], picked: str, big: bool) -> dict[str, Any]:
    """The U as a Vega-Lite spec: boxes by (forward order, level), the picked one outlined, larger on a
    projector (`big`); clicking a box selects it ("pick"). Pure, so a page can cache it: Altair's schema
    validation of this layered chart takes about 0.2 s."""
    boxes, arcs = unet.diagram_layout(rows)
    frame = pd.DataFrame(
        [
            dict(
                name=b.name,
                cls=b.cls,
                label=b.label,
                size=b.size,
                ch=str(b.channels),
                params=f"{b.params:,}",
                x=b.x - b.half_width,
                x2=b.x + b.half_width,
                xc=b.x,
                y=b.level - unet.BOX_HALF_HEIGHT,
                y2=b.level + unet.BOX_HALF_HEIGHT,
                yc=b.level,
                picked=b.name == picked,
            )
            for b in boxes
        ]
    )
    paths = pd.DataFrame(
        [
            dict(pair=f"{a.source}→{a.target}", order=k, x=px, y=py, count=a.count)
            for a in arcs
            for k, (px, py) in enumerate(a.points)
        ]
    )
    deepest = max(b.level for b in boxes)
    xs = alt.Scale(domain=[-unet.MARGIN_X, len(boxes) - 1 + unet.MARGIN_X], nice=False)
    ys = alt.Scale(domain=[-unet.MARGIN_TOP, deepest + unet.MARGIN_BOTTOM], reverse=True, nice=False)
    x, y = alt.X("x:Q", scale=xs, axis=None), alt.Y("y:Q", scale=ys, axis=None)
    lines = (
        alt.Chart(paths)
        .mark_line(color=ARC_COLOUR, strokeDash=[5, 3])
        .encode(
            x,
            y,
            detail="pair:N",
            order="order:O",
            strokeWidth=alt.StrokeWidth("count:Q", scale=alt.Scale(range=[1.5, 4]), legend=None),
        )
    )
    pick = alt.selection_point(fields=["name"], name="pick", on="click")
    rects = (
        alt.Chart(frame)
        .mark_rect(cornerRadius=6, stroke="#333")
        .encode(
            x,
            x2="x2:Q",
            y=y,
            y2="y2:Q",
            color=alt.Color(
                "cls:N",
                scale=alt.Scale(scheme="pastel1"),
                legend=alt.Legend(title=None, orient="bottom", columns=3 if big else 4, labelLimit=0),
            ),
            strokeWidth=alt.condition("datum.picked", alt.value(4), alt.value(0.5)),
            tooltip=["name:N", "cls:N", "size:N", "ch:N", "params:N"],
        )
        .add_params(pick)
    )
    size = 18 if big else 12
    texts = [
        alt.Chart(frame)
        .mark_text(fontSize=size, fontWeight="bold" if field == "label" else "normal", dy=dy * size)
        .encode(alt.X("xc:Q", scale=xs), alt.Y("yc:Q", scale=ys), text=f"{field}:N")
        for field, dy in (("label", -1.15), ("size", 0.0), ("ch", 1.15))
    ]
    height = LEVEL_PX * (deepest + unet.MARGIN_TOP + unet.MARGIN_BOTTOM)
    return (
        alt.layer(lines, rects, *texts)
        .properties(height=int(height * 1.5) if big else height)  # chart_height, without the session
        .configure_legend(labelFontSize=size + 2)
        .configure_view(stroke=None)
        .to_dict()
    )
