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
