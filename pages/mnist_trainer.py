"""MNIST CNN trainer: pick a course model, train it live, compare runs, see its mistakes, draw a digit.

Longer than 250 lines because it holds five views, each one `*_ui()` function over one core call:
settings (`train.cadence`), live curves (`train.train_run` as a `ui/jobs` job), the run table,
the error drill-down (`train.confusion_matrix`, `train.cell_examples`) and the drawing canvas.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from core import data as core_data
from core import train
from core.checkpoint import load_checkpoint, save_checkpoint
from core.digits import preprocess
from core.errors import UserError
from core.images import zoom
from core.limits import LIMITS
from core.models import MODEL_NAMES, build_model, count_parameters, model_options, summarize
from ui import charts, jobs
from ui.canvas import draw_digit_steps
from ui.i18n import current_lang, labeller, t
from ui.shell import chart_height, current_device, explained_errors, presenter, seed, show_error, show_source
from ui.state import sync_url, url_default

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
BATCHES = [16, 32, 64, 128, 256, 512]
SUBSETS = [n for n in (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000) if n <= LIMITS.max_train_subset]
WEIGHT_DECAYS = [0.0, 1e-4, 5e-4, 1e-3, 1e-2]
MAX_RUNS = 4
JOB = "train.job"
NUMBER = lambda v: f"{v:g}"  # noqa: E731

# 1. State: each URL key once. Runs (train.Run) and the shared model live in session state.
url_default("train.arch", "two_layer_cnn", choices=list(MODEL_NAMES))
url_default("train.optimizer", "adam", choices=list(train.OPTIMIZERS))
url_default("train.lr", 3e-3, choices=LRS)
url_default("train.batch", 128, choices=BATCHES)
url_default("train.epochs", 1, choices=list(range(1, LIMITS.max_epochs + 1)))
url_default("train.subset", SUBSETS[-1], choices=SUBSETS)
url_default("train.schedule", "onecycle", choices=list(train.SCHEDULES))
url_default("train.wd", 0.0, choices=WEIGHT_DECAYS)
_defaults = model_options(st.session_state["train.arch"])
url_default("train.dropout", float(_defaults.get("dropout", 0.0)))
url_default("train.bn", bool(_defaults.get("batch_norm", False)))
url_default("train.same_init", True)


def mnist() -> core_data.Dataset:
    return core_data.load("mnist")  # once per process, shared by every session


@st.cache_data(show_spinner=False)
def summary_table(arch: str, options: tuple, language: str) -> tuple[pd.DataFrame, int]:
    """The layer table; the language is part of the cache key, so each language gets its own headers."""
    model = build_model(arch, **dict(options))
    df = pd.DataFrame(summarize(model, (1, 28, 28)))
    df["output_shape"] = df.output_shape.map(lambda shape: "×".join(map(str, shape)))
    names = {"layer": "layer", "type": "type", "output_shape": "shape", "params": "params"}
    return df.rename(columns={k: t(f"train.col.{v}", language) for k, v in names.items()}), count_parameters(
        model
    )


def keep(run: train.Run) -> None:
    """A new run joins the table (the oldest leaves), is inspected, and is shared with the feature maps."""
    runs = st.session_state.setdefault("train.runs", [])
    runs.append(run)
    del runs[:-MAX_RUNS]
    st.session_state["train.inspect"] = run.id  # before the selectbox exists: top of the page or a callback
    if not run.stopped or st.session_state.get("train.draw_run") not in [r.id for r in runs]:
        st.session_state["train.draw_run"] = run.id  # a stopped run reads digits only when picked
    st.session_state["train.model"] = run.model  # read by the feature-map viewer
    st.session_state["train.model_meta"] = {
        "name": run.config.model,
        "options": run.options,
        "test_acc": run.test_acc,
    }


def harvest() -> None:
    """Top of the page: a finished training job becomes a run, and its outcome sentence is kept."""
    job = jobs.harvest(JOB)
    if job is None or job.result is None:
        return
    run, h = job.result, job.result.history
    keep(run)
    if run.stopped:
        jobs.outcome(JOB, "warning", "train.stopped", epoch=h.steps[-1]["epoch"], acc=run.test_acc)
    else:
        ips, device = h.images_per_second, h.device.upper()
        jobs.outcome(JOB, "success", "train.done", acc=run.test_acc, time=h.elapsed, ips=ips, device=device)


def load_upload() -> None:
    """The uploader's callback: it runs before the page, so the loaded run can be selected everywhere."""
    upload, st.session_state["train.upload_error"] = st.session_state.get("train.upload"), None
    if upload is None:
        return
    try:
        model, meta = load_checkpoint(upload.getvalue())
    except UserError as err:
        st.session_state["train.upload_error"] = err
        return
    config = train.config_from_dict(meta.get("config") or {"model": meta["model"]})
    run = train.score_run(next_id(), model, mnist(), config, meta.get("options", {}))
    keep(run)
    jobs.outcome("train.upload", "success", "train.uploaded", model=meta["model"], acc=run.test_acc)


