"""MNIST CNN trainer: pick a course model, train it live, compare runs, see its mistakes, draw a digit."""

from contextlib import suppress
from functools import partial
from itertools import count
from typing import Any

import pandas as pd
import streamlit as st

from core import data as core_data
from core import train
from core.digits import preprocess
from core.errors import UserError
from core.images import zoom
from core.limits import LIMITS
from core.models import MODEL_NAMES, model_options
from ui import charts, jobs, weights
from ui.digit_input import digit_input, prediction_ui
from ui.i18n import labeller, t
from ui.keep import keep_trainer_runs
from ui.shell import current_device, explained_errors, presenter, seed, show_source, side_by_side
from ui.state import url_state

JOB, SUBSETS, NUMBER = "train.job", train.subset_choices(), lambda v: f"{v:g}"
s = url_state(  # each URL key once, with the choices a link may ask for
    "train.",
    arch=("two_layer_cnn", MODEL_NAMES),
    optimizer=("adam", train.OPTIMIZERS),
    lr=(3e-3, train.LRS),
    batch=(128, train.BATCH_SIZES),
    epochs=(1, range(1, LIMITS.max_epochs + 1)),
    subset=(SUBSETS[-1], SUBSETS),
    schedule=("onecycle", train.SCHEDULES),
    wd=(0.0, train.WEIGHT_DECAYS),
    same_init=True,
)
model_defaults = train.option_defaults(s.arch)  # dropout 0.3 for the homework's CNN, ...
url_state("train.", dropout=model_defaults["dropout"], bn=model_defaults["batch_norm"])
st.session_state.setdefault("train.runs", [])  # the runs (train.Run) of this session, oldest first
ids = st.session_state.setdefault("train.ids", count(1))  # run numbers: they keep counting after Clear
mnist = partial(core_data.load, "mnist")  # once per process, shared by every session
layer_table = st.cache_data(train.layer_table, show_spinner=False)  # one build per model and options


def keep(run: train.Run) -> jobs.Said:
    """A trained or loaded run joins the table (the oldest leaves), is inspected, and is shared with the
    feature maps -> its sentence (accuracy, epochs, time, images/s, device; or the loaded model)."""
    s.runs, s.inspect = train.keep_run(s.runs, run), run.id  # before the selectbox exists: top or a callback
    s.draw_run = train.digit_reader(s.runs, run, st.session_state.get("train.draw_run"))
    s.model, s.model_meta = run.model, run.meta  # read by the feature-map viewer
    key = "uploaded" if run.history is None else "stopped" if run.stopped else "done"
    return ("warning" if run.stopped else "success"), f"train.{key}", run.summary


def reset() -> None:
    """A new model starts from its own defaults (e.g. dropout 0.3 for the homework's CNN)."""
    defaults = train.option_defaults(s.arch)
    s.dropout, s.bn = defaults["dropout"], defaults["batch_norm"]


def run_config() -> tuple[train.TrainConfig, dict[str, Any]]:
    """The settings as they are now -> (the run's checked TrainConfig, the model's options); or UserError."""
    settings = {name: getattr(s, name) for name in [*train.PAGE_SETTINGS, "dropout", "bn"]}
    return train.page_run(settings, seed=seed(), device=current_device().type)


def settings_ui(busy: bool) -> bool:
    """The settings widgets -> whether they make a run (else one sentence says why)."""

    def w(widget: Any, key: str, *args: Any, **kw: Any) -> None:  # labelled t(key), frozen while a run trains
        widget(t(key), *args, key=key, disabled=busy, **kw)

    st.subheader(t("train.settings"))
    w(st.selectbox, "train.arch", MODEL_NAMES, format_func=labeller("train.arch."), on_change=reset)
    c1, c2 = st.columns(2)
    w(c1.selectbox, "train.optimizer", train.OPTIMIZERS, format_func=labeller("train.opt."))
    w(c2.select_slider, "train.lr", train.LRS, format_func=NUMBER)
    w(c1.select_slider, "train.batch", train.BATCH_SIZES)
    w(c2.number_input, "train.epochs", min_value=0, step=1, help=t("train.epochs.help"))
    if not presenter():
        w(c1.select_slider, "train.subset", SUBSETS, format_func="{:,}".format)
        w(c2.selectbox, "train.schedule", train.SCHEDULES, format_func=labeller("train.sched."))
        if "dropout" in model_options(s.arch):
            w(c1.slider, "train.dropout", 0.0, 0.8, step=0.05)
        w(c2.select_slider, "train.wd", train.WEIGHT_DECAYS, format_func=NUMBER)
        if "batch_norm" in model_options(s.arch):
            w(st.checkbox, "train.bn")
        w(st.checkbox, "train.same_init", help=t("train.same_init.help"))
    with explained_errors():  # e.g. 0 epochs typed: one sentence, and Train waits for a valid number
        run_config()  # UserError for a mistake
        return True
    return False


