"""Stable Diffusion img2img "fantasy landscape": strength, guidance and steps, with and without weights.

About 250 lines: four sections, two of them (Generate, the contact sheet) with their own run button,
progress and results, each in its own fragment.
"""

from dataclasses import asdict
from pathlib import Path

import streamlit as st

from core import diffusion
from core.images import open_image
from core.limits import LIMITS
from ui import charts
from ui.cached import img2img_pipeline
from ui.diffusion_charts import noise_schedule
from ui.i18n import labeller, t
from ui.shell import current_device, explained_errors, link_to, presenter, run_job, seed, show_source
from ui.state import sync_url, url_default

SKETCH = Path(__file__).resolve().parent.parent / "assets" / "sd" / "mountain_sketch.png"
SIDES = [128, 256, 384, 512, 640, 768]
ELSEWHERE = ["pages/mnist_diffusion.py", "pages/unet_inspector.py"]  # what runs without SD weights
HOMEWORK = diffusion.Img2ImgSettings()
device = current_device()
cap = LIMITS.max_sd_side_cpu if device.type == "cpu" else LIMITS.max_sd_side
sides = [s for s in SIDES if s <= cap] or [SIDES[0]]

url_default("sd.source", "sketch", choices=["sketch", "upload"])
url_default("sd.prompt", HOMEWORK.prompt)
url_default("sd.negative", HOMEWORK.negative_prompt)
url_default("sd.strength", HOMEWORK.strength)
url_default("sd.guidance", HOMEWORK.guidance_scale)
url_default("sd.steps", min(HOMEWORK.steps, LIMITS.max_sd_steps))
url_default("sd.side", 768, choices=SIDES)
url_default("sd.scheduler", HOMEWORK.scheduler, choices=list(diffusion.SCHEDULERS))
url_default("sd.model", diffusion.default_model())
st.session_state["sd.side"] = min(st.session_state["sd.side"], max(sides))  # a GPU server's link on a CPU
st.session_state["sd.steps"] = max(1, min(int(st.session_state["sd.steps"]), LIMITS.max_sd_steps))


@st.cache_data(show_spinner=False)
def bundled_sketch():
    return open_image(SKETCH.read_bytes()) if SKETCH.exists() else diffusion.make_mountain_sketch()


@st.cache_data(show_spinner=False, ttl=600)  # a network probe (5 s at most): once in 10 minutes per model
def within_reach(model: str) -> bool:
    return diffusion.weights_within_reach(model)


def input_ui():
    """The bundled sketch or an upload -> an RGB image."""
    st.subheader(t("sd.input"))
    st.radio(
        t("sd.source"),
        ["sketch", "upload"],
        key="sd.source",
        horizontal=True,
        format_func=labeller("sd.source."),
    )
    image = bundled_sketch()
    if st.session_state["sd.source"] == "upload":
        upload = st.file_uploader(
            t("sd.upload"), type=["png", "jpg", "jpeg", "webp", "gif", "bmp"], key="sd.upload"
        )
        if upload is None:
            st.caption(t("sd.upload.none"))
        with explained_errors():
            image = open_image(upload.getvalue(), max_side=2 * LIMITS.max_sd_side) if upload else image
    st.image(image, width="stretch", output_format="JPEG")  # JPEG: photos and noise encode 100x faster
    return image


def settings_ui() -> diffusion.Img2ImgSettings:
    st.text_area(t("sd.prompt"), key="sd.prompt", height=90)
    if not st.session_state["sd.prompt"].strip():
        st.info(t("sd.prompt.empty"))
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
            format_func=diffusion.SCHEDULERS.get,
        )
        st.text_input(t("sd.model"), key="sd.model", help=t("sd.model.help"))
    keys = ("sd.prompt", "sd.negative", "sd.strength", "sd.guidance", "sd.steps", "sd.scheduler")
    return diffusion.Img2ImgSettings(*(st.session_state[k] for k in keys))