def next_id() -> int:
    st.session_state["train.counter"] = st.session_state.get("train.counter", 0) + 1
    return st.session_state["train.counter"]


def reset() -> None:
    """A new model starts from its own defaults (e.g. dropout 0.3 for the homework's CNN)."""
    opts = model_options(st.session_state["train.arch"])
    st.session_state["train.dropout"] = float(opts.get("dropout", 0.0))
    st.session_state["train.bn"] = bool(opts.get("batch_norm", False))


def settings_ui(busy: bool) -> tuple[train.TrainConfig, dict[str, Any]]:
    """The settings widgets -> (the run's TrainConfig with the page's cadence, the model's options)."""
    s, w, name = st.session_state, {"disabled": busy}, labeller
    st.subheader(t("train.settings"))
    st.selectbox(
        t("train.arch"), MODEL_NAMES, key="train.arch", format_func=name("train.arch."), on_change=reset, **w
    )
    opts = model_options(s["train.arch"])
    c1, c2 = st.columns(2)
    c1.selectbox(
        t("train.optimizer"), train.OPTIMIZERS, key="train.optimizer", format_func=name("train.opt."), **w
    )
    c2.select_slider(t("train.lr"), LRS, key="train.lr", format_func=NUMBER, **w)
    c1.select_slider(t("train.batch"), BATCHES, key="train.batch", **w)
    c2.number_input(
        t("train.epochs"), min_value=0, step=1, key="train.epochs", help=t("train.epochs.help"), **w
    )
    if not presenter():
        c1.select_slider(t("train.subset"), SUBSETS, key="train.subset", format_func="{:,}".format, **w)
        c2.selectbox(
            t("train.schedule"), train.SCHEDULES, key="train.schedule", format_func=name("train.sched."), **w
        )
        if "dropout" in opts:
            c1.slider(t("train.dropout"), 0.0, 0.8, step=0.05, key="train.dropout", **w)
        c2.select_slider(t("train.weight_decay"), WEIGHT_DECAYS, key="train.wd", format_func=NUMBER, **w)
        if "batch_norm" in opts:
            st.checkbox(t("train.bn"), key="train.bn", **w)
        st.checkbox(t("train.same_init"), key="train.same_init", help=t("train.same_init.help"), **w)
    options = {"dropout": float(s["train.dropout"]), "batch_norm": bool(s["train.bn"])}
    config = train.TrainConfig(
        s["train.arch"], s["train.optimizer"], float(s["train.lr"]), weight_decay=float(s["train.wd"]),
        batch_size=int(s["train.batch"]), epochs=int(s["train.epochs"]), train_subset=int(s["train.subset"]),
        schedule=s["train.schedule"], seed=seed(), device=current_device().type,
    )  # fmt: skip
    return train.cadence(config), {k: v for k, v in options.items() if k in opts}