def curves_ui(runs: list[train.Run], *live: tuple[str, list[dict]]) -> None:
    """Loss and accuracy per epoch (runs, a `live` one): a colour per run, dash and shape: train vs test."""
    df = pd.DataFrame(train.curve_points([*((r.label, r.history.steps) for r in runs if r.history), *live]))
    if df.empty:
        return
    df["split"] = df.split.map(labeller("train.series."))
    acc, kw = df[df.metric == "acc"], {"x": "epoch", "y": "value", "color": "run", "dash": "split"}
    kw.update(x_title=t("train.axis.epoch"), color_title=t("train.col.run"))
    left, right = side_by_side(2)  # stacked on a projector: room for the legends
    with left:
        charts.curves(df[df.metric == "loss"], log_y=True, y_title=t("train.axis.loss"), **kw)
    with right:
        charts.curves(acc, y_domain=(train.acc_floor(acc.value), 1.0), y_title=t("train.axis.acc"), **kw)


def draw_live(snap: dict) -> None:
    """One frame of the live view: the progress line and the curves so far (previous runs too)."""
    label, epochs = s.live  # the running run's name and epochs
    jobs.progress_line("train.progress", epochs=epochs)(snap)
    curves_ui(s.runs, (label, snap["records"]))


def work() -> jobs.Work | None:
    """Train's click, with the settings as they are now (a number typed just before the click arrives with
    it): the next run's name for the live view and its core call; None for a mistake (the page says it)."""
    with suppress(UserError):  # e.g. 0 epochs: nothing starts (settings_ui says why)
        (config, options), run_id = run_config(), next(ids)
        s.live = (train.run_label(run_id, config), config.epochs)
        return partial(train.train_run, run_id, mnist(), config, options, bool(s.same_init))
    return None


def runs_ui(runs: list[train.Run], busy: bool) -> None:
    """The table of runs, and Clear."""
    st.subheader(t("train.runs"))
    names = {"model": "train.arch.", "optimizer": "train.opt."}  # cells named by i18n key
    charts.table([train.run_row(r) for r in runs], "train.col.", names)
    st.button(t("train.clear"), disabled=busy, on_click=setattr, args=(s, "runs", []))


def run_picker(key: str, label: str, runs: list[train.Run], with_acc: bool = False) -> train.Run:
    """A selectbox over the runs (the newest when the kept choice has left) -> the chosen run."""
    st.session_state[key] = train.find_run(runs, st.session_state.get(key)).id
    names = {r.id: f"{r.label} · {r.test_acc:.1%}" if with_acc else r.label for r in runs}
    return train.find_run(runs, st.selectbox(label, list(names), key=key, format_func=names.get))


def diagnostics_ui(runs: list[train.Run]) -> None:
    """Confusion matrix (click a cell: its images), accuracy per digit, the most confident mistakes."""
    st.subheader(t("train.diagnostics"))
    run = run_picker("train.inspect", t("train.inspect"), runs)
    d, digits = train.diagnose(run.probs, mnist().test_y), [str(i) for i in range(10)]
    c1, c2 = st.columns(2)
    c1.markdown(f"**{t('train.confusion')}**")
    with c1:
        kw = {"row_title": t("train.axis.true"), "col_title": t("train.axis.pred"), "fmt": "d", "log": True}
        cell = charts.heatmap(d.matrix.numpy(), digits, digits, height=360, select="train.cm", **kw)
    c1.caption(t("train.cell.hint"))
    c2.markdown(f"**{t('train.per_class')}**")
    with c2:
        per = pd.DataFrame({"digit": range(10), "acc": d.per_class.tolist()})
        titles = {"x_title": t("train.axis.digit"), "y_title": t("train.axis.acc")}
        charts.bars(per, "digit", "acc", percent=True, y_domain=(d.floor, 1.0), height=360, **titles)
    title = t("train.cell", true=cell[0], pred=cell[1], n=int(d.matrix[cell])) if cell else t("train.gallery")
    st.markdown(f"**{title}**")
    shown = train.gallery(run.probs, mnist(), cell, k=8 if presenter() else 16)  # each with its image
    if not shown:
        st.info(t("train.gallery.none"))
    captions = [t("train.gallery.caption", **e) for e in shown]
    charts.image_row([e["image"] for e in shown], captions, per_row=4 if presenter() else 8, factor=3)