def arithmetic_ui(settings: diffusion.Img2ImgSettings, sized) -> list[int]:
    """Sections 1 and 2, with the real scheduler and no weights: the timesteps that run (or [])."""
    st.header(f"1 · {t('sd.arith.title')}")
    scheduler = diffusion.make_scheduler(settings.scheduler)
    with explained_errors():
        timesteps = diffusion.timesteps_run(settings.steps, settings.strength, scheduler)
        kept = diffusion.kept_steps(settings.steps, settings.strength)
        name = diffusion.SCHEDULERS[settings.scheduler]
        st.markdown(
            t("sd.arith.text", scheduler=name, steps=settings.steps, strength=settings.strength, kept=kept)
        )
        if settings.scheduler == "pndm":
            st.caption(t("sd.arith.pndm"))
        alphas = diffusion.noise_schedule(scheduler).numpy()
        m = st.columns(3)
        m[0].metric(t("sd.steps_run"), len(timesteps))
        m[1].metric(t("sd.start_t"), timesteps[0])
        m[2].metric(t("sd.signal_left"), f"{alphas[timesteps[0]] ** 0.5:.2f}")

        st.header(f"2 · {t('sd.noisy.title')}")
        noisy = diffusion.forward_noise(sized, timesteps[0], scheduler, seed=seed())
        c = st.columns(2)
        c[0].image(sized, caption=t("sd.noisy.input"), width="stretch", output_format="JPEG")
        c[1].image(noisy, caption=t("sd.noisy.start", t=timesteps[0]), width="stretch", output_format="JPEG")
        st.caption(t("sd.noisy.caption", t=timesteps[0]))
        st.subheader(t("sd.schedule.title"))
        titles = {k: t(f"sd.schedule.{k}") for k in ("signal", "noise", "t", "value")}
        noise_schedule(alphas, timesteps, titles)
        st.caption(t("sd.schedule.caption"))
        return timesteps
    return []


@st.fragment  # Generate reruns this section only
def generate_ui(number: int, settings: diffusion.Img2ImgSettings, sized, model: str, ready: bool) -> None:
    st.header(f"{number} · {t('sd.gen.title')}")
    status = diffusion.weights_status(model)
    if status != "missing":
        st.caption(t("sd.weights.here", model=model, where=t(f"sd.where.{status}")))
    elif within_reach(model):
        st.info(t("sd.weights.download", model=model))
    else:
        st.info(t("sd.weights.missing", model=model))
        for file in ELSEWHERE:
            link_to(file)
    if device.type == "cpu" and ready:
        st.warning(t("sd.cpu_warning", cap=cap))

    def generate() -> diffusion.Img2ImgResult:
        bar = st.progress(0.0, text=t("sd.loading", model=model, device=device.type.upper()))

        def on_step(i: int, n: int, step: int, _preview) -> None:
            bar.progress((i + 1) / n, text=t("sd.progress", i=i + 1, n=n, t=step))

        try:  # the bar goes away also when loading fails: the sentence replaces it
            pipe = img2img_pipeline(model, str(device))
            return diffusion.run_img2img(pipe, sized, **asdict(settings), seed=seed(), on_step=on_step)
        finally:
            bar.empty()

    if st.button(t("sd.generate"), type="primary", disabled=not ready, key="sd.go"):
        with explained_errors():
            if (result := run_job(generate, device)) is not None:
                st.session_state["sd.result"] = (result, sized, device.type.upper())
    if "sd.result" in st.session_state:
        result, shown_input, ran_on = st.session_state["sd.result"]
        n, t0, seconds = len(result.timesteps), result.timesteps[0], result.seconds
        st.success(t("sd.done", n=n, t=t0, seconds=seconds, device=ran_on))
        if result.prompt_tokens > diffusion.CLIP_MAX_TOKENS:
            st.info(t("sd.tokens", n=result.prompt_tokens))
        c = st.columns(2)
        c[0].image(shown_input, caption=t("sd.input"), width="stretch")
        c[1].image(result.image, caption=t("sd.output"), width="stretch")
        st.caption(t("sd.previews"))
        per_row = 6 if presenter() else 10  # the same size however many steps ran
        picks = diffusion.evenly_spaced(len(result.previews), per_row)
        captions = [f"t = {result.timesteps[k]}" for k in picks]
        charts.image_row([result.previews[k] for k in picks], captions, per_row=per_row, factor=2)
        png = diffusion.png_with_settings(result.image, result.settings)
        st.download_button(
            t("sd.download"), png, file_name="fantasy_landscape.png", mime="image/png", key="sd.download"
        )
        if not presenter():
            with st.expander(t("sd.settings")):
                st.json(result.settings)


