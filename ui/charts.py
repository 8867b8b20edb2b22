"""Charts and image rows that every page shares: readable on a laptop and on a projector.

Rules that each helper applies, so that no page has to remember them:
- distinct colours per series (Tableau 10), and a second channel (dash or point shape) for the split;
- legends and axis labels are never truncated (`labelLimit=0`);
- heights and fonts grow in presenter mode (`chart_height`);
- an axis domain always contains every value (no bar drawn below its axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.images import zoom
from ui.shell import chart_height, presenter

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
    return {
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


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    c = _config()
    return (
        chart.configure_axis(**c["axis"])
        .configure_axisY(**c["axisY"])
        .configure_legend(**c["legend"])
        .configure_title(**c["title"])
    )


def show(chart: alt.TopLevelMixin, height: int = 300) -> None:
    """Draw an Altair chart with the shared style, full width, `height` scaled for a projector."""
    st.altair_chart(_style(chart.properties(height=chart_height(height))), width="stretch")


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
        "x": alt.X(f"{x}:Q", title=x_title),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=scale),
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
    axis = alt.Axis(format=".0%") if percent else alt.Axis()
    enc = {
        "x": alt.X(f"{x}:O", title=x_title, axis=alt.Axis(labelAngle=0)),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=[lo, hi]), axis=axis),
        "tooltip": [x, alt.Tooltip(f"{y}:Q", format=".2%" if percent else ".4~g")],
    }
    if highlight is not None:
        enc["color"] = alt.condition(alt.datum[x] == highlight, alt.value("#e45756"), alt.value(PALETTE[0]))
    show(alt.Chart(df).mark_bar(clip=True).encode(**enc), height)  # clip: no bar below its axis


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
) -> None:
    """A labelled matrix (attention weights, Q/K/V, a confusion matrix), values written in each cell.

    Written as a plain Vega-Lite spec, not with Altair: Altair's schema validation took ~70 ms a heatmap,
    and a page redraws up to eight of them on one slider move (felt speed, #13). Same chart either way.
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
    layers = [
        {
            "mark": {"type": "rect"},
            "encoding": {
                "x": x,
                "y": y,
                "color": {
                    "field": "value",
                    "type": "quantitative",
                    "scale": {"scheme": scheme},
                    "legend": None,
                },
                "tooltip": [
                    {"field": "row", "type": "nominal"},
                    {"field": "col", "type": "nominal"},
                    {"field": "value", "type": "quantitative", "format": fmt},
                ],
            },
        }
    ]
    if text and m.size <= 400:
        lo, hi = (float(np.nanmin(m)), float(np.nanmax(m))) if m.size else (0.0, 0.0)
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        # White text where the cell is dark: the top of a sequential scheme, both ends of a diverging one.
        diverging = scheme in DIVERGING
        dark = f"abs(datum.value - {mid}) > {0.55 * half}" if diverging else f"datum.value > {mid}"
        layers.append(
            {
                "mark": {"type": "text", "fontSize": 16 if presenter() else 11},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "value", "type": "quantitative", "format": fmt},
                    "color": {"condition": {"test": dark, "value": "white"}, "value": "black"},
                },
            }
        )
    spec = {
        **(layers[0] if len(layers) == 1 else {"layer": layers}),
        "height": chart_height(height or max(160, 28 * n_rows + 60)),
        "config": _config(),
    }
    st.vega_lite_chart(df, spec, width="stretch")


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
