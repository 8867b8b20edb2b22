"""Number grids drawn as HTML tables that shrink to their column: the conv explorer's input, kernel, output.

`grid_html` returns a string (a notebook shows it with `IPython.display.HTML`); `sweep_step` draws one step
of a `core.conv.Sweep` as three columns: the padded input with its window, the kernel, the output so far.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import streamlit as st

from core.conv import Sweep, fmt
from ui.i18n import t


def grid_html(
    values: np.ndarray,
    highlight: Sequence[tuple[int, int]] = (),
    current: tuple[int, int] | None = None,
    padding: tuple[int, int] = (0, 0),
    weights: dict[tuple[int, int], float] | None = None,
    hidden: Sequence[tuple[int, int]] = (),
    cell_px: int = 52,
    caption: str = "",
) -> str:
    """(H, W) numbers -> HTML table: padding cells grey, the window highlighted, its weights as ×w tags.

    A cell is `cell_px` wide, or less when the column is narrower than the grid (CSS container units):
    the grid never overflows its column, so grids side by side never overlap.
    """
    hl, hide = set(highlight), set(hidden)
    h, w = values.shape
    side = f"min({cell_px}px, calc((100cqw - {w + 1}px) / {w}))"  # the column's width shared by w cells
    base = (
        f"width:{side};height:{side};min-width:{side};max-width:{side};font-size:calc({side} * 0.42);"
        "text-align:center;vertical-align:middle;font-weight:600;border:1px solid #adb5bd;position:relative;"
        "padding:0;overflow:hidden;font-family:ui-monospace,Menlo,Consolas,monospace;line-height:1;"
    )
    tag_style = (
        f"position:absolute;right:1px;bottom:0;font-size:max(9px, calc({side} * 0.24));color:#c92a2a;"
        "font-weight:700;line-height:1.1"
    )
    rows = []
    for r in range(h):
        cells = []
        for c in range(w):
            is_pad = r < padding[0] or r >= h - padding[0] or c < padding[1] or c >= w - padding[1]
            background, color, outline = ("#e9ecef", "#868e96", "") if is_pad else ("#ffffff", "#212529", "")
            if (r, c) in hl:  # under the window
                background, color, outline = (
                    "#ffd43b",
                    "#212529",
                    "outline:3px solid #e8590c;outline-offset:-3px;",
                )
            if current == (r, c):  # the output cell being computed
                background, outline = "#8ce99a", "outline:4px solid #2b8a3e;outline-offset:-4px;"
            if (r, c) in hide:  # not computed yet
                color = "#ced4da"
            text = "?" if (r, c) in hide else html.escape(fmt(values[r, c]))
            tag = ""
            if weights and (r, c) in weights:
                tag = f"<span style='{tag_style}'>×{html.escape(fmt(weights[(r, c)]))}</span>"
            cells.append(
                f"<td style='{base}background:{background};color:{color};{outline}'>{text}{tag}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = (
        f"<div style='font-size:{max(14, cell_px * 2 // 7)}px;color:#495057;padding-bottom:4px'>"
        f"{html.escape(caption)}</div>"
        if caption
        else ""
    )
    return (
        f"<div style='container-type:inline-size;width:100%'>{cap}"
        f"<table style='border-collapse:collapse;margin:0 0 8px 0;table-layout:fixed'>"
        + "".join(rows)
        + "</table></div>"
    )


def sweep_step(s: Sweep, done: int, revealed: bool, big: bool) -> None:
    """Output cell `done` (1-based) of the sweep: the padded input and its window, the kernel, the output.

    The three columns are as wide as their grids are, so a wide padded input takes the room it needs;
    every grid then shrinks to its column.
    """
    step = s.steps[done - 1]
    window = [(r, c) for r in step.rows for c in step.cols]
    padded = s.padded  # (C, H + 2ph, W + 2pw)
    out_h, out_w = s.out.shape
    cell_px = 88 if big else 60
    widths = [padded.shape[2], max(s.window[1], 3), max(out_w, 3)]
    g1, g2, g3 = st.columns(widths, gap="medium")
    multi = s.x.shape[0] > 1
    for ch in range(s.x.shape[0]):
        weights = None
        if s.kernel is not None:
            weights = {
                (r, c): s.kernel[ch, i, j] for i, r in enumerate(step.rows) for j, c in enumerate(step.cols)
            }
        caption = t("conv.grid.input", p=f"{s.padding[0]}, {s.padding[1]}")
        caption += t("conv.grid.channel", c=ch) if multi else ""
        g1.markdown(
            grid_html(
                padded[ch], window, padding=s.padding, weights=weights, cell_px=cell_px, caption=caption
            ),
            unsafe_allow_html=True,
        )
    if s.kernel is None:
        g2.markdown(t("conv.grid.pool", op=t(f"conv.op.{s.op}"), k=s.window[0]))
    for ch in range(0 if s.kernel is None else s.kernel.shape[0]):
        caption = t("conv.grid.kernel") + (t("conv.grid.channel", c=ch) if multi else "")
        g2.markdown(grid_html(s.kernel[ch], cell_px=cell_px, caption=caption), unsafe_allow_html=True)
    if not revealed:
        g3.markdown(f"**{t('conv.grid.output')}**: ?")
        return
    hidden = [(r, c) for r in range(out_h) for c in range(out_w) if r * out_w + c >= done]
    output = grid_html(
        s.out, current=(step.row, step.col), hidden=hidden, cell_px=cell_px, caption=t("conv.grid.output")
    )
    g3.markdown(output, unsafe_allow_html=True)
    st.markdown(
        f"<div style='font-size:{40 if big else 26}px;font-family:ui-monospace,Menlo,monospace;"
        "padding:8px 12px;background:#fff9db;border-left:6px solid #e8590c;margin:6px 0;overflow-wrap:anywhere'>"
        f"{t('conv.cell', r=step.row, c=step.col)} &nbsp; {html.escape(step.expression())}</div>",
        unsafe_allow_html=True,
    )
