"""Stable Diffusion img2img "fantasy landscape": strength, guidance and steps, with and without weights."""

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from core import diffusion
from core.images import open_image
from core.limits import LIMITS
from ui.cached import img2img_pipeline
from ui.i18n import t
from ui.shell import chart_height, current_device, explained_errors, presenter, run_job, seed, show_source
from ui.state import sync_url, url_default

SKETCH = Path(__file__).resolve().parent.parent / "assets" / "sd" / "mountain_sketch.png"
SIDES = [128, 256, 384, 512, 640, 768]
STRENGTHS = [0.3, 0.5, 0.75, 0.9, 1.0]
GUIDANCES = [1.0, 3.0, 7.5, 12.0]


@st.cache_data(show_spinner=False)
def bundled_sketch():
    return open_image(SKETCH.read_bytes()) if SKETCH.exists() else diffusion.make_mountain_sketch()


device = current_device()
cap = min(LIMITS.max_sd_side, LIMITS.max_sd_side_cpu if device.type == "cpu" else LIMITS.max_sd_side)
sides = [s for s in SIDES if s <= cap] or [SIDES[0]]

st.title(t("nav.sd"))
st.markdown(t("sd.intro"))

url_default("sd.source", "sketch", choices=["sketch", "upload"])
url_default("sd.prompt", diffusion.HOMEWORK_PROMPT)
url_default("sd.negative", "")
url_default("sd.strength", 0.75)
url_default("sd.guidance", 7.5)
url_default("sd.steps", min(50, LIMITS.max_sd_steps))
url_default("sd.side", 768, choices=SIDES)
url_default("sd.scheduler", "pndm", choices=list(diffusion.SCHEDULERS))
url_default("sd.model", diffusion.default_model())
if st.session_state["sd.side"] not in sides:  # a link made on a GPU server, opened on a CPU one
    st.session_state["sd.side"] = max(sides)
st.session_state["sd.steps"] = max(1, min(int(st.session_state["sd.steps"]), LIMITS.max_sd_steps))

# --- inputs ---------------------------------------------------------------------------------------
left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader(t("sd.input"))
    sources = {s: t(f"sd.source.{s}") for s in ("sketch", "upload")}  # labels fixed at run time
    st.radio(t("sd.source"), list(sources), key="sd.source", horizontal=True, format_func=sources.get)
    image = bundled_sketch()
    if st.session_state["sd.source"] == "upload":
        upload = st.file_uploader(
            t("sd.upload"), type=["png", "jpg", "jpeg", "webp", "gif", "bmp"], key="sd.upload"
        )
        if upload is None:
            st.caption(t("sd.upload.none"))
        else:
            with explained_errors():
                image = open_image(upload.getvalue(), max_side=2 * LIMITS.max_sd_side)
    st.image(image, width="stretch")
with right:
    st.text_area(t("sd.prompt"), key="sd.prompt", height=90)
    if not presenter():
        st.text_input(t("sd.negative"), key="sd.negative")
    st.slider(t("sd.strength"), 0.0, 1.0, step=0.05, key="sd.strength", help=t("sd.strength.help"))
    st.slider(t("sd.guidance"), 1.0, 20.0, step=0.5, key="sd.guidance", help=t("sd.guidance.help"))
    st.slider(t("sd.steps"), 1, LIMITS.max_sd_steps, key="sd.steps")
    st.select_slider(t("sd.side"), sides, key="sd.side")
    if not presenter():
        st.selectbox(
            t("sd.scheduler"),
            list(diffusion.SCHEDULERS),
            key="sd.scheduler",
            format_func=lambda s: diffusion.SCHEDULERS[s],
        )
        st.text_input(t("sd.model"), key="sd.model", help=t("sd.model.help"))

prompt, negative = st.session_state["sd.prompt"], st.session_state.get("sd.negative", "")
strength, guidance = float(st.session_state["sd.strength"]), float(st.session_state["sd.guidance"])
steps, side = int(st.session_state["sd.steps"]), int(st.session_state["sd.side"])
scheduler_name = st.session_state["sd.scheduler"]
model = st.session_state["sd.model"].strip() or diffusion.default_model()
width, height = diffusion.output_size(*image.size, max_side=side)
sized = image.resize((width, height))

