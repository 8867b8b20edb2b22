"""Diffusion you can train: a class-conditional DDPM on MNIST; sampling, img2img, guidance, contact sheet.

The img2img parts (strength arithmetic, schedule, trace, result, contact sheet) are the SD page's
helpers in ui/img2img.py, over the same core (core.diffusion.step_plan, sheet_runs).
"""

from functools import partial

import streamlit as st
import torch
from PIL import Image

from core import data as core_data
from core import ddpm
from ui import cached, charts, img2img, jobs
from ui.diffusion_charts import mnist_unet_ui
from ui.digit_input import digit_input, digit_state
from ui.i18n import labeller, t
from ui.shell import current_device, explained_errors, presenter, run_job, show_source
from ui.state import url_state

JOB, DIGIT_SOURCES = "ddpm.job", ("index", "draw")  # img2img starts from a test digit or a drawing
TRAIN_STEPS = sorted({200, 1000, ddpm.DDPMConfig().steps, 6000})
digit_state("ddpm.", DIGIT_SOURCES, index=18)  # test image 18: a sloppy 3
s = url_state(
    "ddpm.",
    dataset=("mnist", core_data.NAMES),
    label=(3, range(10)),
    guidance=3.0,
    scheduler=("ddpm", ddpm.SCHEDULER_NAMES),
    steps=50,
    seed=0,
    strength=0.6,
    train_steps=(ddpm.DDPMConfig().steps, TRAIN_STEPS),
)


@st.cache_data(show_spinner=False, max_entries=64)
def run_sample(_unet, model_key, label, steps, scheduler, guidance, seed, init_bytes, strength):
    """One traced sample (cached per model and settings): `init_bytes` is a uint8 28×28 drawing or None."""
    init = None if init_bytes is None else torch.frombuffer(bytearray(init_bytes), dtype=torch.uint8)
    return ddpm.sample(_unet, label, steps, scheduler, guidance, seed, init=init, strength=strength)


def finished(job: jobs.BackgroundJob) -> jobs.Said | None:
    """A finished training job: keep the model for its dataset (and on disk when it ran to the end)."""
    unet, meta = job.result
    if meta["steps_done"] == 0:
        return None
    st.session_state.setdefault("ddpm.trained", {})[(meta["config"]["dataset"],)] = (unet, meta)
    if job.status == "done":
        ddpm.save_cached(unet, meta)  # the next student starts from it instantly
    fields = dict(steps=meta["steps_done"], seconds=meta["seconds"], loss=meta["final_loss"])
    kind, msg_key = ("success", "ddpm.train.done") if job.status == "done" else ("info", "ddpm.train.stopped")
    return kind, msg_key, fields


def work() -> jobs.Work:
    """Train's click: the one core call, work(report, should_stop), for the settings as they are now."""
    config = ddpm.DDPMConfig(dataset=s.dataset, steps=s.train_steps, device=current_device().type)
    return partial(ddpm.train, config)


def train_ui() -> None:
    """The steps to train, and Train (off while any job runs)."""
    st.caption(t("ddpm.train.explain"))
    batch = ddpm.DDPMConfig().batch_size
    st.select_slider(t("ddpm.train.steps", batch=batch), TRAIN_STEPS, key="ddpm.train_steps")
    jobs.start_button(JOB, t("ddpm.train.button"), work, key="ddpm.train.go")


def draw_training(snap: dict) -> None:
    """The live view: "step k of total: loss", then the loss curve so far."""
    eta = f"{snap['eta']:.0f}" if snap["eta"] is not None else "?"  # "?" while unknown, not 0
    jobs.progress_line("ddpm.train.progress", eta=eta)(snap)
    titles = dict(x_title=t("ddpm.train.step"), y_title=t("ddpm.train.loss"), height=200)
    charts.series(snap["records"], "step", {"loss": t("ddpm.train.series")}, y="loss", **titles)


def settings_ui(classes) -> tuple:
    """Class, guidance and (outside presenter mode) scheduler, steps and seed."""
    c1, c2, c3, c4, c5 = st.columns([1, 1]) + [None] * 3 if presenter() else st.columns([3, 3, 2, 2, 2])
    names = [str(c) if classes[c] == str(c) else f"{c} · {classes[c]}" for c in range(10)]
    c1.selectbox(t("ddpm.label"), range(10), key="ddpm.label", format_func=names.__getitem__)
    c2.slider(t("ddpm.guidance"), 0.0, 10.0, step=0.5, key="ddpm.guidance", help=t("ddpm.guidance.help"))
    if not presenter():
        names, help_ = ddpm.SCHEDULER_NAMES, t("ddpm.scheduler.help")
        c3.selectbox(t("ddpm.scheduler"), names, key="ddpm.scheduler", format_func=str.upper, help=help_)
        c4.number_input(t("ddpm.steps"), 1, 200, key="ddpm.steps")
        c5.number_input(t("ddpm.seed"), 0, 2**31 - 1, key="ddpm.seed")
    return s.label, s.steps, s.scheduler, float(s.guidance), s.seed


