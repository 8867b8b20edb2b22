"""Residual connections: seed 001's BasicBlock completed and drawn, ResNet-18 stage by stage (torchinfo),
seed 004's 64×64 sizes explained, and a live experiment: a deep plain net against the same net with skips."""

from functools import partial

import pandas as pd
import streamlit as st
import torch

from core import data as core_data
from core.blocks import experiments, resnet
from ui import charts, jobs
from ui.i18n import labeller, t
from ui.shell import explained_errors, presenter, seed, show_code, show_source, side_by_side
from ui.state import sync_url, url_default

JOB = "res.job"
url_default("res.stride", 1, choices=[1, 2])
url_default("res.skip", True)
url_default("res.size", 64, choices=list(resnet.INPUT_SIZES))
url_default("res.classes", 1000, choices=list(resnet.CLASSES))
url_default("res.stem", 2, choices=[2, 1])
url_default("res.depth", 30, choices=list(experiments.DEPTHS))


@st.cache_data(show_spinner=False)
def stage_table(size: int, classes: int, stem: int) -> resnet.StageTable:
    return resnet.stage_table(size, classes, stem)


def seed_004() -> list[dict]:
    return resnet.seed_004_comparison({s: stage_table(64, 1000, s) for s in (2, 1)})  # the cached tables


@st.cache_data(show_spinner=False)
def torchvision_params(classes: int) -> int:
    import torchvision  # the reference, counted live

    with torch.device("meta"):  # shapes only: no memory, no weight initialization
        return sum(p.numel() for p in torchvision.models.resnet18(num_classes=classes).parameters())


def shape(s: tuple[int, ...]) -> str:
    return " × ".join(str(v) for v in s)


def flow_dot(flow: resnet.BlockFlow, stride: int) -> str:
    """Graphviz DOT of the block, left to right: the main path on top, the shortcut below, then the add.

    Consecutive steps of a path share one box (conv, BN, ReLU); each edge carries the shape after it.
    """
    main = [s for s in flow.steps if s.path == "main"]
    short = [s for s in flow.steps if s.path == "shortcut"]
    add = [s for s in flow.steps if s.name == "add"]
    conv1 = f"conv1 3×3, stride {stride}\\nbn1 · relu"
    nodes = [
        'node [fillcolor="#eef3fa"]; x [label="x", fillcolor="#ffffff"];',
        f'a [label="{conv1}"];',
        'b [label="conv2 3×3\\nbn2"];',
        f'o [label="{t("res.flow.out")}", fillcolor="#ffffff"];',
        'r [label="relu", fillcolor="#e8f4e6"];',
    ]
    edges = [
        f'x -> a [label="{shape(flow.input_shape)}"];',
        f'a -> b [label="{shape(main[2].shape)}"];',
        f'r -> o [label="{shape(flow.output_shape)}"];',
    ]
    if add:
        label = "identity" if short[0].name == "identity" else f"downsample\\n1×1 conv, stride {stride} · BN"
        nodes += [f's [label="{label}", fillcolor="#fdeede"];', 'p [label="+", fillcolor="#e8f4e6"];']
        edges += [
            f'b -> p [label="F(x) {shape(main[-1].shape)}"];',
            'x -> s [color="#f58518", penwidth=2];',
            f's -> p [label="{t("res.flow.skip")} {shape(short[-1].shape)}", color="#f58518", penwidth=2];',
            f'p -> r [label="{shape(add[0].shape)}"];',
        ]
    else:
        edges.append(f'b -> r [label="F(x) {shape(main[-1].shape)}"];')
    head = 'digraph { rankdir=LR; ranksep=0.2; nodesep=0.25; node [shape=box, style="rounded,filled"];'
    return "\n".join([head, *nodes, *edges, "}"])


@st.fragment
def block_ui() -> None:
    st.subheader(t("res.block.header"))
    c1, c2 = st.columns(2)
    c1.segmented_control(t("res.block.stride"), [1, 2], key="res.stride", required=True)
    c2.toggle(t("res.block.skip"), key="res.skip", help=t("res.block.skip.help"))
    stride, skip = st.session_state["res.stride"], st.session_state["res.skip"]
    with explained_errors():
        flow = resnet.block_flow(64, 64 if stride == 1 else 128, stride, 32, skip, seed())
        st.graphviz_chart(flow_dot(flow, stride), width="stretch")
        m = st.columns(3)
        m[0].metric(t("res.block.out"), shape(flow.output_shape))
        m[1].metric(t("res.block.params"), f"{flow.params:,}")
        m[2].metric(t("res.block.grad"), f"{flow.input_grad_norm:.1f}", help=t("res.block.grad.help"))
        st.caption(t("res.block.on" if skip else "res.block.off"))
        if not presenter():
            show_code(resnet.BasicBlock.forward)
    sync_url("res.")