def curves_ui(runs: list[tuple[str, list[dict]]]) -> None:
    """Loss and accuracy over epochs: one colour per run, dash and point shape for train vs test."""
    df = pd.DataFrame(train.curve_points(runs))
    if df.empty:
        return
    df["split"] = df.split.map({s: t(f"train.series.{s}") for s in ("train", "test")})
    acc, common = df[df.metric == "acc"], {"x": "epoch", "y": "value", "color": "run", "dash": "split"}
    common.update(x_title=t("train.axis.epoch"), color_title=t("train.col.run"))
    left, right = (st.container(), st.container()) if presenter() else st.columns(2)  # room for the legends
    with left:
        charts.curves(df[df.metric == "loss"], log_y=True, y_title=t("train.axis.loss"), **common)
    with right:
        lo = max(0.0, float(acc.value.min()) - 0.02)
        charts.curves(acc, y_domain=(lo, 1.0), y_title=t("train.axis.acc"), **common)


def draw_live(snap: dict) -> None:
    """One frame of the live view: the progress line and the curves so far (previous runs too)."""
    label, epochs = st.session_state["train.live"]  # the running run's name and epochs
    last = snap["records"][-1]
    done = {"epoch": last["epoch"], "epochs": epochs, "images": int(last["images"])}
    jobs.progress_bar(snap, t("train.progress", elapsed=snap["elapsed"], eta=snap["eta"] or 0.0, **done))
    runs = [(r.label, r.history.steps) for r in st.session_state.get("train.runs", []) if r.history]
    curves_ui([*runs, (label, snap["records"])])


def start(config: train.TrainConfig, options: dict[str, Any]) -> None:
    run_id, same, data = next_id(), bool(st.session_state["train.same_init"]), mnist()
    st.session_state["train.live"] = (train.run_label(run_id, config), config.epochs)
    jobs.start(JOB, partial(train.train_run, run_id, data, config, options, same), current_device())


def runs_table(runs: list[train.Run]) -> None:
    rows = [
        (f"#{r.id}", t(f"train.arch.{r.config.model}"), t(f"train.opt.{r.config.optimizer}"), r.config.lr,
         r.config.batch_size, r.config.epochs, r.history.images if r.history else "—", f"{r.test_acc:.2%}",
         round(r.history.elapsed, 1) if r.history else "—")
        for r in runs
    ]  # fmt: skip
    keys = ("run", "model", "optimizer", "lr", "batch", "epochs", "images", "test_acc", "time")
    st.dataframe(
        pd.DataFrame(rows, columns=[t(f"train.col.{k}") for k in keys]), hide_index=True, width="stretch"
    )


def selected_cell(event: Any) -> tuple[int, int] | None:
    """(true, predicted) of the confusion-matrix cell clicked in an `st.altair_chart` event, else None."""
    points = ((event or {}).get("selection") or {}).get("cell") or []
    return (int(points[0]["true"]), int(points[0]["pred"])) if points else None


