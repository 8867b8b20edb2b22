"""ui.charts' shared Vega-Lite config: in Chinese the y title reads across, level above the axis."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest


def _app(lang: str) -> None:  # runs inside AppTest: the chart config the session would get
    import streamlit as st

    from ui import charts

    st.session_state["lang"] = lang
    st.json(charts._config())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_y_title_stands_level_in_chinese_and_turns_in_english(lang):
    at = AppTest.from_function(_app, args=(lang,)).run(timeout=60)
    assert not at.exception
    value = at.json[0].value
    axis_y = (value if isinstance(value, dict) else json.loads(value))["axisY"]
    if lang == "zh":  # 概率 written sideways is hard to read: level, above the axis
        assert axis_y["titleAngle"] == 0 and axis_y["titleAnchor"] == "end"
    else:
        assert "titleAngle" not in axis_y  # Vega-Lite's default: along the axis


def test_series_rows_are_pandas_melt_of_the_named_columns():
    """charts.series' rows: one (x, name, value) per record and named column, in `names` order; a record
    without the column (an epoch's test record among step records) gives none; y may reuse a column name."""
    import pandas as pd

    from ui.charts import series_rows

    records = [
        {"step": 1, "loss": 3.0, "kl": 0.5},
        {"step": 2, "loss": 2.0, "kl": 0.4},
        {"step": 2, "test_kl": 0.6},
    ]
    rows = series_rows(records, "step", {"kl": "train", "test_kl": "test"}, "nats", "split")
    expected = pd.DataFrame({"step": [1, 2, 2], "split": ["train", "train", "test"], "nats": [0.5, 0.4, 0.6]})
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected, check_dtype=False)
    same = series_rows(records[:2], "step", {"loss": "GPT"}, "loss", "model")  # y named like its column
    assert same.to_dict("list") == {"step": [1, 2], "model": ["GPT", "GPT"], "loss": [3.0, 2.0]}
    assert series_rows([], "step", {"loss": "GPT"}, "loss", "model").empty  # stopped before a report
