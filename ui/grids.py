"""Number grids drawn as HTML tables that shrink to their column: the conv explorer's input, kernel, output.

`grid_html` returns a string (a notebook shows it with `IPython.display.HTML`); `sweep_step` draws one step
of a `core.conv.Sweep` as three columns: the padded input with its window, the kernel, the output so far;
`sweep_player` adds the step slider, Play/Pause and its speed; `predict_first` asks for the output size.
"""

from __future__ import annotations

import html
import time
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
    widths = [padded.shape[2], s.window[1] + 2, max(out_w, 3)]  # the kernel's caption needs some room
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
    text = f"{t('conv.cell', r=step.row, c=step.col)} &nbsp; {html.escape(step.expression())}"
    size = (40 if big else 26) if len(text) < 80 else (30 if big else 22)  # a 3×3 kernel: 9 products
    st.markdown(
        f"<div style='font-size:{size}px;font-family:ui-monospace,Menlo,monospace;"
        "padding:8px 12px;background:#fff9db;border-left:6px solid #e8590c;margin:6px 0;"
        "overflow-wrap:anywhere'>"
        f"{text}</div>",
        unsafe_allow_html=True,
    )


def sweep_player(s: Sweep, revealed: bool, big: bool, speeds: list[float]) -> None:
    """The window walks over the padded input, the output fills in cell by cell (keys `conv.step`, `.speed`).

    Play chains fragment-only runs (the rest of the page stays put): each draws one cell, waits the chosen
    seconds and reruns grid mode on the next cell, until the last. A Pause click during the wait joins
    that rerun, so the window stops where it is; any other control stops the play.
    """
    ss, n = st.session_state, len(s.steps)
    if not revealed or not 1 <= ss["conv.step"] <= n:  # only when needed: a value set here wins over
        ss["conv.step"] = min(max(1, ss["conv.step"]), n) if revealed else 1  # a keypress in flight
    playing = revealed and n > 1 and ss["conv.playing"]
    if revealed:
        b1, b2 = st.columns([1, 2], vertical_alignment="bottom")
        per_cell = t("conv.speed.value").replace("{s:g}", "{:g}")  # bound now: format_func runs later

        def toggle_play() -> None:
            """Play from the slider's cell (after the last, the first); Pause leaves it there."""
            if ss["conv.playing"]:
                ss["conv.step"] = ss["conv.shown"]  # the cell on screen
            else:
                ss["conv.pos"] = ss["conv.shown"] = ss["conv.step"] if ss["conv.step"] < n else 1
            ss["conv.playing"], ss["conv.tick"] = not ss["conv.playing"], True

        b1.button(
            t("conv.pause") if playing else t("conv.play"),
            on_click=toggle_play,
            disabled=n < 2,
            icon=":material/pause:" if playing else ":material/play_arrow:",
            key="conv.play_button",
        )
        b2.select_slider(
            t("conv.speed"),
            speeds,
            key="conv.speed",
            format_func=per_cell.format,
            on_change=ss.__setitem__,  # a new speed keeps playing (from the next cell)
            args=("conv.tick", True),
        )
    if not playing:
        if revealed and n > 1:
            st.slider(t("conv.step"), 1, n, key="conv.step", help=t("conv.step.help"))
        sweep_step(s, ss["conv.step"], revealed, big)
        return
    # The play position is not the slider's key: a Pause click sends the hidden slider's old value.
    done = min(ss.get("conv.pos", 1), n)
    st.progress(done / n, text=t("conv.playing", done=done, n=n))
    sweep_step(s, done, revealed, big)
    ss["conv.shown"] = done
    time.sleep(ss["conv.speed"])
    if done >= n:
        ss["conv.playing"], ss["conv.step"] = False, n  # stop on the last cell, the slider comes back
    else:
        ss["conv.pos"] = done + 1
    ss["conv.tick"] = True
    st.rerun(scope="fragment")


def predict_first(area: str, signature: str, true_hw: tuple[int, int]) -> bool:
    """'Predict first': True once the student has guessed the output size for these exact settings.

    The page declares `<area>.predict` (the toggle); the guess and the verdict live under `<area>.`.
    """
    verdict_ui(area)
    if not st.session_state[f"{area}.predict"] or st.session_state.get(f"{area}.revealed") == signature:
        return True
    st.info(t(f"{area}.predict.ask"))
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    c1.number_input(t(f"{area}.predict.h"), 0, 2000, step=1, key=f"{area}.guess_h")
    c2.number_input(t(f"{area}.predict.w"), 0, 2000, step=1, key=f"{area}.guess_w")

    def check() -> None:
        guess = (st.session_state[f"{area}.guess_h"], st.session_state[f"{area}.guess_w"])
        st.session_state[f"{area}.revealed"] = signature
        st.session_state[f"{area}.verdict"] = (guess, tuple(true_hw))

    c3.button(t(f"{area}.predict.check"), on_click=check, type="primary")
    return False


def verdict_ui(area: str) -> None:
    if verdict := st.session_state.pop(f"{area}.verdict", None):
        (gh, gw), (h, w) = verdict
        right = (gh, gw) == (h, w)
        (st.success if right else st.warning)(
            t(f"{area}.predict.{'right' if right else 'wrong'}", gh=gh, gw=gw, h=h, w=w)
        )
