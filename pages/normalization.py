"""Normalization and dropout: which elements share one mean and variance (BN, LN, IN, GN; Wu & He 2018,
fig. 2), train vs eval and running statistics, seed 001's BN-vs-LN question by experiment, seed 002's dropout.
Every number equals the torch.nn module's output (tests/test_blocks_core.py)."""

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import data as core_data
from core.blocks import attention, experiments, norm
from ui import charts, jobs
from ui.i18n import labeller, t
from ui.shell import explained_errors, presenter, reroll_button, seed, show_source
from ui.state import sync_url, url_default

JOB = "norm.job"
MOMENTA = [0.01, 0.05, 0.1, 0.3, 0.5, 0.9, 1.0]
P_CHOICES = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
url_default("norm.kind", "batch", choices=list(norm.KINDS))
url_default("norm.n", 4, choices=[1, 2, 3, 4])
url_default("norm.hw", 2, choices=[1, 2])
url_default("norm.groups", 2, choices=[1, 2, 3, 6])
url_default("norm.el_n", 0)
url_default("norm.el_c", 0)
url_default("norm.momentum", 0.1, choices=MOMENTA)
url_default("norm.batch", 8)
url_default("norm.sentences", "我爱深度学习\n你好\n今天天气很好")
url_default("norm.p", 0.5, choices=P_CHOICES)
url_default("norm.drop_seed", 0)
C = 6  # channels of the example batch


@st.fragment
def shared_ui() -> None:
    st.caption(t("norm.shared.explain"))
    st.segmented_control(
        t("norm.kind"), list(norm.KINDS), key="norm.kind", required=True, format_func=labeller("norm.kind.")
    )
    c2, c3, c4 = st.columns(3)
    if not presenter():  # the lecture's batch: 4 samples of 6 channels, 2×2
        c2.segmented_control("N", [1, 2, 3, 4], key="norm.n", required=True)
        c3.segmented_control("H = W", [1, 2], key="norm.hw", required=True)
    if st.session_state["norm.kind"] == "group":
        c4.segmented_control(t("norm.groups"), [1, 2, 3, 6], key="norm.groups", required=True)
    n, hw = st.session_state["norm.n"], st.session_state["norm.hw"]
    st.session_state["norm.el_n"] = min(max(0, int(st.session_state["norm.el_n"])), n - 1)
    st.session_state["norm.el_c"] = min(max(0, int(st.session_state["norm.el_c"])), C - 1)
    e1, e2 = st.columns(2)
    e1.slider(t("norm.el_n"), 0, max(n - 1, 1), key="norm.el_n", disabled=n == 1)
    e2.slider(t("norm.el_c"), 0, C - 1, key="norm.el_c")
    shape, element = (n, C, hw, hw), (st.session_state["norm.el_n"], st.session_state["norm.el_c"], 0, 0)
    with explained_errors():
        r = norm.normalize_element(
            st.session_state["norm.kind"], shape, element, st.session_state["norm.groups"], seed()
        )
        member = r.mask.float()  # 1: shares the statistics, 2: the chosen element, 0: normalized apart
        member[element] = 2.0
        per_sample = member.permute(1, 0, 2, 3).reshape(C, n, hw * hw)  # (C, N, H·W): samples side by side
        gap = torch.full((C, n, 1), float("nan"))  # an empty column between samples (NaN cells are not drawn)
        matrix = torch.cat([per_sample, gap], dim=2).reshape(C, -1)[:, :-1].numpy()
        cols = [f"n{i}·{j}" if j < hw * hw else " " * (i + 1) for i in range(n) for j in range(hw * hw + 1)][
            :-1
        ]
        charts.heatmap(
            matrix,
            [f"c{c}" for c in range(C)],
            cols,
            text=False,
            scheme="oranges",
            row_title=t("norm.channel"),
            col_title=t("norm.sample_pos"),
            height=250,
        )
        st.caption(t("norm.legend", count=r.count))
        m = st.columns(3) + st.columns(3)
        m[0].metric("x", f"{r.value:.2f}")
        m[1].metric(t("norm.mean"), f"{r.mean:.4f}")
        m[2].metric(t("norm.var"), f"{r.var:.4f}")
        m[3].metric(t("norm.by_hand"), f"{r.by_hand:.4f}")
        m[4].metric(t("norm.by_torch"), f"{r.by_torch:.4f}")
        m[5].metric(t("norm.count"), r.count)
        mean = f"({r.mean:.4f})" if r.mean < 0 else f"{r.mean:.4f}"
        st.latex(rf"\frac{{{r.value:.2f} - {mean}}}{{\sqrt{{{r.var:.4f} + 10^{{-5}}}}}} = {r.by_hand:.4f}")
    sync_url("norm.")


@st.fragment
def running_ui() -> None:
    st.caption(t("norm.running.explain"))
    c1, c2 = st.columns(2)
    c1.select_slider(t("norm.momentum"), MOMENTA, key="norm.momentum", format_func=lambda v: f"{v:g}")
    c2.slider(t("norm.batch"), 1, 32, key="norm.batch")
    with explained_errors():
        r = norm.running_stats(
            st.session_state["norm.momentum"], 20, st.session_state["norm.batch"], seed=seed()
        )
        wide = {"step": range(1, 21), "batch": r.batch_means, "running": r.running_means}
        names = {k: t(f"norm.series.{k}") for k in ("batch", "running")}
        titles = {"x_title": t("norm.step"), "y_title": t("norm.mean"), "height": 380}
        charts.series(wide, "step", names, y="mean", **titles)
        m1, m2 = st.columns(2)
        m1.metric(t("norm.running_mean"), f"{r.running_means[-1]:.3f}")
        m2.metric(t("norm.running_var"), f"{r.running_vars[-1]:.3f}")
        table = pd.DataFrame(
            {
                t("norm.train_out"): r.train_out.numpy().round(3),
                t("norm.eval_out"): r.eval_out.numpy().round(3),
            }
        )
        st.dataframe(table.T, width="stretch")
    sync_url("norm.")


