"""Charts and image rows that every page shares: readable on a laptop and on a projector.

Rules that each helper applies, so that no page has to remember them:
- distinct colours per series (Tableau 10), and a second channel (dash or point shape) for the split;
- legends and axis labels are never truncated (`labelLimit=0`);
- heights and fonts grow in presenter mode (`chart_height`);
- an axis domain always contains every value (no bar drawn below its axis).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.images import zoom
from ui.i18n import labeller, t
from ui.shell import chart_height, lang, presenter

PALETTE = [
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
]  # Tableau 10: neighbours differ in hue, not only in shade


def _config() -> dict:
    """The shared Vega-Lite `config`: type sizes for laptop or projector, labels never cut."""
    big = presenter()
    out = {
        "axis": {"labelFontSize": 16 if big else 12, "titleFontSize": 18 if big else 13, "labelLimit": 0},
        # Room for the y labels even when Vega measures them before the web font has loaded (it then
        # under-measures, and "100%" was drawn as "00%", cut at the chart's left edge).
        "axisY": {"minExtent": 56 if big else 44},
        "legend": {
            "labelFontSize": 16 if big else 12,
            "titleFontSize": 16 if big else 12,
            "labelLimit": 0,
            "symbolLimit": 0,
        },
        "title": {"fontSize": 20 if big else 14},
    }
    if lang() == "zh":  # Chinese reads across, not sideways: the y title stands level, above the axis
        out["axisY"].update(titleAngle=0, titleAnchor="end", titleAlign="left", titleBaseline="bottom")
        out["axisY"].update(titleX=-out["axisY"]["minExtent"], titleY=-8)
    return out


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    c = _config()
    return (
        chart.configure_axis(**c["axis"])
        .configure_axisY(**c["axisY"])
        .configure_legend(**c["legend"])
        .configure_title(**c["title"])
    )


def show(chart: alt.TopLevelMixin, height: int = 300, *, key: str | None = None) -> Any:
    """Draw an Altair chart with the shared style, full width, `height` scaled for a projector.

    With a `key`, a click on the chart's selection reruns the page and the selection event is returned.
    """
    styled = _style(chart.properties(height=chart_height(height)))
    if key is None:
        st.altair_chart(styled, width="stretch")
        return None
    return st.altair_chart(styled, width="stretch", on_select="rerun", key=key)


def curves(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    *,
    dash: str | None = None,
    log_y: bool = False,
    x_title: str = "",
    y_title: str = "",
    color_title: str = "",
    y_domain: Sequence[float] | None = None,
    height: int = 300,
) -> None:
    """Lines of `y` over `x`, one colour per `color` value, dashed by `dash` (e.g. train / validation)."""
    if df.empty:
        return
    scale = (
        alt.Scale(type="log")
        if log_y
        else alt.Scale(domain=list(y_domain) if y_domain else alt.Undefined, zero=False)
    )
    enc = {
        # ~r: a single point's degenerate axis would otherwise print "482.045898"
        "x": alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=",.4~r")),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=scale, axis=alt.Axis(format=",.4~r")),
        "color": alt.Color(
            f"{color}:N",
            title=color_title or None,
            scale=alt.Scale(range=PALETTE),
            legend=alt.Legend(orient="bottom", columns=1),
        ),
        "tooltip": [color, alt.Tooltip(f"{x}:Q", format=".3~f"), alt.Tooltip(f"{y}:Q", format=".4~g")],
    }
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", title=None, legend=alt.Legend(orient="bottom"))
        enc["shape"] = alt.Shape(f"{dash}:N", title=None, legend=None)
        enc["tooltip"].insert(1, dash)
    chart = (
        alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=28, filled=True), strokeWidth=2.5).encode(**enc)
    )
    show(chart, height)


def bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str = "",
    y_title: str = "",
    percent: bool = False,
    highlight: object = None,
    y_domain: Sequence[float] | None = None,
    height: int = 260,
) -> None:
    """Vertical bars; `highlight` colours one x value red (the predicted digit, the chosen token)."""
    lo = min(0.0, float(df[y].min())) if y_domain is None else y_domain[0]
    hi = max(float(df[y].max()), 1e-12) if y_domain is None else y_domain[1]
    axis = alt.Axis(format=".1~%") if percent else alt.Axis()  # 97.5% on a zoomed axis, 20% on a whole one
    enc = {
        "x": alt.X(f"{x}:O", title=x_title, axis=alt.Axis(labelAngle=0)),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[lo, hi]), axis=axis),
        "tooltip": [x, alt.Tooltip(f"{y}:Q", format=".2%" if percent else ".4~g")],
    }
    if highlight is not None:
        enc["color"] = alt.condition(alt.datum[x] == highlight, alt.value("#e45756"), alt.value(PALETTE[0]))
    show(
        alt.Chart(df).mark_bar(clip=True, color=PALETTE[0]).encode(**enc), height
    )  # clip: none below its axis


DIVERGING = {
    "redblue",
    "blueorange",
    "redyellowblue",
    "purpleorange",
    "redgrey",
    "pinkyellowgreen",
    "spectral",
}


def heatmap(
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    row_title: str = "",
    col_title: str = "",
    scheme: str = "blues",
    text: bool = True,
    fmt: str = ".2f",
    height: int | None = None,
    log: bool = False,
    select: str | None = None,
) -> tuple[int, int] | None:
    """A labelled matrix (attention weights, Q/K/V, a confusion matrix), values written in each cell.

    `log`: a symlog colour scale (counts that span orders of magnitude). `select`: a widget key; cells
    are clickable and the clicked cell's (row, column) index is returned (None: no cell clicked).

    Written as a plain Vega-Lite spec, not with Altair: Altair's schema validation took ~70 ms a heatmap,
    and a page redraws up to eight of them on one slider move (felt speed, #13). Same chart either way
    (tests/test_felt_speed.py compares the two).
    """
    m = np.asarray(matrix, dtype=float)
    n_rows, n_cols = m.shape
    df = pd.DataFrame(
        {
            "i": np.repeat(np.arange(n_rows), n_cols),
            "j": np.tile(np.arange(n_cols), n_rows),
            "row": np.repeat(np.asarray(rows, dtype=object)[:n_rows], n_cols),
            "col": np.tile(np.asarray(cols, dtype=object)[:n_cols], n_rows),
            "value": m.ravel(),
        }
    )
    x = {
        "field": "col",
        "type": "nominal",
        "title": col_title,
        "sort": list(dict.fromkeys(cols)),
        "axis": {"labelAngle": 0},
    }
    y = {"field": "row", "type": "nominal", "title": row_title, "sort": list(dict.fromkeys(rows))}
    cells = {
        "mark": {"type": "rect", **({"cursor": "pointer"} if select else {})},
        "encoding": {
            "x": x,
            "y": y,
            "color": {
                "field": "value",
                "type": "quantitative",
                "scale": {"scheme": scheme, **({"type": "symlog"} if log else {})},
                "legend": None,
            },
            "tooltip": [
                {"field": "row", "type": "nominal", "title": row_title or "row"},
                {"field": "col", "type": "nominal", "title": col_title or "col"},
                {"field": "value", "type": "quantitative", "format": fmt},
            ],
        },
    }
    pick = {"name": "cell", "select": {"type": "point", "fields": ["i", "j"]}}
    if select:
        cells["encoding"]["opacity"] = {"condition": {"param": "cell", "value": 1.0}, "value": 0.45}
    spec = {**cells, **({"params": [pick]} if select else {})}
    if text and m.size <= 400:
        lo, hi = (float(np.nanmin(m)), float(np.nanmax(m))) if m.size else (0.0, 0.0)
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        # White text where the cell is dark: the top of a sequential scheme, both ends of a diverging one.
        diverging = scheme in DIVERGING
        dark = f"abs(datum.value - {mid}) > {0.55 * half}" if diverging else f"datum.value > {mid}"
        if log:  # symlog: the colour is dark above 80% of log(1 + the largest count)
            dark = f"log(1 + datum.value) > {0.8 * math.log1p(max(hi, 0.0))}"
        numbers = {
            "mark": {"type": "text", "fontSize": 16 if presenter() else 11},
            "encoding": {
                "x": x,
                "y": y,
                "text": {"field": "value", "type": "quantitative", "format": fmt},
                "color": {"condition": {"test": dark, "value": "white"}, "value": "black"},
            },
        }
        spec = {"layer": [{**cells, **({"name": "cells"} if select else {})}, numbers]}
        if select:  # a selection in a layer is declared at the top, naming the layer it lives in
            spec["params"] = [{**pick, "views": ["cells"]}]
    spec |= {"height": chart_height(height or max(160, 28 * n_rows + 60)), "config": _config()}
    if select is None:
        st.vega_lite_chart(df, spec, width="stretch")
        return None
    event = st.vega_lite_chart(df, spec, width="stretch", on_select="rerun", key=select)
    points = ((event or {}).get("selection") or {}).get("cell") or []
    return (int(points[0]["i"]), int(points[0]["j"])) if points else None


def image_row(
    images: Sequence[np.ndarray], captions: Sequence[str] | None = None, per_row: int = 8, factor: int = 4
) -> None:
    """Small images in a grid of columns, enlarged with square pixels, each with its caption."""
    captions = list(captions) if captions is not None else [None] * len(images)
    for start in range(0, len(images), per_row):
        cols = st.columns(per_row)
        chunk = zip(images[start : start + per_row], captions[start : start + per_row], strict=True)
        for col, (img, cap) in zip(cols, chunk, strict=False):
            col.image(zoom(np.asarray(img), factor), caption=cap, width="stretch")


def scatter(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    classes: Sequence[str],
    *,
    axes: tuple[str, str] | None = None,
    legend: str | None = None,
    tooltip: Sequence = (),
    title: str = "",
    size: int = 18,
    height: int = 300,
) -> None:
    """Points (x, y), one palette colour per class in `classes` order: a latent space, a layer's 2-D map.

    `axes` (x title, y title) draws axes that span the points (not 0); None hides them. `legend` titles
    the colour legend; None leaves it out (a page with several maps draws one legend for all).
    """
    if axes is None:
        xy = {"x": alt.X(f"{x}:Q", axis=None), "y": alt.Y(f"{y}:Q", axis=None)}
    else:
        fit = alt.Scale(zero=False)
        xy = {"x": alt.X(f"{x}:Q", title=axes[0], scale=fit), "y": alt.Y(f"{y}:Q", title=axes[1], scale=fit)}
    palette = alt.Scale(domain=list(classes), range=PALETTE)
    shown = alt.Undefined if legend else None
    colour = alt.Color(f"{color}:N", title=legend, sort=list(classes), scale=palette, legend=shown)
    chart = (
        alt.Chart(df).mark_circle(size=size, opacity=0.75).encode(**xy, color=colour, tooltip=list(tooltip))
    )
    show(chart.properties(title=title) if title else chart, height)


# --- a job's records drawn as curves ---------------------------------------------------------


def series_rows(
    rows: Sequence[dict] | dict, x: str, names: dict[str, str], y: str, color: str
) -> pd.DataFrame:
    """Wide rows (a job's records, or a dict of lists) -> long rows {x, color: names[column], y}, column
    by column in `names` order; a row without a column gives no row (records of two kinds interleave)."""
    wide = pd.DataFrame(rows).reindex(columns=[x, *names])
    long = wide.melt(x, var_name="column", value_name="value").dropna(subset=["value"])  # y may be a column
    return pd.DataFrame({x: long[x], color: long["column"].map(names), y: long["value"]})


def series(
    rows: Sequence[dict] | dict,
    x: str,
    names: dict[str, str],
    *,
    y: str = "value",
    color: str = "series",
    **kw: Any,
) -> None:
    """Columns of `rows` over `x`, one line each, named by `names` ({column: shown name}): a live loss
    curve from a job's records. `kw` goes to `curves` (titles, height, log_y, ...)."""
    curves(series_rows(rows, x, names, y, color), x, y, color, **kw)


# --- a table headed by i18n keys; one colour legend for a row of maps ------------------


def table(rows: Any, prefix: str, labels: dict[str, str] | None = None, **kw: Any) -> None:
    """Rows (dicts or a DataFrame) as a table, column `name` headed t(prefix + name); `labels` {column: i18n
    prefix} names a column's cells by i18n key ("two_layer_cnn" -> its title). `kw` goes to st.dataframe."""
    df = pd.DataFrame(rows)
    for column, keys in (labels or {}).items():
        df[column] = df[column].map(labeller(keys))
    st.dataframe(df.rename(columns=lambda k: t(prefix + k)), **{"hide_index": True, "width": "stretch", **kw})


def legend(title: str, classes: Sequence[str]) -> None:
    """One legend (title: ● 0 ● 1 …) in `scatter`'s colours, for a row of maps each drawn with legend=None."""
    swatch = '<span style="color:{}">●</span> {}'
    items = " &nbsp; ".join(swatch.format(PALETTE[i % len(PALETTE)], c) for i, c in enumerate(classes))
    st.markdown(f"{title}: {items}", unsafe_allow_html=True)
