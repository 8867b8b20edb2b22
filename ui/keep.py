"""Keep a run: TensorBoard logs of the session's runs, the run as a notebook, and a post to the class board.

Any page that trains calls `keep_ui(runs, chosen)` with its runs described as `KeptRun`s.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch
from torch import nn

from core import leaderboard, notebook, runlog
from ui.cached import leaderboard_db
from ui.i18n import t
from ui.shell import explained_errors


@dataclass
class KeptRun:
    """What a page knows of one finished run, in plain values."""

    label: str  # "#2 two_layer_cnn · adam · lr 0.003"
    model_name: str  # a core.models name (the notebook rebuilds it)
    model: nn.Module
    options: dict[str, Any]
    config: dict[str, Any]  # asdict(TrainConfig)
    records: list[dict[str, float]]  # the History's step records
    test_acc: float  # measured by the server on the full test set
    train_seconds: float
    init_seed: int
    confusion: np.ndarray | None = None


def tensorboard_zip(runs: list[KeptRun]) -> bytes:
    """Every run of the session in one log folder, zipped: `tensorboard --logdir runs` compares them."""
    with tempfile.TemporaryDirectory() as root:
        for run in runs:
            runlog.write_run(
                Path(root),
                run.label,
                run.records,
                hparams={"model": run.model_name, **run.options, **run.config},
                final={"test_acc": run.test_acc},
                model=run.model,
                example_input=torch.zeros(1, 1, 28, 28),
                confusion=run.confusion,
            )
        return runlog.zip_folder(Path(root))


def session_id() -> str:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return get_script_run_ctx().session_id
    except Exception:  # AppTest
        return "apptest"


def keep_ui(runs: list[KeptRun], chosen: KeptRun, key: str) -> None:
    """Download buttons (TensorBoard zip of all runs, notebook of `chosen`) and the leaderboard post."""
    st.subheader(t("keep.title"))
    left, right = st.columns(2)
    left.download_button(
        t("keep.tensorboard"),
        data=lambda: tensorboard_zip(runs),
        file_name="runs.zip",
        mime="application/zip",
        key=f"{key}.keep.tb",
        on_click="ignore",
    )
    left.caption(t("keep.tensorboard.how"))
    nb = lambda: notebook.run_notebook(
        chosen.config,
        chosen.model_name,
        chosen.options,
        chosen.init_seed,  # noqa: E731
        chosen.test_acc,
    )
    right.download_button(
        t("keep.notebook"),
        data=nb,
        file_name=f"{chosen.model_name}.ipynb",
        mime="application/x-ipynb+json",
        key=f"{key}.keep.nb",
        on_click="ignore",
    )
    right.caption(t("keep.notebook.how"))
    if not leaderboard.enabled():
        return
    with st.form(f"{key}.keep.post", border=True):
        st.markdown(t("keep.post.title", run=chosen.label, acc=chosen.test_acc))
        nickname = st.text_input(t("keep.nickname"), max_chars=leaderboard.MAX_NICKNAME)
        if st.form_submit_button(t("keep.post")):
            with explained_errors():
                entry = leaderboard.Entry(
                    nickname=nickname,
                    model=chosen.model_name,
                    optimizer=chosen.config["optimizer"],
                    epochs=int(chosen.config["epochs"]),
                    test_acc=chosen.test_acc,
                    train_seconds=chosen.train_seconds,
                    options=chosen.options,
                )
                leaderboard_db().post(entry, session_id())
                st.success(t("keep.posted"))
