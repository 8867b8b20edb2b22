"""What keeps a rerun cheap (felt speed, #13) must not change what a student sees: ui.charts.heatmap writes
its Vega-Lite spec by hand and must be the chart that Altair builds (the reference below is the Altair
code it replaced); ui.shell.show_source caches the source text and must show `inspect.getsource`."""

import inspect
import math
from unittest import mock

import altair as alt
import numpy as np
import pandas as pd
import pytest
import streamlit as st

from core import gpt
from core.blocks import attention
from ui import charts, shell


def altair_reference(m, rows, cols, *, row_title, col_title, scheme, text, fmt, height, log, select):
    """The Altair heatmap that ui.charts drew before, as the dict (and data) Streamlit sent to the browser."""
    df = pd.DataFrame(
        [(i, j, rows[i], cols[j], m[i, j]) for i in range(m.shape[0]) for j in range(m.shape[1])],
        columns=["i", "j", "row", "col", "value"],
    )
    base = alt.Chart(df).encode(
        x=alt.X("col:N", title=col_title, sort=list(dict.fromkeys(cols)), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("row:N", title=row_title, sort=list(dict.fromkeys(rows))),
    )
    scale = alt.Scale(scheme=scheme, type="symlog") if log else alt.Scale(scheme=scheme)
    layer = base.mark_rect(cursor="pointer" if select else alt.Undefined).encode(
        color=alt.Color("value:Q", scale=scale, legend=None),
        tooltip=[
            alt.Tooltip("row:N", title=row_title or "row"),
            alt.Tooltip("col:N", title=col_title or "col"),
            alt.Tooltip("value:Q", format=fmt),
        ],
    )
    if select:
        pick = alt.selection_point(name="cell", fields=["i", "j"])
        layer = layer.encode(opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45))).add_params(pick)
    if text:
        lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        dark = (
            f"abs(datum.value - {mid}) > {0.55 * half}"
            if scheme in charts.DIVERGING
            else f"datum.value > {mid}"
        )
        if log:
            dark = f"log(1 + datum.value) > {0.8 * math.log1p(max(hi, 0.0))}"
        layer = layer + base.mark_text(fontSize=11).encode(
            text=alt.Text("value:Q", format=fmt),
            color=alt.condition(dark, alt.value("white"), alt.value("black")),
        )
    spec = charts._style(layer.properties(height=height)).to_dict()
    for key in ("$schema", "data", "datasets"):
        spec.pop(key)
    spec["config"].pop("view")  # Altair's default view size: no effect on a chart of two nominal axes
    if select and text:  # Altair names the layer that holds the selection with a counter: ours is "cells"
        spec["layer"][0]["name"] = "cells"
        spec["params"][0]["views"] = ["cells"]
    return spec, df


@pytest.mark.parametrize(
    ("scheme", "text", "fmt", "log", "select"),
    [
        ("redblue", True, ".1f", False, None),
        ("blues", True, ".2f", False, None),
        ("blues", False, ".3f", False, None),
        ("blues", True, ",d", True, "cm"),  # the trainer's confusion matrix: counts, log colours, clickable
        ("blues", False, ".2f", False, "cm"),
    ],
)
def test_handwritten_spec_equals_altairs(scheme, text, fmt, log, select):
    m = np.random.default_rng(0).normal(size=(4, 3))
    m = np.abs(m) * 100 if log else m
    m[0, 2] = np.nan  # a masked (causal) cell
    rows, cols = ["the", "cat", "the\u200b", "sat"], ["0", "1", "2"]
    kw = dict(row_title="query", col_title="", scheme=scheme, text=text, fmt=fmt, log=log, select=select)
    with mock.patch.object(st, "vega_lite_chart", return_value=None) as drawn:
        assert charts.heatmap(m, rows, cols, **kw) is None
    (data, spec), options = drawn.call_args
    want, want_df = altair_reference(m, rows, cols, height=max(160, 28 * 4 + 60), **kw)
    assert spec == want
    pd.testing.assert_frame_equal(data, want_df, check_dtype=False)
    assert options == (
        {"width": "stretch"} if select is None else {"width": "stretch", "on_select": "rerun", "key": select}
    )


def test_a_clicked_cell_is_returned():
    clicked = {"selection": {"cell": [{"i": 2, "j": 1}]}}
    with mock.patch.object(st, "vega_lite_chart", return_value=clicked):
        assert charts.heatmap(np.eye(3), list("abc"), list("xyz"), select="cm") == (2, 1)


def test_cached_source_is_inspects():
    def local() -> int:  # not importable by name: read directly, never cached under another object's name
        return 1

    for obj in (gpt.GPT, gpt.train, attention.run, attention.SingleHeadSelfAttention.steps, local):
        assert shell._source(obj) == inspect.getsource(obj)
    assert attention.run.__wrapped__  # a decorated function: its own source, not the decorator's
    assert "def run(" in shell._source(attention.run)