def diagnostics_ui(runs: list[train.Run]) -> None:
    """Confusion matrix (click a cell: its images), accuracy per digit, the most confident mistakes."""
    st.subheader(t("train.diagnostics"))
    ids = [r.id for r in runs]
    if st.session_state.get("train.inspect") not in ids:
        st.session_state["train.inspect"] = ids[-1]
    labels = {r.id: r.label for r in runs}
    st.selectbox(t("train.inspect"), ids, key="train.inspect", format_func=labels.get)
    run, y = next(r for r in runs if r.id == st.session_state["train.inspect"]), mnist().test_y
    matrix = train.confusion_matrix(y, run.probs.argmax(1))
    cm = pd.DataFrame(
        [(i, j, int(matrix[i, j])) for i in range(10) for j in range(10)], columns=["true", "pred", "n"]
    )
    pick = alt.selection_point(name="cell", fields=["true", "pred"])
    base = alt.Chart(cm).encode(
        x=alt.X("pred:O", title=t("train.axis.pred"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", title=t("train.axis.true")),
    )
    heat = base.mark_rect(cursor="pointer").encode(
        color=alt.Color("n:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)), tooltip=["true", "pred", "n"],
    ).add_params(pick)  # fmt: skip
    text = base.mark_text(fontSize=17 if presenter() else 12).encode(
        text="n:Q", color=alt.condition(alt.datum.n > 300, alt.value("white"), alt.value("black"))
    )
    per = pd.DataFrame({"digit": range(10), "acc": train.per_class_accuracy(matrix).tolist()})
    worst = float(per.acc.min())  # a good model zooms in (the bars start at the axis's bottom, never below)
    lo = 0.0 if worst < 0.9 else (int(worst * 100) - 1) / 100
    y_acc = alt.Y(
        "acc:Q", title=t("train.axis.acc"), scale=alt.Scale(domain=[lo, 1]), axis=alt.Axis(format=".1%")
    )
    bars = alt.Chart(per).mark_bar(color=charts.PALETTE[0]).encode(
        x=alt.X("digit:O", title=t("train.axis.digit"), axis=alt.Axis(labelAngle=0)),
        y=y_acc, y2=alt.datum(lo), tooltip=["digit", alt.Tooltip("acc:Q", format=".2%")],
    )  # fmt: skip
    c1, c2 = st.columns(2)
    c1.markdown(f"**{t('train.confusion')}**")
    event = c1.altair_chart(
        charts._style((heat + text).properties(height=chart_height(360))),
        width="stretch",
        on_select="rerun",
        key="train.cm",
    )
    c1.caption(t("train.cell.hint"))
    c2.markdown(f"**{t('train.per_class')}**")
    with c2:
        charts.show(bars, 360)
    cell = selected_cell(event)
    k = 8 if presenter() else 16
    if cell is not None:
        st.markdown(f"**{t('train.cell', true=cell[0], pred=cell[1], n=int(matrix[cell]))}**")
        shown = train.cell_examples(run.probs, y, *cell, k=k)
    else:
        st.markdown(f"**{t('train.gallery')}**")
        shown = [w["index"] for w in train.misclassified(run.probs, y, k=k)]
    if not shown:
        st.info(t("train.gallery.none"))
    p = run.probs[shown]  # (k, 10): each caption gives the predicted digit's and the true digit's probability
    captions = [
        t(
            "train.gallery.caption",
            true=int(y[i]),
            pred=int(q.argmax()),
            conf=float(q.max()),
            p_true=float(q[y[i]]),
        )
        for i, q in zip(shown, p, strict=True)
    ]
    charts.image_row(
        [mnist().test_x[i].numpy() for i in shown], captions, per_row=4 if presenter() else 8, factor=3
    )


def weights_ui(runs: list[train.Run]) -> None:
    """Download the inspected run's weights; load weights (handled in the uploader's callback)."""
    with st.expander(t("train.weights"), expanded=False):
        run = next((r for r in runs if r.id == st.session_state.get("train.inspect")), None)
        if run is not None:
            blob = save_checkpoint(run.model, {"test_acc": run.test_acc, "config": asdict(run.config)})
            st.download_button(
                t("train.download"), blob, file_name=f"{run.config.model}.safetensors", key="train.download"
            )
        kinds = ["safetensors", "pt", "pth", "bin"]  # .pt is accepted here only to be refused with a reason
        st.file_uploader(
            t("train.upload"), kinds, help=t("train.upload.help"), key="train.upload", on_change=load_upload
        )
        if st.session_state.get("train.upload_error") is not None:
            show_error(st.session_state["train.upload_error"])
        jobs.show_outcome("train.upload")


def draw_ui() -> None:
    """Draw a digit: every preprocessing step, then the chosen run's probabilities (a fragment when idle)."""
    runs = st.session_state.get("train.runs", [])
    st.subheader(t("train.draw"))
    c1, c2 = st.columns([2, 3] if presenter() else [1, 2], gap="large")  # the 280 px canvas is never cut
    with c1:
        st.caption(t("train.draw.hint"))
        with explained_errors():
            steps = draw_digit_steps("train.canvas")
    with c2:
        if runs:
            if st.session_state.get("train.draw_run") not in [r.id for r in runs]:
                st.session_state["train.draw_run"] = runs[-1].id
            labels = {r.id: f"{r.label} · {r.test_acc:.1%}" for r in runs}
            st.selectbox(t("train.draw.run"), list(labels), key="train.draw_run", format_func=labels.get)
        if steps is None:
            if not runs:
                st.info(t("train.draw.need_model"))
            return
        images = (steps.ink, steps.square, zoom(steps.scaled, 6), zoom(steps.digit, 4))
        for col, img, key in zip(st.columns(4), images, ("ink", "crop", "scaled", "centred"), strict=True):
            col.image(img, caption=t(f"train.step.{key}"), width="stretch")  # each fits its column
        st.caption(
            t("train.step.normalized", lo=float(steps.normalized.min()), hi=float(steps.normalized.max()))
        )
        if not runs:
            st.info(t("train.draw.need_model"))
            return
        run = next(r for r in runs if r.id == st.session_state["train.draw_run"])
        probs = train.predict_proba(run.model, steps.digit)[0]
        best = int(probs.argmax())
        st.markdown(f"### {t('train.prediction', digit=best, p=float(probs[best]))}")
        st.caption(t("train.draw.used", run=run.label, acc=run.test_acc))
        frame = pd.DataFrame({"digit": range(10), "p": probs.tolist()})
        titles = {"x_title": t("train.axis.digit"), "y_title": t("train.axis.prob")}
        charts.bars(frame, "digit", "p", percent=True, highlight=best, y_domain=(0, 1), height=220, **titles)


# 2. The page: harvest a finished job, settings, live curves, runs, diagnostics, weights, drawing.
harvest()
busy = jobs.busy()
st.title(t("nav.trainer"))
st.caption(t("train.intro"))
left, right = st.columns([2, 3], gap="large")
with left:
    config, options = settings_ui(busy)
    valid = False
    with explained_errors():  # e.g. 0 epochs typed: one sentence, and Train waits for a valid number
        train.check_config(config)
        valid = True
    if st.button(
        t("train.start"), type="primary", disabled=busy or not valid, key="train.start_btn", width="stretch"
    ):
        start(config, options)
with right:
    with explained_errors():
        table, n_params = summary_table(config.model, tuple(sorted(options.items())), current_lang())
        st.subheader(t("train.summary"))
        st.markdown(f"**{t('train.params', n=n_params)}**")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=min(36 * (len(table) + 1) + 4, 560 if presenter() else 420),
        )
    if not presenter():
        st.image(
            zoom(mnist().train_x[0].numpy(), 4),
            caption=t("train.first_image", label=int(mnist().train_y[0])),
            width=112,
        )

st.subheader(t("train.curves"))
live = st.container()  # progress and Stop while a run trains
with st.container():  # one slot: the sentence stays until the next run, and the layout below never shifts
    jobs.show_outcome(JOB)
runs = st.session_state.get("train.runs", [])
busy = jobs.busy()
if not busy:
    curves_ui([(r.label, r.history.steps) for r in runs if r.history])
    if not runs:
        st.info(t("train.runs.empty"))
fragment = (lambda f: f) if busy else st.fragment  # a fragment rerun would stop the live view's loop
if runs:
    st.subheader(t("train.runs"))
    runs_table(runs)
    if st.button(t("train.clear"), disabled=busy):
        st.session_state["train.runs"] = []
        st.rerun()
    fragment(diagnostics_ui)(runs)
weights_ui(runs)
fragment(draw_ui)()
sync_url("train.")
show_source(type(build_model(st.session_state["train.arch"])), train.fit, train.train_run, preprocess)
jobs.watch(JOB, live, draw_live)  # last: everything above is drawn and clickable while a run trains
