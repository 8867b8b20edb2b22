"""Backprop by hand: seed 002's two-layer regression, gradients derived and checked, mini-batches, saving.

Longer than the usual 250 lines because it is one whole lecture (five sections: the net, the gradients,
training, mini-batches, saving); each section is one small function and one core call.
"""

import time
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core import backprop
from ui import charts, jobs
from ui.i18n import labeller, t
from ui.shell import explained_errors, presenter, show_source
from ui.state import sync_url, url_default

SECTIONS = ["net", "grads", "train", "batch", "save"]
LRS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05]
STEPS = [100, 500, 1000, 2000, 5000]
BATCHES = [1, 2, 5, 10, 20, 50, 100]
EPOCHS = [5, 10, 20, 50]
MB_LRS = [0.05, 0.1, 0.2, 0.5, 1.0]  # 1.0 diverges: explained, not drawn
EPSILONS = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]
CPU = torch.device("cpu")  # a 31-parameter net: the GPU would only add launch overhead

url_default("bp.section", "net", choices=SECTIONS)
url_default("bp.hidden", 10)
url_default("bp.reduction", "sum", choices=["sum", "mean"])
url_default("bp.fd_param", "W1", choices=list(backprop.NAMES))
url_default("bp.fd_index", 0)
url_default("bp.fd_eps", 1e-6, choices=EPSILONS)
url_default("bp.lr", 0.002, choices=LRS)
url_default("bp.steps", 2000, choices=STEPS)
url_default("bp.batch", 5, choices=BATCHES)
url_default("bp.epochs", 50, choices=EPOCHS)
url_default("bp.mb_lr", 0.2, choices=MB_LRS)
st.session_state["bp.hidden"] = min(max(1, int(st.session_state["bp.hidden"])), 64)


@st.cache_data(show_spinner=False)
def seed_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's 100 points in float64 (the same numbers as its float32 ones)."""
    x, y = backprop.make_data()
    return x.double(), y.double()


@st.cache_data(show_spinner=False)
def stable_lr(hidden: int, reduction: str) -> float:
    x, y = seed_data()
    return backprop.max_stable_lr(backprop.params_of(backprop.seed_net(hidden)), x, y, reduction)


@st.cache_data(show_spinner=False, max_entries=64)
def batch_run(hidden: int, batch: int, lr: float, epochs: int) -> backprop.BatchRun:
    x, y = seed_data()
    return backprop.minibatch_sgd(backprop.params_of(backprop.seed_net(hidden)), x, y, batch, lr, epochs)


def weights(hidden: int) -> dict:
    """This session's weights and trajectory (what the student trained), or the seed's fresh net."""
    kept = st.session_state.get("bp.weights")
    if kept is None or kept["hidden"] != hidden:
        kept = {"hidden": hidden, "params": backprop.params_of(backprop.seed_net(hidden)), "records": []}
        st.session_state["bp.weights"] = kept
    return kept


def fit_chart(x: torch.Tensor, y: torch.Tensor, lines: dict[str, list[float]]) -> None:
    """The slides' plot: the data as dots, each prediction as a line."""
    dots = pd.DataFrame({"x": x[:, 0].tolist(), "y": y[:, 0].tolist()})
    rows = [
        {"x": xi, "y": v, "net": name}
        for name, pred in lines.items()
        for xi, v in zip(dots.x, pred, strict=True)
    ]
    shown = [v for pred in lines.values() for v in pred] + dots.y.tolist()
    domain = [max(-3.0, min(-0.2, min(shown))), min(4.0, max(1.4, max(shown)))]  # every line in view
    base = alt.Chart(dots).mark_circle(size=40, color="#4c78a8", opacity=0.8).encode(x="x:Q", y="y:Q")
    line = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(strokeWidth=4)
        .encode(
            x=alt.X("x:Q", title="x"),
            y=alt.Y("y:Q", title="y", scale=alt.Scale(domain=domain, clamp=True)),
            color=alt.Color("net:N", title=None, scale=alt.Scale(range=charts.PALETTE[1:])),
            strokeDash=alt.StrokeDash("net:N", legend=None),
        )
    )
    charts.show(base + line, height=260)


