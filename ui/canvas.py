"""A drawing canvas for digits (streamlit-drawable-canvas): the "draw" source of ui/digit_input.py.

The component draws a fresh, empty Fabric.js canvas whenever the browser re-creates it (presenter mode
moves the page's elements), while the drawing it last sent stays in session state: the class would see
a blank canvas beside preprocessing steps of the old digit. So when the canvas moves to another place
on the page, or changes size, it is handed the drawing back (`initial_drawing`, rescaled to the new
side) and shows what the page computes from. The component's limit: after such a hand-back its bin
(reset) button goes back to the handed-back drawing, not to a blank canvas, and undo starts there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.digits import INK_THRESHOLD, ink_of

CANVAS_SIDE = 280  # 10× MNIST's 28 pixels
# MNIST strokes are about 2–3 px wide in the 20×20 box; a digit drawn ~200 px tall is scaled by ~1/10.
STROKE_WIDTH = 20


def scaled_drawing(drawing: dict[str, Any], factor: float) -> dict[str, Any]:
    """A Fabric.js drawing (json_data) drawn `factor` times larger, about the canvas's top-left corner."""
    if factor == 1:
        return drawing
    objects = [
        {
            **o,
            "left": o.get("left", 0) * factor,
            "top": o.get("top", 0) * factor,
            "scaleX": o.get("scaleX", 1) * factor,
            "scaleY": o.get("scaleY", 1) * factor,
        }
        for o in drawing.get("objects", [])
    ]
    return {**drawing, "objects": objects}


def _drawing_now(key: str) -> dict[str, Any] | None:
    """The drawing the canvas `key` last sent (json_data); None before its first run or once it is dropped."""
    import streamlit as st

    try:
        state = st.session_state.get(key)
        drawing = (state or {}).get("drawing") or {}
    except (AttributeError, TypeError, KeyError):
        return None
    raw = drawing.get("raw")
    return raw if isinstance(raw, dict) else None


def _restore(key: str, side: int, where: str) -> dict[str, Any] | None:
    """What to hand the canvas as `initial_drawing` this run (and remember why, for the next run).

    The component loads `initial_drawing` when it is first drawn and whenever the value changes, so the
    value only changes where the canvas is re-created (it moved: another place in the page) or resized;
    then it is the drawing in session state, rescaled to the new side (nothing when that is blank).
    Otherwise it stays what it was: reloading a canvas that is still there would clear its undo steps.
    """
    import streamlit as st

    memo_key = f"_{key}.kept"
    memo = st.session_state.get(memo_key) or {}
    now = _drawing_now(key)
    # the side the drawing in state was drawn at: a new drawing came from last run's canvas
    drawn_side = memo.get("drawn_side", side) if now == memo.get("seen") else memo.get("side", side)
    initial = memo.get("initial") if now is not None else None
    if memo and (where != memo.get("where") or side != memo.get("side")):
        initial = scaled_drawing(now, side / drawn_side) if now and now.get("objects") else None
    st.session_state[memo_key] = {
        "where": where,
        "side": side,
        "seen": now,
        "drawn_side": drawn_side,
        "initial": initial,
    }
    return initial


def canvas_rgba(key: str, side: int = CANVAS_SIDE) -> np.ndarray | None:
    """Show a black canvas with white ink; return what is drawn as (side, side, 4) uint8, None if blank."""
    import streamlit as st
    from streamlit_drawable_canvas import st_canvas  # imported here: it registers a component

    st.space(28)  # room for the toolbar the canvas shows above itself on hover (it covered a heading)
    # Where the canvas goes in the page's element tree: the browser re-creates it when this changes.
    where = st._main._get_write_delta_path_str()
    result = st_canvas(
        stroke_width=STROKE_WIDTH * side // CANVAS_SIDE,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=side,
        width=side,
        drawing_mode="freedraw",
        initial_drawing=_restore(key, side, where),
        return_image_data=True,
        key=key,
    )
    rgba = result.image_data
    if rgba is None:
        return None
    rgba = np.asarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or not (ink_of(rgba) >= INK_THRESHOLD).any():
        return None
    return rgba