def draw_ui() -> None:
    """Draw a digit: every preprocessing step, then the chosen run's probabilities (a fragment when idle)."""
    st.subheader(t("train.draw"))
    c1, c2 = st.columns([2, 3] if presenter() else [1, 2], gap="large")  # the 280 px canvas is never cut
    with c1:
        drawn = digit_input("train.", mnist(), ["draw"])  # the pages' shared canvas; None while it is blank
    steps = drawn[0].steps if drawn else None
    with c2:
        run = run_picker("train.draw_run", t("train.draw.run"), s.runs, with_acc=True) if s.runs else None
        if steps is not None:
            images = (steps.ink, steps.square, zoom(steps.scaled, 6), zoom(steps.digit, 4))
            captions = [t(f"train.step.{k}") for k in ("ink", "crop", "scaled", "centred")]
            charts.image_row(images, captions, per_row=4, factor=1)  # each picture fits its column
            st.caption(t("train.step.normalized", lo=steps.normalized.min(), hi=steps.normalized.max()))
        if run is None:
            st.info(t("train.draw.need_model"))
        elif steps is not None:
            prediction_ui(train.predict_proba(run.model, steps.digit)[0], mnist(), height=220, big=True)
            st.caption(t("train.draw.used", run=run.label, acc=run.test_acc))


def summary_ui(arch: str) -> None:
    """The chosen model's layers and parameter count (before training), and the first training image."""
    with explained_errors():
        rows, n_params = layer_table(arch, train.options_for(arch, s.dropout, s.bn))
        st.subheader(t("train.summary"))
        st.markdown(f"**{t('train.params', n=n_params)}**")
        charts.table(rows, "train.col.", height=min(36 * (len(rows) + 1) + 4, 560 if presenter() else 420))
    if not presenter():
        label = int(mnist().train_y[0])
        st.image(zoom(mnist().train_x[0].numpy(), 4), caption=t("train.first_image", label=label), width=112)


# The page: settings, live curves, runs, diagnostics, weights, drawing.
jobs.harvest(JOB, lambda job: keep(job.result))  # a finished run: kept, and its sentence
busy = jobs.busy()
st.title(t("nav.trainer"))
st.caption(t("train.intro"))
left, right = st.columns([2, 3], gap="large")
with left:
    ok = settings_ui(busy)
    jobs.start_button(JOB, t("train.start"), work, disabled=not ok, key="train.start_btn", width="stretch")
with right:
    summary_ui(s.arch)
st.subheader(t("train.curves"))
jobs.live_panel(JOB, draw_live)  # progress and Stop while a run trains, then "Done …"
if not busy:
    curves_ui(s.runs)
    if not s.runs:
        st.info(t("train.runs.empty"))
fragment = (lambda f: f) if busy else st.fragment  # a fragment rerun would stop the live view's loop
if s.runs:
    runs_ui(s.runs, busy)
    fragment(diagnostics_ui)(s.runs)
inspected = train.find_run(s.runs, st.session_state.get("train.inspect"))
saved = (train.run_checkpoint(inspected), f"{inspected.config.model}.safetensors") if inspected else None
load = lambda blob: keep(train.load_run(next(ids), blob, mnist()))  # refuses pickles and foreign weights
weights.expander("train", saved, load, types=["safetensors", "pt", "pth", "bin"])  # .pt: refused, with why
if s.runs and not busy:
    keep_trainer_runs(s.runs, st.session_state.get("train.inspect"), mnist().test_y)  # TensorBoard, notebook
fragment(draw_ui)()
show_source(train.model_class(s.arch), train.fit, train.train_run, preprocess)
jobs.watch_all()  # last: everything above is drawn and clickable while a run trains