# --- 1. step arithmetic and 2. the noisy start: the real scheduler, no weights ----------------------
st.header(t("sd.arith.title"))
scheduler = diffusion.make_scheduler(scheduler_name)
timesteps = []
with explained_errors():
    timesteps = diffusion.timesteps_run(steps, strength, scheduler)
if timesteps:
    t0 = timesteps[0]
    alpha = float(diffusion.noise_schedule(scheduler)[t0])
    st.markdown(
        t(
            "sd.arith.text",
            scheduler=diffusion.SCHEDULERS[scheduler_name],
            steps=steps,
            strength=strength,
            kept=min(int(steps * strength), steps),
        )
    )
    if scheduler_name == "pndm":
        st.caption(t("sd.arith.pndm"))
    m1, m2, m3 = st.columns(3)
    m1.metric(t("sd.steps_run"), len(timesteps))
    m2.metric(t("sd.start_t"), t0)
    m3.metric(t("sd.signal_left"), f"{alpha**0.5:.2f}")

    st.header(t("sd.noisy.title"))
    c1, c2 = st.columns(2)
    c1.image(sized, caption=t("sd.noisy.input"), width="stretch")
    c2.image(
        diffusion.forward_noise(sized, t0, scheduler, seed=seed()),
        caption=t("sd.noisy.start", t=t0),
        width="stretch",
    )
    st.caption(t("sd.noisy.caption", t=t0))

    st.subheader(t("sd.schedule.title"))
    alphas = diffusion.noise_schedule(scheduler).numpy()
    signal, noise = t("sd.schedule.signal"), t("sd.schedule.noise")
    curve = pd.DataFrame(
        {
            "t": list(range(len(alphas))) * 2,
            "value": list(alphas) + list(1 - alphas),
            "curve": [signal] * len(alphas) + [noise] * len(alphas),
        }
    )
    ran = pd.DataFrame({"t": timesteps, "value": [float(alphas[s]) for s in timesteps]})
    x = alt.X("t:Q", title=t("sd.schedule.t"))
    colours = alt.Scale(domain=[signal, noise], range=["#1565c0", "#ef6c00"])  # same in both languages
    chart = (
        alt.Chart(curve)
        .mark_line(strokeWidth=3)
        .encode(
            x, alt.Y("value:Q", title=t("sd.schedule.value")), alt.Color("curve:N", title=None, scale=colours)
        )
        + alt.Chart(ran).mark_circle(size=40, color="#444").encode(x, y="value:Q")
        + alt.Chart(pd.DataFrame({"t": [t0]})).mark_rule(strokeDash=[6, 4], size=2).encode(x)
    )
    st.altair_chart(
        chart.properties(height=chart_height(280)).configure_legend(orient="top"), width="stretch"
    )
    st.caption(t("sd.schedule.caption"))

# --- 3. generate: through the GPU queue -----------------------------------------------------------
st.header(t("sd.gen.title"))
status = diffusion.weights_status(model)
if status == "missing":
    st.info(t("sd.weights.missing", model=model))
else:
    st.caption(t("sd.weights.here", model=model, where=t(f"sd.where.{status}")))
if device.type == "cpu":
    st.warning(t("sd.cpu_warning", cap=cap))


def generate() -> diffusion.Img2ImgResult:
    progress = st.progress(0.0, text=t("sd.loading", model=model, device=device.type.upper()))
    strip = st.empty()

    def on_step(i: int, n: int, timestep: int, preview) -> None:
        progress.progress((i + 1) / n, text=t("sd.progress", i=i + 1, n=n, t=timestep))
        strip.image(preview, width=160)

    try:
        pipe = img2img_pipeline(model, str(device))
        return diffusion.run_img2img(
            pipe,
            sized,
            prompt,
            negative,
            strength,
            guidance,
            steps,
            seed(),
            on_step=on_step,
            scheduler=scheduler_name,
        )
    finally:  # also when loading fails: the sentence replaces the progress bar
        progress.empty()
        strip.empty()


if st.button(t("sd.generate"), type="primary", disabled=not timesteps, key="sd.go"):
    with explained_errors():
        result = run_job(generate, device)
        if result is not None:
            st.session_state["sd.result"] = (result, sized, device.type.upper())