@st.fragment
def table_ui() -> None:
    st.subheader(t("res.table.header"))
    c1, c2 = st.columns(2)
    c1.segmented_control(t("res.table.size"), list(resnet.INPUT_SIZES), key="res.size", required=True)
    c2.segmented_control(t("res.table.classes"), list(resnet.CLASSES), key="res.classes", required=True)
    st.segmented_control(
        t("res.table.stem"), [2, 1], key="res.stem", required=True, format_func=labeller("res.stem.")
    )
    size, classes, stem = (st.session_state[k] for k in ("res.size", "res.classes", "res.stem"))
    with explained_errors():
        table = stage_table(size, classes, stem)
        rows = [
            {"layer": r.name, "kind": r.kind, "shape": shape(r.shape), "params": f"{r.params:,}"}
            for r in table.rows
        ]
        charts.table(rows, "res.col.")
        m1, m2 = side_by_side(2)  # long labels: stacked on a projector
        m1.metric(t("res.table.total"), f"{table.total_params:,}")
        m2.metric(t("res.table.torchvision", classes=classes), f"{torchvision_params(classes):,}")
        if stem == 1:
            st.caption(t("res.table.stem1_note"))
    sync_url("res.")


def seed_ui() -> None:
    st.subheader(t("res.seed.header"))
    st.markdown(t("res.seed.explain"))
    with explained_errors():
        rows = [
            {t("res.col.layer"): r["layer"], t("res.seed.report"): shape(r["report"]),
             t("res.seed.stride2"): shape(r["stride2"]) + (" ✓" if r["stride2"] == r["report"] else " ✗"),
             t("res.seed.stride1"): shape(r["stride1"]) + (" ✓" if r["stride1"] == r["report"] else " ✗")}
            for r in seed_004()
        ]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.code(
        "model.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=1, padding=3, bias=False)", language="python"
    )


def draw_curves(curves: list[dict]) -> None:
    names = {net: t(f"res.net.{net}") for net in ("plain", "residual")}
    titles = {"x_title": t("res.exp.step"), "y_title": t("res.exp.loss"), "height": 380}
    charts.series(curves, "step", names, y="loss", color="net", **titles)


def finished(job: jobs.BackgroundJob) -> jobs.Said:
    """The experiment's result kept; its last losses said."""
    st.session_state["res.result"] = job.result
    if not job.result.curves:  # stopped before the first report: nothing to say beyond "Stopped"
        return "info", "common.cancelled", {}
    return "success", "res.exp.done", job.result.curves[-1]  # step, plain, residual


def work() -> jobs.Work:
    """Run's click: the one core call, work(report, should_stop), for the depth as it is now."""
    config = experiments.ResidualConfig(depth=st.session_state["res.depth"], seed=seed())
    return partial(experiments.residual_experiment, core_data.load("mnist"), config)


def experiment_ui() -> None:
    st.subheader(t("res.exp.header"))
    st.caption(t("res.exp.explain"))
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    c1.select_slider(t("res.exp.depth"), list(experiments.DEPTHS), key="res.depth")
    with c2:
        cpu = torch.device("cpu")
        jobs.start_button(JOB, t("res.exp.run"), work, cpu, key="res.run", icon=":material/play_arrow:")
    # the progress over the curves so far and Stop while the job runs, then the outcome
    jobs.live_panel(JOB, jobs.progress_with("res.exp.progress", draw_curves))
    result: experiments.ResidualResult | None = st.session_state.get("res.result")
    if result is not None and jobs.running(JOB) is None:
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{t('res.exp.grads')}**")
            grads = pd.DataFrame(
                [{"layer": i + 1, "norm": max(v, 1e-30), "net": t(f"res.net.{n}")}
                 for n, vs in result.grad_norms.items() for i, v in enumerate(vs)]
            )  # fmt: skip
            charts.curves(
                grads,
                "layer",
                "norm",
                "net",
                log_y=True,
                x_title=t("res.exp.layer"),
                y_title="‖∂L/∂W‖",
                height=380,
            )
        with right:
            st.markdown(f"**{t('res.exp.curves')}**")
            draw_curves(result.curves)


jobs.harvest(JOB, finished)

st.title(t("nav.residual"))
if not presenter():
    st.caption(t("res.intro"))
block_ui()
table_ui()
seed_ui()
experiment_ui()
sync_url("res.")
show_source(
    resnet.BasicBlock, resnet.ResNet, resnet.stage_table, experiments.DeepMLP, experiments.residual_experiment
)
jobs.watch_all()
