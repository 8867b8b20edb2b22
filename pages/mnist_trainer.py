"""MNIST CNN trainer: pick a course model, train it live, compare runs, see its mistakes, draw a digit."""

from __future__ import annotations

import time
from dataclasses import asdict

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import data as core_data
from core.checkpoint import load_checkpoint, save_checkpoint
from core.digits import preprocess
from core.errors import UserError
from core.limits import LIMITS
from core.models import MODEL_NAMES, build_model, build_seeded, count_parameters, model_options, summarize
from core.train import (
    BackgroundRun,
    TrainConfig,
    check_config,
    confusion_matrix,
    fit,
    misclassified,
    per_class_accuracy,
    predict_proba,
)
from ui.canvas import draw_digit_steps
from ui.i18n import t
from ui.shell import (
    chart_height,
    current_device,
    explained_errors,
    lang,
    presenter,
    seed,
    show_error,
    show_source,
)
from ui.state import sync_url, url_default

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]
BATCHES = [16, 32, 64, 128, 256, 512]
SUBSETS = [n for n in (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000) if n <= LIMITS.max_train_subset]
WEIGHT_DECAYS = [0.0, 1e-4, 5e-4, 1e-3, 1e-2]
MAX_RUNS = 4
URL_KEYS = (
    "train.arch",
    "train.optimizer",
    "train.lr",
    "train.batch",
    "train.epochs",
    "train.subset",
    "train.schedule",
    "train.wd",
    "train.dropout",
    "train.bn",
    "train.same_init",
)


def mnist() -> core_data.Dataset:
    return core_data.load("mnist")  # once per process, shared by every session


