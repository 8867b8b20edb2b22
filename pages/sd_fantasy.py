"""Stable Diffusion img2img "fantasy landscape": strength, guidance and steps, with and without weights.

Four sections, two background jobs (Generate, the contact sheet) and a fragment that lets the sliders
rerun only the sections they change. The img2img parts are ui/img2img.py's, shared with the MNIST page.
"""

import streamlit as st

from core import diffusion, sd_view
from core.limits import LIMITS
from ui import img2img, jobs, weights
from ui.cached import pipeline_loader
from ui.i18n import t
from ui.shell import current_device, explained_errors, image_upload, pick, presenter, seed, show_source
from ui.state import url_state

JOB, HOMEWORK, SOURCES, device = "sd.job", diffusion.Img2ImgSettings(), ("sketch", "upload"), current_device()
cap = diffusion.max_side(device.type)
s = url_state(
    "sd.",
    source=("sketch", SOURCES),
    prompt=HOMEWORK.prompt,
    negative=HOMEWORK.negative_prompt,
    strength=HOMEWORK.strength,
    guidance=HOMEWORK.guidance_scale,
    steps=(min(HOMEWORK.steps, LIMITS.max_sd_steps), range(1, LIMITS.max_sd_steps + 1)),
    side=(768, diffusion.SIDES),
    scheduler=(HOMEWORK.scheduler, diffusion.SCHEDULERS),
    model=diffusion.default_model(),
)
s.side = min(s.side, max(diffusion.side_choices(cap)))  # a link made on a GPU server, opened on a CPU one


@st.cache_data(show_spinner=False)
def bundled_sketch():
    return diffusion.bundled_sketch()


@st.cache_data(show_spinner=False, max_entries=64)  # a slider moved back and forth redraws from memory
def plan(_image, image_key: str, side: int, steps: int, strength: float, scheduler: str, seed: int):
    return diffusion.plan_img2img(_image, side, steps, strength, scheduler, seed)


def finished(job: jobs.BackgroundJob) -> jobs.Said:
    """A finished run: kept in the session; it says its steps, start, time and device."""
    st.session_state["sd.result"] = job.result  # (Img2ImgResult, the input it is shown beside)
    return "success", "sd.done", job.result[0].summary


def input_ui() -> tuple:
    """The bundled sketch or an upload -> (RGB image, a key naming it for the cache)."""
    st.subheader(t("sd.input"))
    pick(st.radio, "sd.source", SOURCES, horizontal=True)
    image, key = bundled_sketch(), "sketch"
    if s.source == "upload":
        upload = image_upload(t("sd.upload"), t("sd.upload.none"), 2 * LIMITS.max_sd_side, key="sd.upload")
        if upload is not None:  # none yet, or a bad file (its sentence shown): the sketch stays
            image, key = upload
    st.image(image, width="stretch", output_format="JPEG")  # JPEG: photos and noise encode 100x faster
    return image, key


def settings_ui() -> diffusion.Img2ImgSettings:
    """The prompt and the sliders (presenter mode hides the negative prompt, scheduler and model)."""
    st.text_area(t("sd.prompt"), key="sd.prompt", height=90)
    if not s.prompt.strip():
        st.info(t("sd.prompt.empty"))
    if not presenter():
        st.text_input(t("sd.negative"), key="sd.negative")
    st.slider(t("sd.strength"), 0.0, 1.0, step=0.05, key="sd.strength", help=t("sd.strength.help"))
    st.slider(t("sd.guidance"), 1.0, 20.0, step=0.5, key="sd.guidance", help=t("sd.guidance.help"))
    st.slider(t("sd.steps"), 1, LIMITS.max_sd_steps, key="sd.steps")
    st.select_slider(t("sd.side"), diffusion.side_choices(cap), key="sd.side")
    if not presenter():
        names = diffusion.SCHEDULERS
        st.selectbox(t("sd.scheduler"), list(names), key="sd.scheduler", format_func=names.get)
        st.text_input(t("sd.model"), key="sd.model", help=t("sd.model.help"))
    return diffusion.Img2ImgSettings(s.prompt, s.negative, s.strength, s.guidance, s.steps, s.scheduler)


