"""A drawing canvas for digits (streamlit-drawable-canvas): the "draw" source of ui/digit_input.py."""

from __future__ import annotations

import numpy as np

from core.digits import INK_THRESHOLD, ink_of

CANVAS_SIDE = 280  # 10× MNIST's 28 pixels
# MNIST strokes are about 2–3 px wide in the 20×20 box; a digit drawn ~200 px tall is scaled by ~1/10.
STROKE_WIDTH = 20


def canvas_rgba(key: str, side: int = CANVAS_SIDE) -> np.ndarray | None:
    """Show a black canvas with white ink; return what is drawn as (side, side, 4) uint8, None if blank."""
    import streamlit as st
    from streamlit_drawable_canvas import st_canvas  # imported here: it registers a component

    st.space(28)  # room for the toolbar the canvas shows above itself on hover (it covered a heading)
    result = st_canvas(
        stroke_width=STROKE_WIDTH * side // CANVAS_SIDE,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=side,
        width=side,
        drawing_mode="freedraw",
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