def zoom(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement so that pixels stay visible as squares."""
    return np.kron(image, np.ones((factor, factor), dtype=image.dtype))


def reset_options() -> None:
    """A new model starts from its own defaults (e.g. dropout 0.3 for the homework's CNN)."""
    opts = model_options(st.session_state["train.arch"])
    st.session_state["train.dropout"] = float(opts.get("dropout", 0.0))
    st.session_state["train.bn"] = bool(opts.get("batch_norm", False))


def chosen_options() -> dict:
    opts = model_options(st.session_state["train.arch"])
    chosen = {}
    if "dropout" in opts:
        chosen["dropout"] = float(st.session_state["train.dropout"])
    if "batch_norm" in opts:
        chosen["batch_norm"] = bool(st.session_state["train.bn"])
    return chosen


def chosen_config() -> TrainConfig:
    s = st.session_state
    device = current_device()
    n, batch = int(s["train.subset"]), int(s["train.batch"])
    steps = max(1, n // batch) * int(s["train.epochs"])
    return TrainConfig(
        model=s["train.arch"],
        optimizer=s["train.optimizer"],
        lr=float(s["train.lr"]),
        weight_decay=float(s["train.wd"]),
        batch_size=batch,
        epochs=int(s["train.epochs"]),
        train_subset=n,
        schedule=s["train.schedule"],
        seed=seed(),
        device=device.type,
        log_every=max(1, min(20, steps // 100)),
        # test points for the live curve: a few per epoch, on a test subset that costs
        # a small fraction of the training (the final accuracy uses all 10,000)
        eval_every=max(1, steps // ((5 if n >= 10_000 else 2) * int(s["train.epochs"]))),
        eval_subset=10_000 if device.type == "cuda" else min(2_000, max(500, n // 10)),
    )


@st.cache_data(show_spinner=False)
def summary_table(arch: str, options: tuple, language: str) -> tuple[pd.DataFrame, int]:
    """The layer table; `language` is part of the cache key, so each language gets its own headers."""
    model = build_model(arch, **dict(options))
    rows = [
        {
            t("train.col.layer", language): r["layer"],
            t("train.col.type", language): r["type"],
            t("train.col.shape", language): "×".join(str(d) for d in r["output_shape"]),
            t("train.col.params", language): r["params"],
        }
        for r in summarize(model, (1, 28, 28))
    ]
    return pd.DataFrame(rows), count_parameters(model)


def session_alive():
    """A closure telling the training thread whether this browser session still exists."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        runtime, session_id = get_instance(), get_script_run_ctx().session_id
        return lambda: runtime.is_active_session(session_id)
    except Exception:  # AppTest and bare runs have no runtime: the tab cannot close
        return lambda: True


def start_run() -> None:
    config = chosen_config()
    check_config(config)  # a UserError is shown as a sentence, nothing starts
    options = chosen_options()
    st.session_state["train.counter"] = run_id = st.session_state.get("train.counter", 0) + 1
    init_seed = seed() if st.session_state["train.same_init"] else seed() + 1000 * run_id
    model = build_seeded(config.model, init_seed, **options)
    st.session_state["train.job"] = {
        "id": run_id,
        "options": options,
        "run": BackgroundRun(model, mnist(), config, alive=session_alive()).start(),
    }


def curve_frame(runs: list[tuple[str, list[dict]]]) -> pd.DataFrame:
    """Long table (run, epoch, metric, split, value) from step records."""
    rows = []
    for label, steps in runs:
        for r in steps:
            for metric, train_key, test_key in (("loss", "loss", "test_loss"), ("acc", "acc", "test_acc")):
                if train_key in r:
                    rows.append((label, r["epoch"], metric, t("train.series.train"), r[train_key]))
                if test_key in r:
                    rows.append((label, r["epoch"], metric, t("train.series.test"), r[test_key]))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])


def show_curves(runs: list[tuple[str, list[dict]]]) -> None:
    df = curve_frame(runs)
    if df.empty:
        return
    cols = st.columns(2)
    for col, metric, title in (
        (cols[0], "loss", t("train.axis.loss")),
        (cols[1], "acc", t("train.axis.acc")),
    ):
        part = df[df.metric == metric]
        y = alt.Y(
            "value:Q",
            title=title,
            scale=alt.Scale(type="log")
            if metric == "loss"
            else alt.Scale(domain=[max(0.0, float(part.value.min()) - 0.02), 1.0]),
        )
        chart = (
            alt.Chart(part)
            .mark_line(point=alt.OverlayMarkDef(size=20), strokeWidth=2.5)
            .encode(
                x=alt.X("epoch:Q", title=t("train.axis.epoch")),
                y=y,
                color=alt.Color(
                    "run:N", title=t("train.col.run"), legend=alt.Legend(orient="bottom", columns=1)
                ),
                strokeDash=alt.StrokeDash("split:N", title=None),
                tooltip=[
                    "run",
                    "split",
                    alt.Tooltip("epoch:Q", format=".2f"),
                    alt.Tooltip("value:Q", format=".4f"),
                ],
            )
            .properties(height=chart_height(300))
        )
        col.altair_chart(chart, width="stretch")


def harvest(job: dict) -> None:
    """A finished background run becomes a row of the run table, and the session's shared model."""
    run: BackgroundRun = job["run"]
    if run.status == "failed":
        st.session_state["train.message"] = ("error", run.error)
        return
    if run.status == "cancelled" or run.history is None or not run.history.steps:
        st.session_state["train.message"] = ("info", t("common.cancelled"))
        return
    add_run(job["id"], run.model, job["options"], run.history.config, run.history)
    h = run.history
    last = st.session_state["train.runs"][-1]
    st.session_state["train.message"] = (
        ("warning", t("train.stopped", epoch=h.steps[-1]["epoch"]))
        if h.stopped
        else (
            "success",
            t(
                "train.done",
                acc=last["test_acc"],
                time=h.elapsed,
                ips=h.images_per_second,
                device=h.device.upper(),
            ),
        )
    )


def add_run(run_id: int, model: torch.nn.Module, options: dict, config: dict, history) -> None:
    data = mnist()
    model = model.cpu().eval()
    probs = predict_proba(model, data.test_x)  # (10000, 10): the diagnostics below all come from it
    acc = float((probs.argmax(1) == data.test_y).float().mean())
    label = f"#{run_id} {config['model']} · {config['optimizer']} · lr {config['lr']:g}"
    runs = st.session_state.setdefault("train.runs", [])
    runs.append(
        {
            "id": run_id,
            "label": label,
            "model": model,
            "options": options,
            "config": config,
            "history": history,
            "probs": probs,
            "test_acc": acc,
        }
    )
    del runs[:-MAX_RUNS]
    st.session_state["train.inspect"] = run_id
    st.session_state["train.model"] = model  # shared with the feature-map viewer
    st.session_state["train.model_meta"] = {"name": config["model"], "options": options, "test_acc": acc}


def draw_live(job: dict) -> None:
    """One frame of the live view: queue place or progress bar with ETA, and the curves so far."""
    run: BackgroundRun = job["run"]
    snap = run.snapshot()
    if snap["status"] == "queued":
        st.info(t("train.queued", device=current_device().type.upper(), place=snap["queue_place"]))
        return
    if not snap["steps"]:
        st.progress(0.0, text=t("train.preparing"))
        return
    last = snap["steps"][-1]
    st.progress(
        min(1.0, snap["progress"]),
        text=t(
            "train.progress",
            epoch=last["epoch"],
            epochs=run.config.epochs,
            images=int(last["step"]) * run.config.batch_size,
            elapsed=snap["elapsed"],
            eta=snap["eta"] or 0.0,
        ),
    )
    previous = [
        (r["label"], r["history"].steps) for r in st.session_state.get("train.runs", []) if r["history"]
    ]
    show_curves(
        previous
        + [
            (
                f"#{job['id']} {run.config.model} · {run.config.optimizer} · lr {run.config.lr:g}",
                snap["steps"],
            )
        ]
    )


def watch(panel, job: dict) -> None:
    """Redraw the live view about twice a second until the run ends, then rerun to show the results.

    This runs at the end of the script, so the whole page is already drawn and usable: any click
    interrupts this loop, Streamlit reruns the page, and the loop resumes. (A `run_every` fragment
    would be the natural tool, but its timer reruns drop the sidebar's widget state:
    streamlit/streamlit#10805.)
    """
    run: BackgroundRun = job["run"]
    slot = panel.empty()
    while not run.finished:
        with slot.container():
            draw_live(job)
        time.sleep(0.5)
    st.rerun()


# --- the page -----------------------------------------------------------------------------------

LANG = lang()  # format_func runs later, outside this script run: bind the language now
st.title(t("nav.trainer"))
st.caption(t("train.intro"))

url_default("train.arch", "two_layer_cnn", choices=list(MODEL_NAMES))
url_default("train.optimizer", "adam", choices=["sgd", "sgd_momentum", "adam", "adamw"])
url_default("train.lr", 3e-3, choices=LRS)
url_default("train.batch", 128, choices=BATCHES)
url_default("train.epochs", 1, choices=list(range(1, LIMITS.max_epochs + 1)))
url_default("train.subset", SUBSETS[-1], choices=SUBSETS)
url_default("train.schedule", "onecycle", choices=["constant", "onecycle"])
url_default("train.wd", 0.0, choices=WEIGHT_DECAYS)
_defaults = model_options(st.session_state["train.arch"])
url_default("train.dropout", float(_defaults.get("dropout", 0.0)))
url_default("train.bn", bool(_defaults.get("batch_norm", False)))
url_default("train.same_init", True)

job = st.session_state.get("train.job")
if job is not None and job["run"].finished:
    harvest(job)
    del st.session_state["train.job"]
    job = None
busy = job is not None

left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader(t("train.settings"))
    st.selectbox(
        t("train.arch"),
        MODEL_NAMES,
        key="train.arch",
        format_func=lambda n: t(f"train.arch.{n}", LANG),
        on_change=reset_options,
        disabled=busy,
    )
    opts = model_options(st.session_state["train.arch"])
    c1, c2 = st.columns(2)
    c1.selectbox(
        t("train.optimizer"),
        ["sgd", "sgd_momentum", "adam", "adamw"],
        key="train.optimizer",
        format_func=lambda o: t(f"train.opt.{o}", LANG),
        disabled=busy,
    )
    c2.select_slider(t("train.lr"), LRS, key="train.lr", format_func=lambda v: f"{v:g}", disabled=busy)
    c1.select_slider(t("train.batch"), BATCHES, key="train.batch", disabled=busy)
    c2.number_input(t("train.epochs"), 1, LIMITS.max_epochs, step=1, key="train.epochs", disabled=busy)
    if not presenter():
        c1.select_slider(
            t("train.subset"), SUBSETS, key="train.subset", format_func=lambda v: f"{v:,}", disabled=busy
        )
        c2.selectbox(
            t("train.schedule"),
            ["onecycle", "constant"],
            key="train.schedule",
            format_func=lambda s: t(f"train.sched.{s}", LANG),
            disabled=busy,
        )
        if "dropout" in opts:
            c1.slider(t("train.dropout"), 0.0, 0.8, step=0.05, key="train.dropout", disabled=busy)
        c2.select_slider(
            t("train.weight_decay"),
            WEIGHT_DECAYS,
            key="train.wd",
            format_func=lambda v: f"{v:g}",
            disabled=busy,
        )
        if "batch_norm" in opts:
            st.checkbox(t("train.bn"), key="train.bn", disabled=busy)
        st.checkbox(
            t("train.same_init"), key="train.same_init", help=t("train.same_init.help"), disabled=busy
        )
    if st.button(t("train.start"), type="primary", disabled=busy, key="train.start_btn", width="stretch"):
        with explained_errors():
            start_run()
            busy = True

with right:
    with explained_errors():
        table, n_params = summary_table(
            st.session_state["train.arch"], tuple(sorted(chosen_options().items())), lang()
        )
        st.subheader(t("train.summary"))
        st.markdown(f"**{t('train.params', n=n_params)}**")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=min(36 * (len(table) + 1) + 4, 420 if not presenter() else 560),
        )
    if not presenter():
        data = mnist()
        st.image(
            zoom(data.train_x[0].numpy(), 4),
            caption=t("train.first_image", label=int(data.train_y[0])),
            width=112,
        )

message = st.session_state.pop("train.message", None)
if message is not None:
    kind, payload = message
    if kind == "error":
        show_error(payload) if isinstance(payload, UserError) else st.error(
            t("train.failed", msg=str(payload))
        )
    else:
        getattr(st, kind)(payload)

st.subheader(t("train.curves"))
live = st.container()
if busy:
    live.button(
        t("train.stop"),
        on_click=st.session_state["train.job"]["run"].stop,
        help=t("train.stop.help"),
        key="train.stop_btn",
        type="primary",
    )
runs = st.session_state.get("train.runs", [])
if not runs and not busy:
    st.info(t("train.runs.empty"))
if runs and not busy:
    show_curves([(r["label"], r["history"].steps) for r in runs if r["history"] is not None])

if runs:
    st.subheader(t("train.runs"))
    table = pd.DataFrame(
        [
            {
                t("train.col.run"): r["label"],
                t("train.col.model"): t(f"train.arch.{r['config']['model']}"),
                t("train.col.optimizer"): t(f"train.opt.{r['config']['optimizer']}"),
                t("train.col.lr"): r["config"]["lr"],
                t("train.col.batch"): r["config"]["batch_size"],
                t("train.col.epochs"): r["config"]["epochs"],
                t("train.col.images"): r["history"].images if r["history"] else None,
                t("train.col.test_acc"): f"{r['test_acc']:.2%}",
                t("train.col.time"): round(r["history"].elapsed, 1) if r["history"] else None,
            }
            for r in runs
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    if st.button(t("train.clear"), disabled=busy):
        st.session_state["train.runs"] = []
        st.rerun()

    # --- diagnostics of one run ---
    st.subheader(t("train.diagnostics"))
    ids = [r["id"] for r in runs]
    if st.session_state.get("train.inspect") not in ids:
        st.session_state["train.inspect"] = ids[-1]
    labels = {r["id"]: r["label"] for r in runs}
    st.selectbox(t("train.inspect"), ids, key="train.inspect", format_func=labels.get)
    chosen = next(r for r in runs if r["id"] == st.session_state["train.inspect"])
    data = mnist()
    predicted = chosen["probs"].argmax(1)
    matrix = confusion_matrix(data.test_y, predicted)
    cm = pd.DataFrame(
        [(i, j, int(matrix[i, j])) for i in range(10) for j in range(10)], columns=["true", "pred", "count"]
    )
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**{t('train.confusion')}**")
        base = alt.Chart(cm).encode(
            x=alt.X("pred:O", title=t("train.axis.pred")), y=alt.Y("true:O", title=t("train.axis.true"))
        )
        heat = base.mark_rect().encode(
            color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
            tooltip=["true", "pred", "count"],
        )
        text = base.mark_text(fontSize=13 if not presenter() else 17).encode(
            text="count:Q", color=alt.condition(alt.datum.count > 300, alt.value("white"), alt.value("black"))
        )
        st.altair_chart((heat + text).properties(height=chart_height(360)), width="stretch")
    with c2:
        st.markdown(f"**{t('train.per_class')}**")
        per_class = pd.DataFrame({"digit": list(range(10)), "acc": per_class_accuracy(matrix).tolist()})
        bars = (
            alt.Chart(per_class)
            .mark_bar()
            .encode(
                x=alt.X("digit:O", title=t("train.axis.digit")),
                y=alt.Y(
                    "acc:Q",
                    title=t("train.axis.acc"),
                    scale=alt.Scale(domain=[max(0.0, float(per_class.acc.min()) - 0.05), 1.0]),
                    axis=alt.Axis(format="%"),
                ),
                tooltip=["digit", alt.Tooltip("acc:Q", format=".2%")],
            )
        )
        st.altair_chart(bars.properties(height=chart_height(360)), width="stretch")

    st.markdown(f"**{t('train.gallery')}**")
    wrong = misclassified(chosen["probs"], data.test_y, k=8 if presenter() else 16)
    if not wrong:
        st.info(t("train.gallery.none"))
    per_row = 8
    for start in range(0, len(wrong), per_row):
        cols = st.columns(per_row)
        for col, w in zip(cols, wrong[start : start + per_row], strict=False):
            col.image(
                zoom(data.test_x[w["index"]].numpy(), 3),
                width="stretch",
                caption=t("train.gallery.caption", true=w["true"], pred=w["predicted"], conf=w["confidence"]),
            )

# --- weights: download and upload ---
with st.expander(t("train.weights"), expanded=False):
    if runs:
        chosen = next(r for r in runs if r["id"] == st.session_state["train.inspect"])
        blob = save_checkpoint(chosen["model"], {"test_acc": chosen["test_acc"], "config": chosen["config"]})
        st.download_button(
            t("train.download"),
            blob,
            file_name=f"{chosen['config']['model']}.safetensors",
            mime="application/octet-stream",
        )
    upload = st.file_uploader(
        t("train.upload"),
        type=["safetensors", "pt", "pth", "bin"],
        help=t("train.upload.help"),
        key="train.upload",
    )
    if upload is not None and st.session_state.get("train.upload_seen") != upload.file_id:
        st.session_state["train.upload_seen"] = upload.file_id
        with explained_errors():
            model, meta = load_checkpoint(upload.getvalue())
            config = meta.get("config") or asdict(TrainConfig(model=meta["model"]))
            st.session_state["train.counter"] = run_id = st.session_state.get("train.counter", 0) + 1
            add_run(run_id, model, meta.get("options", {}), config, None)
            st.success(
                t("train.uploaded", model=meta["model"], acc=st.session_state["train.runs"][-1]["test_acc"])
            )
            st.rerun()

# --- draw a digit ---
st.subheader(t("train.draw"))
model = st.session_state.get("train.model")
c1, c2 = st.columns([1, 2], gap="large")
with c1:
    st.caption(t("train.draw.hint"))
    with explained_errors():
        steps = draw_digit_steps("train.canvas")
with c2:
    if steps is not None:
        cols = st.columns(4)
        side = 150 if presenter() else 120  # small fixed sizes: a tall thin crop must not fill the screen
        cols[0].image(steps.ink, caption=t("train.step.ink"), width=side)
        h, w = steps.cropped.shape  # shown padded to a square, so a thin "1" keeps a readable caption
        square = np.pad(
            steps.cropped,
            (
                ((max(h, w) - h) // 2, (max(h, w) - h + 1) // 2),
                ((max(h, w) - w) // 2, (max(h, w) - w + 1) // 2),
            ),
            constant_values=40,
        )
        cols[1].image(square, caption=t("train.step.crop"), width=side)
        cols[2].image(zoom(steps.scaled, 6), caption=t("train.step.scaled"), width=side)
        cols[3].image(zoom(steps.digit, 4), caption=t("train.step.centred"), width=side)
        st.caption(
            t("train.step.normalized", lo=float(steps.normalized.min()), hi=float(steps.normalized.max()))
        )
        if model is None:
            st.info(t("train.draw.need_model"))
        else:
            probs = predict_proba(model, torch.from_numpy(steps.digit))[0]
            best = int(probs.argmax())
            st.markdown(f"### {t('train.prediction', digit=best, p=float(probs[best]))}")
            frame = pd.DataFrame({"digit": list(range(10)), "p": probs.tolist()})
            st.altair_chart(
                alt.Chart(frame)
                .mark_bar()
                .encode(
                    x=alt.X("digit:O", title=t("train.axis.digit")),
                    y=alt.Y("p:Q", title=t("train.axis.prob"), scale=alt.Scale(domain=[0, 1])),
                    color=alt.condition(alt.datum.digit == best, alt.value("#d62728"), alt.value("#4c78a8")),
                )
                .properties(height=chart_height(220)),
                width="stretch",
            )
    elif model is None:
        st.info(t("train.draw.need_model"))

if model is not None and st.session_state.get("train.model_meta"):
    meta = st.session_state["train.model_meta"]
    st.caption(t("train.shared", model=meta["name"], acc=meta["test_acc"]))

sync_url(*URL_KEYS)
show_source(type(build_model(st.session_state["train.arch"])), fit, preprocess)
if busy:
    watch(live, st.session_state["train.job"])  # last: everything above is drawn and clickable