def arithmetic_ui(settings: diffusion.Img2ImgSettings, image, key: str) -> diffusion.Img2ImgPlan | None:
    """Sections 1 and 2, with the real scheduler and no weights: the plan, or None after a sentence."""
    st.header(f"1 · {t('sd.arith.title')}")
    with explained_errors():
        p = plan(image, key, s.side, settings.steps, settings.strength, settings.scheduler, seed())
        img2img.strength_ui("sd.arith.text", p, diffusion.SCHEDULERS[settings.scheduler])
        if settings.scheduler == "pndm":
            st.caption(t("sd.arith.pndm"))
        st.header(f"2 · {t('sd.noisy.title')}")
        captions = t("sd.noisy.input"), t("sd.noisy.start", t=p.timesteps[0])
        img2img.pair(p.image, p.noisy, captions, width="stretch", output_format="JPEG")
        st.caption(t("sd.noisy.caption", t=p.timesteps[0]))
        img2img.schedule_ui(p)
        return p
    return None


def generate_ui(number: int, settings: diffusion.Img2ImgSettings, p, model: str) -> bool:
    """Generate (a background job, started in the click's run: the settings are the top fragment's latest),
    its live view and outcome, then the last result with its previews and download. -> whether it can run."""
    st.header(f"{number} · {t('sd.gen.title')}")
    elsewhere = "pages/mnist_diffusion.py", "pages/unet_inspector.py"  # linked when there are no weights
    ready = weights.pipeline_status("sd", model, elsewhere) and p is not None
    if device.type == "cpu" and ready:
        st.warning(t("sd.cpu_warning", cap=cap))
    start = lambda: sd_view.generate_work(load, p.image, settings, seed())  # seed(): at the click
    draw = jobs.progress_line("sd.progress", loading)
    jobs.control(JOB, t("sd.generate"), start, draw, disabled=not ready, in_run=True, key="sd.go")
    if "sd.result" in st.session_state:
        result, shown_input = st.session_state["sd.result"]
        if result.prompt_tokens > diffusion.CLIP_MAX_TOKENS:
            st.info(t("sd.tokens", n=result.prompt_tokens))
        img2img.result_ui("sd", shown_input, result.image, result.settings, "fantasy_landscape.png")
        st.caption(t("sd.previews"))
        img2img.trace_row(result.previews, result.timesteps)
        if not presenter():
            with st.expander(t("sd.settings")):
                st.json(result.settings)
    return ready


@st.fragment  # the sheet's own controls rerun this section only
def sheet_ui(number: int, ready: bool) -> None:
    st.header(f"{number} · {t('sd.sheet.title')}")
    settings, p = st.session_state["sd._plan"]  # the latest, also after a rerun of the top only
    run = sd_view.sheet_run(load, p.image if p is not None else None, settings, seed())  # runs when ready
    img2img.sheet_ui("sd", diffusion.SHEET, run, ready, waiting=loading)


@st.fragment  # a slider reruns the input, the settings and sections 1-2 only (felt speed)
def top_ui() -> tuple:
    """Input, settings and the no-weights sections -> (settings, plan or None, model)."""
    left, right = st.columns([1, 1], gap="large")
    with left:
        image, image_key = input_ui()
    with right:
        settings = settings_ui()
    p = arithmetic_ui(settings, image, image_key)
    model = s.model.strip() or diffusion.default_model()
    st.session_state["sd._plan"] = settings, p
    s.sync()
    if st.session_state.setdefault("sd._shown", (p is None, model)) != (p is None, model):
        st.session_state["sd._shown"] = p is None, model
        st.rerun()  # the sections below change too (numbering, buttons, weights): the whole page
    return settings, p, model


jobs.harvest(JOB, finished)
st.title(t("nav.sd"))
st.markdown(t("sd.intro"))
settings, p, model = top_ui()
number = 3 if p is not None else 2  # strength 0 shows no noisy start: the numbering stays 1, 2, 3
load, loading = pipeline_loader(model)  # load() runs in the jobs: the first run loads the weights
ready = generate_ui(number, settings, p, model)
sheet_ui(number + 1, ready)
show_source(diffusion.run_img2img, diffusion.plan_img2img, diffusion.forward_noise, diffusion.latents_to_rgb)
jobs.watch_all()  # last: the page is drawn and clickable while Generate or the sheet runs