@st.fragment  # the sheet's own controls rerun this section only
def sheet_ui(number: int, settings: diffusion.Img2ImgSettings, sized, model: str, ready: bool) -> None:
    st.header(f"{number} · {t('sd.sheet.title')}")
    st.caption(t("sd.sheet.caption"))
    c = st.columns([2, 2, 1])
    c[0].multiselect(t("sd.sheet.strengths"), [0.3, 0.5, 0.75, 0.9, 1.0], key="sd.sheet.strengths")
    c[1].multiselect(t("sd.sheet.guidances"), [1.0, 3.0, 7.5, 12.0], key="sd.sheet.guidances")
    c[2].number_input(t("sd.sheet.steps"), 1, LIMITS.max_sd_steps, key="sd.sheet.steps")
    rows, cols = (
        sorted(st.session_state["sd.sheet.strengths"]),
        sorted(st.session_state["sd.sheet.guidances"]),
    )
    steps = int(st.session_state["sd.sheet.steps"])
    st.caption(t("sd.sheet.time", cells=len(rows) * len(cols), steps=steps))

    def make_sheet():
        bar = st.progress(0.0, text=t("sd.loading", model=model, device=device.type.upper()))
        total = len(rows) * len(cols)

        def done(r: int, c: int, _image) -> None:
            k = r * len(cols) + c + 1
            bar.progress(k / total, text=t("sd.sheet.progress", k=k, total=total))

        try:
            pipe = img2img_pipeline(model, str(device))
            return diffusion.contact_sheet(
                pipe, sized, settings.prompt, rows, cols, steps, seed(), settings.negative_prompt, done
            )
        finally:
            bar.empty()

    if st.button(t("sd.sheet.make"), key="sd.sheet.go", disabled=not ready):
        if not rows or not cols:
            st.warning(t("sd.sheet.empty"))
        with explained_errors():
            if rows and cols and (sheet := run_job(make_sheet, device)) is not None:
                st.session_state["sd.sheet"] = (sheet, rows, cols)
    if "sd.sheet" in st.session_state:
        sheet, sheet_rows, sheet_cols = st.session_state["sd.sheet"]
        for r, strength in enumerate(sheet_rows):
            for c, column in enumerate(st.columns(len(sheet_cols))):
                column.image(
                    sheet[r][c], caption=t("sd.sheet.cell", s=strength, g=sheet_cols[c]), width="stretch"
                )


st.session_state.setdefault("sd.sheet.strengths", [0.5, 0.75, 1.0])
st.session_state.setdefault("sd.sheet.guidances", [1.0, 7.5, 12.0])
st.session_state.setdefault("sd.sheet.steps", min(20, LIMITS.max_sd_steps))
st.title(t("nav.sd"))
st.markdown(t("sd.intro"))
left, right = st.columns([1, 1], gap="large")
with left:
    image = input_ui()
with right:
    settings = settings_ui()
sized = image.resize(diffusion.sd_image_size(*image.size, max_side=int(st.session_state["sd.side"])))
timesteps = arithmetic_ui(settings, sized)
model = st.session_state["sd.model"].strip() or diffusion.default_model()
ready = bool(timesteps) and (diffusion.weights_status(model) != "missing" or within_reach(model))
number = 3 if timesteps else 2  # strength 0 shows no noisy start: the numbering stays 1, 2, 3
generate_ui(number, settings, sized, model, ready)
sheet_ui(number + 1, settings, sized, model, ready)
sync_url("sd.")
if len(settings.prompt) > 300:  # a 10,000-character prompt stays out of the address bar
    st.query_params.pop("sd.prompt", None)
show_source(diffusion.run_img2img, diffusion.timesteps_run, diffusion.forward_noise, diffusion.latents_to_rgb)
