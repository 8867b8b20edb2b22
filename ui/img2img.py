"""What both diffusion pages (Stable Diffusion img2img, the MNIST DDPM) show the same way, one helper per
concept: the strength -> start timestep arithmetic and the noise schedule, the denoising trace, the
input -> output result with its PNG, and the strength × guidance contact sheet as a background job.

Widget and job keys carry the page's area (`sd`, `ddpm`); the texts are shared (`img2img.*`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from core import diffusion
from ui import charts, jobs
from ui.diffusion_charts import metric_rows, noise_schedule
from ui.i18n import t
from ui.shell import presenter

SheetRun = Callable[..., Any]  # (rows, cols, steps, report, should_stop) -> sheet[row][col] pictures or None


@st.cache_data(show_spinner=False, max_entries=256)  # Altair builds and validates it in ~0.1 s
def schedule_spec(alphas, timesteps: tuple, titles: tuple, big: bool) -> dict:  # big: presenter mode
    return noise_schedule(alphas, list(timesteps), dict(titles))


def strength_ui(text_key: str, plan: diffusion.StepPlan, scheduler: str = "") -> None:
    """Strength -> start timestep: the page's sentence (`text_key`), then steps run, start t, signal left."""
    first, n, product = plan.timesteps[0], len(plan.timesteps), plan.steps * plan.strength
    fields = dict(steps=plan.steps, strength=plan.strength, product=product, kept=plan.kept, first=first)
    st.markdown(t(text_key, **fields, skipped=plan.skipped, n=n, scheduler=scheduler))
    signal = f"{plan.signal_left:.2f}"
    metric_rows({t("img2img.steps_run"): n, t("img2img.start_t"): first, t("img2img.signal_left"): signal}, 3)


def schedule_ui(plan: diffusion.StepPlan) -> None:
    """ᾱ_t and 1 − ᾱ_t over the whole schedule, the timesteps that run as dots, the start dashed."""
    st.subheader(t("img2img.schedule.title"))
    titles = tuple((k, t(f"img2img.schedule.{k}")) for k in ("signal", "noise", "t", "value"))
    spec = schedule_spec(plan.alphas.numpy(), tuple(plan.timesteps), titles, presenter())
    st.vega_lite_chart(spec, width="stretch")
    st.caption(t("img2img.schedule.caption"))


def trace_row(previews: Sequence[Any], timesteps: Sequence[int], factor: int = 2) -> None:
    """The denoising trace: previews with their timesteps in a row, the same size however many steps ran."""
    per_row = 6 if presenter() else 10
    picks = diffusion.evenly_spaced(len(previews), per_row)
    captions = [f"t = {timesteps[k]}" for k in picks]
    charts.image_row([np.asarray(previews[k]) for k in picks], captions, per_row=per_row, factor=factor)


def pair(left, right, captions: tuple[str, str], **image: Any) -> None:
    """Two pictures side by side with their captions (input and output; the SD page's input and noisy start).
    `image` goes to st.image (width=, output_format=)."""
    for column, picture, caption in zip(st.columns(2), (left, right), captions, strict=True):
        column.image(picture, caption=caption, **image)


def result_ui(area: str, shown_input, output, settings: dict, file_name: str, width: Any = "stretch") -> None:
    """Input and output side by side, and the output as a PNG carrying every setting in its metadata."""
    pair(shown_input, output, (t("img2img.input"), t("img2img.output")), width=width)
    png = diffusion.png_with_settings(output, settings)
    key = f"{area}.download"
    st.download_button(t("img2img.download"), png, file_name=file_name, mime="image/png", key=key)


def sheet_ui(
    area: str,
    spec: diffusion.SheetSpec,
    run: SheetRun,
    ready: bool = True,
    min_cols: int = 1,
    waiting: str | None = None,
):
    """The strength × guidance contact sheet: the page's `<area>.sheet.caption`, rows, columns and steps
    (`spec`: the choices and the first picks), Make: a background job `<area>.sheet.job` running `run`, a
    core contact sheet, then the last sheet as captioned cells (at least `min_cols` to a row). The page's
    last line, `jobs.watch_all()`, shows its progress (`waiting` until the first cell)."""
    job = f"{area}.sheet.job"

    def finished(done: jobs.BackgroundJob) -> jobs.Said:
        _, rows, cols = st.session_state[f"{area}.sheet"] = done.result
        seconds = (done.ended or 0.0) - (done.running_since or 0.0)
        return "success", "img2img.sheet.done", {"cells": len(rows) * len(cols), "seconds": seconds}

    jobs.harvest(job, finished)
    st.caption(t(f"{area}.sheet.caption"))
    c = st.columns([2, 2, 1])
    # Defaults go to the widgets themselves, never into session state first: while the fragment redraws,
    # the browser sends an untouched widget's proto default, and a Make clicked then saw [] in both
    # multiselects (session-state values leave that default empty; the steps would fall to 1). Not URL keys:
    # CONTRIBUTING's "key=, never value=" is for keys that url_state seeds.
    w = f"{area}.sheet."
    rows = c[0].multiselect(t("img2img.sheet.strengths"), spec.strengths, spec.rows, key=w + "strengths")
    cols = c[1].multiselect(t("img2img.sheet.guidances"), spec.guidances, spec.cols, key=w + "guidances")
    rows, cols = sorted(rows), sorted(cols)
    steps = int(c[2].number_input(t("img2img.sheet.steps"), 1, spec.max_steps, spec.steps, key=w + "steps"))
    st.caption(t("img2img.sheet.time", cells=len(rows) * len(cols), steps=steps))

    def work():  # at the click, in its run (in_run: a fragment's button, the page's latest settings)
        if not rows or not cols:
            st.warning(t("img2img.sheet.empty"))
            return None

        def sheet(report, should_stop):
            report({"progress": 0.0})  # "starting" until the first cell
            out = run(rows, cols, steps, report, should_stop)
            return None if out is None else (out, rows, cols)

        return sheet

    key, label = f"{area}.sheet.go", t("img2img.sheet.make")
    jobs.start_button(job, label, work, disabled=not ready, in_run=True, key=key, type="secondary")
    jobs.live_panel(job, jobs.progress_line("img2img.sheet.progress", waiting or t("img2img.sheet.starting")))
    if f"{area}.sheet" in st.session_state:
        sheet, rows, cols = st.session_state[f"{area}.sheet"]
        for strength, row in zip(rows, sheet, strict=True):  # one strength a row, however wide the columns
            captions = [t("img2img.sheet.cell", s=strength, g=g) for g in cols]
            charts.image_row(
                [np.asarray(c) for c in row], captions, per_row=max(len(cols), min_cols), factor=1
            )