@st.fragment
def padding_ui() -> None:
    st.markdown(f"**{t('norm.pad.header')}**")
    st.text_area(t("norm.pad.sentences"), key="norm.sentences", height=100, max_chars=1000)
    with explained_errors():
        lines = [ln for ln in st.session_state["norm.sentences"].splitlines() if ln.strip()]
        if not lines:
            attention.tokenize("")  # the same sentence as the attention page: type something
        lengths = tuple(len(attention.tokenize(ln, "char")) for ln in lines)
        r = norm.padding_effect(lengths, seed=seed())
        padmask = np.array([[1.0 if j < n else 0.0 for j in range(max(lengths))] for n in lengths])
        charts.heatmap(
            padmask,
            [f"{i + 1}: {ln[:12]}" for i, ln in enumerate(lines)],
            [str(j) for j in range(max(lengths))],
            text=False,
            scheme="greens",
            col_title=t("norm.pad.position"),
            height=60 + 32 * len(lines),
        )
        st.caption(t("norm.pad.explain", pads=int(padmask.size - padmask.sum()), tokens=int(padmask.sum())))
        m1, m2 = st.columns(2)
        m1.metric(t("norm.pad.bn_shift"), f"{r.bn_shift:.3f}", help=t("norm.pad.shift.help"))
        m2.metric(t("norm.pad.ln_shift"), f"{r.ln_shift:.1e}", help=t("norm.pad.shift.help"))
        stats = pd.DataFrame(
            {
                t("norm.pad.mean_all"): r.bn_mean_padded.numpy().round(3),
                t("norm.pad.mean_real"): r.bn_mean_real.numpy().round(3),
                t("norm.pad.var_all"): r.bn_var_padded.numpy().round(3),
                t("norm.pad.var_real"): r.bn_var_real.numpy().round(3),
            }
        )
        st.dataframe(stats.T, width="stretch")
    sync_url("norm.")


def finished(job: jobs.BackgroundJob) -> jobs.Said:
    """The experiment's result kept; each net's test accuracy said."""
    st.session_state["norm.result"] = job.result
    acc = job.result.test_accuracy
    return "success", "norm.exp.done", {k: acc.get(k, float("nan")) for k in experiments.NORMS}


def work() -> jobs.Work:
    """Run's click: the one core call, work(report, should_stop)."""
    return partial(experiments.norm_experiment, core_data.load("mnist"), experiments.NormConfig(seed=seed()))


def experiment_ui() -> None:
    st.markdown(f"**{t('norm.exp.header')}**")
    st.caption(t("norm.exp.explain"))
    cpu = torch.device("cpu")
    draw = jobs.progress_with("norm.exp.progress", draw_curves)  # step, bn, ln, none: the last record's
    jobs.control(JOB, t("norm.exp.run"), work, draw, device=cpu, key="norm.run", icon=":material/play_arrow:")
    result = st.session_state.get("norm.result")
    if result is not None and jobs.running(JOB) is None:
        draw_curves(result.curves)


def draw_curves(curves: list[dict]) -> None:
    names = {norm: t(f"norm.exp.kind.{norm}") for norm in experiments.NORMS}
    titles = {"x_title": t("norm.step"), "y_title": t("norm.exp.loss"), "height": 420}
    charts.series(curves, "step", names, y="loss", color="norm", **titles)


@st.fragment
def dropout_ui() -> None:
    st.caption(t("norm.drop.explain"))
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.select_slider("p", P_CHOICES, key="norm.p", format_func=lambda v: f"{v:g}")

    reroll_button(t("norm.drop.new"), "norm.drop_seed", "norm.drop.go", where=c2)
    with explained_errors():
        r = norm.dropout(st.session_state["norm.p"], 10, int(st.session_state["norm.drop_seed"]))
        table = pd.DataFrame(
            {
                "x": r.x.numpy(),
                t("norm.drop.mask"): r.mask.numpy().astype(int),
                t("norm.drop.by_hand", p=f"{r.p:g}"): r.by_hand.numpy().round(4),
                t("norm.drop.by_torch"): r.by_torch.numpy().round(4),
                t("norm.drop.eval"): r.eval_out.numpy(),
            }
        )
        st.dataframe(table.T, width="stretch")
        m1, m2, m3 = st.columns(3)
        m1.metric(t("norm.drop.scale"), f"{1 / (1 - r.p):.4g}")
        m2.metric(t("norm.drop.kept"), f"{r.kept_share:.3f}", help=t("norm.drop.kept.help"))
        m3.metric(t("norm.drop.mean"), f"{r.mean_ratio:.3f}", help=t("norm.drop.mean.help"))
    sync_url("norm.")


jobs.harvest(JOB, finished)

st.title(t("nav.norm"))
tabs = st.tabs([t("norm.tab.shared"), t("norm.tab.running"), t("norm.tab.bnln"), t("norm.tab.dropout")])
with tabs[0]:
    shared_ui()
with tabs[1]:
    running_ui()
with tabs[2]:
    st.markdown(t("norm.answer"))
    experiment_ui()
    padding_ui()
with tabs[3]:
    dropout_ui()
sync_url("norm.")
show_source(
    norm.shares_statistics,
    norm.normalize_element,
    norm.running_stats,
    norm.padding_effect,
    norm.dropout,
    experiments.SmallCNN,
    experiments.norm_experiment,
)
jobs.watch_all()