if "sd.result" in st.session_state:
    result, shown_input, ran_on = st.session_state["sd.result"]
    st.success(
        t("sd.done", n=len(result.timesteps), t=result.timesteps[0], seconds=result.seconds, device=ran_on)
    )
    if result.prompt_tokens > diffusion.CLIP_MAX_TOKENS:
        st.info(t("sd.tokens", n=result.prompt_tokens))
    c1, c2 = st.columns(2)
    c1.image(shown_input, caption=t("sd.input"), width="stretch")
    c2.image(result.image, caption=t("sd.output"), width="stretch")
    st.caption(t("sd.previews"))
    show = 6 if presenter() else 10
    picks = sorted({round(k * (len(result.previews) - 1) / max(1, show - 1)) for k in range(show)})
    st.image(
        [
            result.previews[k].resize((result.previews[k].width * 2, result.previews[k].height * 2))
            for k in picks
        ],
        caption=[f"t = {result.timesteps[k]}" for k in picks],
        width=200 if presenter() else 120,
    )
    st.download_button(
        t("sd.download"),
        diffusion.png_with_settings(result.image, result.settings),
        file_name="fantasy_landscape.png",
        mime="image/png",
        key="sd.download",
    )
    if not presenter():
        with st.expander(t("sd.settings")):
            st.json(result.settings)

# --- 4. contact sheet -----------------------------------------------------------------------------
st.header(t("sd.sheet.title"))
st.caption(t("sd.sheet.caption"))
st.session_state.setdefault("sd.sheet.strengths", [0.5, 0.75, 1.0])
st.session_state.setdefault("sd.sheet.guidances", [1.0, 7.5, 12.0])
st.session_state.setdefault("sd.sheet.steps", min(20, LIMITS.max_sd_steps))
s1, s2, s3 = st.columns([2, 2, 1])
s1.multiselect(t("sd.sheet.strengths"), STRENGTHS, key="sd.sheet.strengths")
s2.multiselect(t("sd.sheet.guidances"), GUIDANCES, key="sd.sheet.guidances")
s3.number_input(t("sd.sheet.steps"), 1, LIMITS.max_sd_steps, key="sd.sheet.steps")
rows, cols = sorted(st.session_state["sd.sheet.strengths"]), sorted(st.session_state["sd.sheet.guidances"])
sheet_steps = int(st.session_state["sd.sheet.steps"])
st.caption(t("sd.sheet.time", cells=len(rows) * len(cols), steps=sheet_steps))


def make_sheet():
    progress = st.progress(0.0, text=t("sd.loading", model=model, device=device.type.upper()))
    total = len(rows) * len(cols)

    def on_cell(r: int, c: int, _image) -> None:
        k = r * len(cols) + c + 1
        progress.progress(k / total, text=t("sd.sheet.progress", k=k, total=total))

    try:
        pipe = img2img_pipeline(model, str(device))
        return diffusion.contact_sheet(
            pipe, sized, prompt, rows, cols, sheet_steps, seed(), negative, on_cell
        )
    finally:
        progress.empty()


if st.button(t("sd.sheet.make"), key="sd.sheet.go"):
    if not rows or not cols:
        st.warning(t("sd.sheet.empty"))
    else:
        with explained_errors():
            sheet = run_job(make_sheet, device)
            if sheet is not None:
                st.session_state["sd.sheet"] = (sheet, rows, cols)

if "sd.sheet" in st.session_state:
    sheet, sheet_rows, sheet_cols = st.session_state["sd.sheet"]
    for r, strength_r in enumerate(sheet_rows):
        for c, column in enumerate(st.columns(len(sheet_cols))):
            column.image(
                sheet[r][c], caption=t("sd.sheet.cell", s=strength_r, g=sheet_cols[c]), width="stretch"
            )

sync_url(
    "sd.source",
    "sd.negative",
    "sd.strength",
    "sd.guidance",
    "sd.steps",
    "sd.side",
    "sd.scheduler",
    "sd.model",
)
if len(prompt) <= 300:  # a 10,000-character prompt stays out of the address bar
    sync_url("sd.prompt")
elif "sd.prompt" in st.query_params:
    del st.query_params["sd.prompt"]
show_source(diffusion.run_img2img, diffusion.timesteps_run, diffusion.forward_noise, diffusion.latents_to_rgb)