@st.fragment
def trace_ui(out: ddpm.SampleResult, key: str) -> None:
    """The step scrubber: x_t and the three x̂₀ predictions at the chosen step, and the start and result."""
    n = len(out.timesteps)
    if st.session_state.get(f"{key}.of") != out.settings:  # a new run: show its last step
        st.session_state[f"{key}.of"], st.session_state[key] = out.settings, n
    k = st.slider(t("ddpm.scrub"), 1, n, key=key, help=t("ddpm.scrub.help")) if n > 1 else 1
    i = k - 1
    shown = ddpm.pictures([out.start, out.xt[i], out.x0[i], out.x0_cond[i], out.x0_uncond[i]])
    captions = [t("ddpm.start", t=out.timesteps[0]), t("ddpm.xt", k=k) + f" (t = {out.timesteps[i]})"]
    captions += [t(f"ddpm.{name}") for name in ("x0", "x0.cond", "x0.uncond")]
    charts.image_row(shown, captions, per_row=5, factor=7 if presenter() else 5)
    if not presenter():  # on a projector: one row of pictures, the scrubber's
        st.caption(t("ddpm.x0.explain"))
        st.caption(t("ddpm.trace"))
        img2img.trace_row(ddpm.pictures(out.x0, 1), out.timesteps, factor=3)


# --- the page ------------------------------------------------------------------------------------
jobs.harvest(JOB, finished)
st.title(t("nav.diffusion"))
st.markdown(t("ddpm.intro"))
if not presenter():  # required: a click on the chosen dataset keeps it
    kw = {"format_func": labeller("ddpm.dataset."), "required": True}
    st.segmented_control(t("ddpm.dataset"), core_data.NAMES, key="ddpm.dataset", **kw)
dataset, path = s.dataset, ddpm.checkpoint_path(s.dataset)
found = cached.session_or_disk("ddpm.trained", (dataset,), path, cached.ddpm_checkpoint)
if found is None:
    st.info(t("ddpm.none", dataset=t(f"ddpm.dataset.{dataset}"), minutes=ddpm.CPU_MINUTES))
with jobs.train_expander(JOB, "ddpm", found is not None), explained_errors():  # folded once a model is there
    jobs.live_panel(JOB, draw_training, show=False)  # on top: Stop and the curve in sight while it trains
    train_ui()
if found is not None:
    unet, meta, origin = found
    model_key = f"{origin}:{dataset}:{id(unet)}"
    steps_done, loss = meta.get("steps_done", 0), meta.get("final_loss", float("nan"))
    st.caption(t(f"ddpm.model.{origin}", steps=steps_done, params=ddpm.count_parameters(unet), loss=loss))
    ds = core_data.load(dataset)
    label, steps, scheduler, guidance, seed = settings_ui(ds.classes)
    args = unet, model_key, label, steps, scheduler, guidance, seed  # what every sample here shares
    device = current_device()
    tab_sample, tab_img2img, tab_sheet = st.tabs([t(f"ddpm.tab.{k}") for k in ("sample", "img2img", "sheet")])
    with tab_sample, explained_errors():  # 1. from pure noise: every step runs
        out = run_job(lambda: run_sample(*args, None, 1.0), device)
        if out is not None:
            first, last = out.timesteps[0], out.timesteps[-1]
            st.caption(t("ddpm.ran", n=len(out.timesteps), first=first, last=last, seconds=out.seconds))
            trace_ui(out, "ddpm.k_sample")
    with tab_img2img, explained_errors():  # 2. img2img: strength picks the first timestep
        left, right = st.columns([1, 2])
        with left:  # the shared digit picker; None while the canvas is empty
            picked = digit_input("ddpm.", ds, DIGIT_SOURCES, side=196 if presenter() else 168)
        init = None if picked is None else torch.from_numpy(picked[0].image)  # uint8 (28, 28)
        with right:
            help_ = t("ddpm.strength.help")
            st.slider(t("ddpm.strength"), 0.0, 1.0, step=0.05, key="ddpm.strength", help=help_)
            strength = float(s.strength)
            plan = ddpm.step_plan(steps, strength, scheduler)  # raises the sentence for strength 0
            img2img.strength_ui("ddpm.arith.text", plan)
            drawing = None if init is None else init.numpy().tobytes()
            out = None if init is None else run_job(lambda: run_sample(*args, drawing, strength), device)
        if out is not None:
            trace_ui(out, "ddpm.k_img2img")
            shown, made = (Image.fromarray(p) for p in ddpm.pictures([init.float() / 255, out.images[0]], 1))
            img2img.result_ui("ddpm", shown, made, out.settings, "mnist_img2img.png", width=168)
            if not presenter():
                img2img.schedule_ui(plan)
    with tab_sheet, explained_errors():  # 3. strength × guidance, one seed, the same drawing

        def run(rows, cols, steps, report, should_stop):  # in the background job: the one core call
            cells = ddpm.contact_sheet(
                unet, init, label, rows, cols, steps, "ddpm", seed, report, should_stop
            )
            return None if cells is None else [ddpm.pictures(row, 4) for row in cells]

        img2img.sheet_ui("ddpm", ddpm.SHEET, run, ready=init is not None, min_cols=8)
    if not presenter():  # the network behind the pictures, folded (the UNet inspector's table)
        mnist_unet_ui("ddpm.unet.title", "pages/unet_inspector.py", unet, model_key)
show_source(ddpm.sample, ddpm.guided_noise, ddpm.train, ddpm.build_unet)
jobs.watch_all()  # last: the live view of the training or contact-sheet job, while it runs