def loss_chart(records: list[dict]) -> None:
    """Loss per step on a log scale: hand-written GD and torch.optim.SGD (they lie on top of each other)."""
    keep = records[:: max(1, len(records) // 400)] + records[-1:]  # at most ~400 points drawn
    names = {"loss_hand": t("bp.train.hand"), "loss_sgd": t("bp.train.sgd")}
    titles = {"x_title": t("bp.train.step"), "y_title": "f"}
    charts.series(keep, "step", names, y="f", color="how", dash="how", log_y=True, **titles)


def net_ui(hidden: int, x: torch.Tensor, y: torch.Tensor) -> None:
    c1, _ = st.columns([1, 2])
    c1.slider(t("bp.hidden"), 1, 64, key="bp.hidden", disabled=jobs.busy(), help=t("bp.hidden.help"))
    hidden = st.session_state["bp.hidden"]
    st.code(backprop.SEED_CODE.format(hidden=hidden), language="python")
    params = weights(hidden)["params"]
    _, pred = backprop.forward(params, x)
    c1, c2 = st.columns([3, 1])
    with c1:
        fit_chart(x, y, {t("bp.net.pred"): pred[:, 0].tolist()})
    c2.metric(t("bp.net.loss"), f"{float(backprop.loss(params, x, y)):.4f}")
    c2.metric(t("bp.net.params"), f"{sum(p.numel() for p in params.values())}")
    st.caption(t("bp.net.note", h=hidden))


@st.fragment
def grads_ui(hidden: int, x: torch.Tensor, y: torch.Tensor) -> None:
    st.radio(
        t("bp.reduction"),
        ["sum", "mean"],
        key="bp.reduction",
        horizontal=True,
        format_func=labeller("bp.reduction."),
    )
    reduction = st.session_state["bp.reduction"]
    st.latex(backprop.derivation(reduction))
    params = weights(hidden)["params"]
    with explained_errors():
        check = backprop.check_gradients(params, x, y, reduction)  # ONE core call: hand vs autograd
        c1, c2, c3 = st.columns(3)
        big = presenter()  # no help icons on a projector: the labels get their width
        c1.metric(
            t("bp.grads.maxdiff"), f"{check.max_diff:.1e}", help=None if big else t("bp.grads.maxdiff.help")
        )
        c2.metric(
            t("bp.grads.ratio"), f"{check.sum_over_mean:.0f}", help=None if big else t("bp.grads.ratio.help")
        )
        c3.metric(t("bp.grads.f"), f"{check.loss:.4f}")
        st.caption(t(f"bp.grads.{reduction}_note", n=len(x)))
        if not presenter():
            st.dataframe(
                pd.DataFrame(check.table),
                hide_index=True,
                height=240,
                width="stretch",
                column_config={
                    "hand": st.column_config.NumberColumn(format="%.10f"),
                    "autograd": st.column_config.NumberColumn(format="%.10f"),
                    "|Δ|": st.column_config.NumberColumn(format="%.1e"),
                },
            )
        st.subheader(t("bp.fd.title"))
        names = list(backprop.NAMES)
        c1, c2, c3 = st.columns(3)
        c1.selectbox(t("bp.fd.param"), names, key="bp.fd_param")
        size = params[st.session_state["bp.fd_param"]].numel()
        st.session_state["bp.fd_index"] = min(max(0, int(st.session_state["bp.fd_index"])), size - 1)
        c2.number_input(t("bp.fd.index", n=size), 0, size - 1, step=1, key="bp.fd_index")
        c3.select_slider("ε", EPSILONS, key="bp.fd_eps", format_func=lambda v: f"{v:g}")
        fd = backprop.check_element(
            params,
            x,
            y,
            st.session_state["bp.fd_param"],
            st.session_state["bp.fd_index"],
            st.session_state["bp.fd_eps"],
            reduction,
        )
        c1, c2, c3 = st.columns(3)
        digits = 6 if presenter() else 8  # a projector's big type: fewer digits, the difference says the rest
        c1.metric(t("bp.fd.hand"), f"{fd.hand:.{digits}f}")
        c2.metric(t("bp.fd.numeric"), f"{fd.numeric:.{digits}f}")
        c3.metric(t("bp.fd.diff"), f"{abs(fd.hand - fd.numeric):.1e}")
        st.caption(t("bp.fd.note"))
    sync_url("bp.")


@st.fragment
def train_ui(hidden: int, x: torch.Tensor, y: torch.Tensor) -> None:
    wall, cpu = time.perf_counter(), time.thread_time()  # this block's server time, shown at its end
    jobs.show_outcome("bp.job")
    kept = weights(hidden)
    c1, c2 = st.columns(2)
    c1.select_slider(t("bp.lr"), LRS, key="bp.lr", format_func=lambda v: f"{v:g}", help=t("bp.lr.help"))
    if not presenter():
        c2.select_slider(t("bp.steps"), STEPS, key="bp.steps")
    lr, steps = st.session_state["bp.lr"], st.session_state["bp.steps"]
    b1, b2, b3 = st.columns(3)
    with b1:  # Train: a job, the whole page reruns with it (the live view is drawn at the page's end)
        train = partial(
            backprop.train, backprop.TrainConfig(lr=lr, steps=steps, pace_s=0.02), kept["params"], x, y
        )
        jobs.start_button(
            "bp.job", t("bp.train.go"), lambda: train, CPU, in_run=True, icon=":material/play_arrow:"
        )
    one = b2.button(t("bp.train.one"), disabled=jobs.busy(), icon=":material/skip_next:")
    if b3.button(t("bp.train.reset"), disabled=jobs.busy(), icon=":material/restart_alt:"):
        st.session_state.pop("bp.weights", None)
        kept = weights(hidden)
    done = len(kept["records"])
    if one:
        run = backprop.train(backprop.TrainConfig(lr=lr, steps=1), kept["params"], x, y)  # one step, redraw
        kept["params"] = run.hand
        kept["records"] += [{**r, "step": r["step"] + done} for r in run.records]
        kept["diverged"] = None if run.diverged_at is None else (done + run.diverged_at, lr)
    if jobs.running("bp.job") is not None:
        return  # the live view at the top of the page shows the run
    m1, m2, m3 = st.columns(3)
    m1.metric(t("bp.train.stable"), f"{stable_lr(hidden, 'sum'):.4f}", help=t("bp.train.stable.help"))
    m2.metric(t("bp.train.maxdiff"), f"{max((r['diff'] for r in kept['records']), default=0.0):.1e}")
    m3.metric(t("bp.train.steps_done"), f"{len(kept['records'])}")
    if kept.get("diverged") is not None:
        st.warning(
            t(
                "bp.train.diverged",
                lr=f"{kept['diverged'][1]:g}",
                step=kept["diverged"][0],
                n=len(x),
                bound=f"{1 / len(x):g}",
                stable=f"{stable_lr(hidden, 'sum'):.4f}",
            )
        )
    draw_training(x, y, kept["params"], kept["records"])
    sync_url("bp.")
    took = ((time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3)
    st.session_state["bp._took_ms"] = took  # read by bench/backprop.py
    if not presenter():
        st.caption(t("bp.train.took", ms=f"{took[0]:.0f}"))


def draw_training(x: torch.Tensor, y: torch.Tensor, params: dict, records: list[dict]) -> None:
    _, pred = backprop.forward(params, x)
    left, right = st.columns(2)
    with left:
        fit_chart(x, y, {t("bp.net.pred"): pred[:, 0].tolist()})
    with right:
        if records:
            loss_chart(records)
        else:
            st.info(t("bp.train.empty"))


def draw_live(x: torch.Tensor, y: torch.Tensor, snap: dict) -> None:
    """What the job's watcher redraws twice a second: the progress, the line, the loss curve."""
    last = snap["records"][-1]
    if "pred" not in last:
        jobs.progress_line("bp.big.running", done=len(snap["records"]) - 1)(snap)
        big_table([r for r in snap["records"] if r.get("stage") in ("data", "batch")])
        return
    jobs.progress_line("bp.train.running")(snap)
    left, right = st.columns(2)
    with left:
        fit_chart(x, y, {t("bp.net.pred"): last["pred"]})
    with right:
        loss_chart(snap["records"])


@st.fragment
def batch_ui(hidden: int) -> None:
    st.latex(backprop.MINIBATCH_FORMULA)
    c1, c2, c3 = st.columns(3)
    c1.select_slider(t("bp.batch.size"), BATCHES, key="bp.batch")
    if not presenter():
        c2.select_slider(t("bp.batch.epochs"), EPOCHS, key="bp.epochs")
        c3.select_slider(t("bp.batch.lr"), MB_LRS, key="bp.mb_lr", format_func=lambda v: f"{v:g}")
    batch, epochs, lr = (st.session_state[k] for k in ("bp.batch", "bp.epochs", "bp.mb_lr"))
    runs = [batch_run(hidden, b, lr, epochs) for b in sorted({batch, 100})]
    for run in runs:
        if run.diverged:
            st.warning(t("bp.batch.diverged", b=run.batch_size, lr=f"{lr:g}"))
    table = pd.DataFrame(
        {
            t("bp.big.col.batch"): run.batch_size,
            t("bp.big.col.steps"): 100 // run.batch_size,
            t("bp.batch.ms"): f"{run.seconds_per_epoch * 1e3:.2f}",
            t("bp.batch.final"): f"{run.records[-1]['full_loss']:.4f}" if run.records else "–",
        }
        for run in runs
    )
    st.dataframe(table, hide_index=True, width="stretch")
    df = pd.DataFrame(
        [
            {"epoch": r["epoch"], "loss": r["batch_loss"], "B": f"B = {run.batch_size}"}
            for run in runs
            for r in run.records[:: max(1, len(run.records) // 250)]  # at most ~250 points a curve
        ]
    )
    charts.curves(
        df, "epoch", "loss", "B", log_y=True, x_title=t("bp.batch.epoch"), y_title=t("bp.batch.loss")
    )
    st.caption(t("bp.batch.note"))
    sync_url("bp.")


def big_table(rows: list[dict]) -> None:
    """The 10,000,000-point measurements so far: one row per batch size."""
    data = next((r for r in rows if r["stage"] == "data"), None)
    if data:
        st.caption(t("bp.big.data", mb=data["data_bytes"] / 2**20, s=data["seconds"]))
    table = [
        {
            "batch": f"{r['batch_size']:,}",
            "steps": f"{r['batches_per_epoch']:,}",
            "measured": f"{r['batches']:,}",
            "epoch": f"{r['seconds_per_epoch']:.1f}",
            "memory": f"{r['peak_bytes'] / 2**20:,.0f}",
            "loss": f"{r['loss']:.4f}",
        }
        for r in rows
        if r["stage"] == "batch"
    ]
    if table:
        charts.table(table, "bp.big.col.")


def big_ui() -> st.delta_generator.DeltaGenerator:
    """The 10,000,000-point button and table; returns where its live progress goes."""
    st.subheader(t("bp.big.title"))
    jobs.show_outcome("bp.big")
    st.caption(t("bp.big.explain"))
    measure = partial(backprop.measure_big_data, backprop.BigConfig())
    jobs.start_button(
        "bp.big", t("bp.big.go"), lambda: measure, CPU, in_run=True, type="secondary", icon=":material/timer:"
    )
    panel = st.container()
    if jobs.running("bp.big") is not None:
        return panel
    rows = st.session_state.get("bp.big_rows")
    if rows:
        big_table(rows)
        st.caption(t("bp.big.lesson"))
    return panel


def save_ui(hidden: int, x: torch.Tensor, y: torch.Tensor) -> None:
    params = weights(hidden)["params"]
    net = backprop.net_of(params)
    st.code(backprop.SAVE_CODE, language="python")
    st.markdown(t("bp.save.why"))
    st.download_button(
        t("bp.save.download"),
        backprop.save_net(net),
        file_name=f"net_1_{hidden}_1.safetensors",
        mime="application/octet-stream",
        icon=":material/download:",
    )
    upload = st.file_uploader(t("bp.save.upload"), key="bp.upload")
    if upload is not None:
        with explained_errors():
            check = backprop.check_reload(upload.getvalue(), net, x)  # never unpickled
            st.success(
                t(
                    "bp.save.equal" if check.equal else "bp.save.differs",
                    diff=f"{check.max_diff:.1e}",
                    h=check.n_hidden,
                )
            )
            fit_chart(x, y, {t("bp.save.uploaded"): check.pred})
    st.subheader(t("bp.pickle.title"))
    st.markdown(t("bp.pickle.explain"))
    if st.button(t("bp.pickle.go"), icon=":material/science:"):
        st.session_state["bp.demo"] = backprop.pickle_demo(net)
    demo = st.session_state.get("bp.demo")
    if demo is not None:
        st.code(demo.opcodes, language="text")
        (st.error if demo.ran_with_pickle else st.success)(t("bp.pickle.ran", returned=demo.returned))
        st.info(t("bp.pickle.refused", error=demo.weights_only_error))
        st.caption(t("bp.pickle.sizes", whole=demo.whole_net_bytes, state=demo.state_dict_bytes))


def train_finished(job: jobs.BackgroundJob) -> jobs.Said:
    """The trained weights and trajectory appended to this session's; the run's figures said."""
    kept = weights(st.session_state["bp.hidden"])
    done, run = len(kept["records"]), job.result
    kept["params"] = run.hand
    kept["diverged"] = None if run.diverged_at is None else (done + run.diverged_at, run.lr)
    kept["records"] += [{**r, "step": r["step"] + done} for r in run.records]
    f = f"{run.records[-1]['loss_hand']:.4f}" if run.records else "–"
    return (
        "success",
        "bp.train.done",
        dict(steps=len(run.records), f=f, diff=f"{run.max_diff:.1e}", s=f"{run.seconds:.1f}"),
    )


def big_finished(job: jobs.BackgroundJob) -> jobs.Said | None:
    """The 10M measurements kept (none: nothing to say)."""
    if not job.result:
        return None
    st.session_state["bp.big_rows"] = job.result
    return "success", "bp.big.done", {}


# --- the page -------------------------------------------------------------------------------------

jobs.harvest("bp.job", train_finished)
jobs.harvest("bp.big", big_finished)

st.title(t("nav.backprop"))
if not presenter():
    st.caption(t("bp.intro"))
if st.session_state.get("bp.section") not in SECTIONS:  # a segmented control can be clicked off
    st.session_state["bp.section"] = "net"
st.segmented_control(t("bp.section"), SECTIONS, key="bp.section", format_func=labeller("bp.section."))
hidden, section = st.session_state["bp.hidden"], st.session_state["bp.section"]
x, y = seed_data()
live = st.container()  # the training job's live view (and the 10M run's, outside section 4)
panels = {"bp.job": live, "bp.big": live}

if section != "net":
    st.caption(t("bp.net.which", h=hidden))
if section == "net":
    net_ui(hidden, x, y)
elif section == "grads":
    grads_ui(hidden, x, y)
elif section == "train":
    train_ui(hidden, x, y)
elif section == "batch":
    batch_ui(hidden)
    panels["bp.big"] = big_ui()
else:
    save_ui(hidden, x, y)

sync_url("bp.")
show_source(  # functions only: inspect.getsource of a class re-parses the whole module on every run
    backprop.forward,
    backprop.gradients,
    backprop.train,
    backprop.minibatch_sgd,
    backprop.save_net,
    backprop.load_net,
    backprop.note_unpickling,
    backprop.Surprise.__reduce__,
    backprop.pickle_demo,
)
for key in ("bp.job", "bp.big"):
    jobs.watch(key, panels[key], lambda snap: draw_live(x, y, snap))
