"""Keep a run: TensorBoard logs of the session's runs, the run as a notebook, and a post to the class board.

Any page that trains calls `keep_ui(runs, chosen)` with its runs described as `KeptRun`s.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from functools import partial
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


def from_run(run: Any, test_y: torch.Tensor) -> KeptRun:
    """A `core.train.Run` (trained in this session) as a KeptRun."""
    from core.train import confusion_matrix

    return KeptRun(
        label=run.label,
        model_name=run.config.model,
        model=run.model,
        options=dict(run.options),
        config=asdict(run.config),
        records=run.history.steps,
        test_acc=run.test_acc,
        train_seconds=run.history.elapsed,
        init_seed=int(run.init_seed),
        confusion=confusion_matrix(test_y, run.probs.argmax(1)).numpy(),
    )


def keep_trainer_runs(runs: list[Any], inspected: int | None, test_y: torch.Tensor) -> None:
    """The trainer's "Keep this run": every run trained here (not loaded from a file) can be kept."""
    from core.train import find_run

    trained = [r for r in runs if r.history is not None and r.init_seed is not None]
    chosen = find_run(trained, inspected)
    if chosen is not None:
        keep_ui([from_run(r, test_y) for r in trained], from_run(chosen, test_y), "train")


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


def tensorboard_button(
    name: str,
    records: list[dict[str, float]],
    hparams: dict[str, Any],
    key: str,
    model: nn.Module | None = None,
    example_input: torch.Tensor | None = None,
) -> None:
    """A download button for one run's TensorBoard logs (any page whose job reports fit-style records)."""

    def blob() -> bytes:
        with tempfile.TemporaryDirectory() as root:
            final = {k: v for k, v in records[-1].items() if k.startswith("test_")} if records else {}
            runlog.write_run(
                Path(root),
                name,
                records,
                hparams=hparams,
                final=final,
                model=model,
                example_input=example_input,
            )
            return runlog.zip_folder(Path(root))

    st.download_button(
        t("keep.tensorboard.one"),
        data=blob,
        file_name=f"{runlog.safe_name(name)}.zip",
        mime="application/zip",
        key=f"{key}.keep.tb",
        on_click="ignore",
        help=t("keep.tensorboard.how"),
    )


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
    settings = (chosen.config, chosen.model_name, chosen.options, chosen.init_seed, chosen.test_acc)
    nb = partial(notebook.run_notebook, *settings)  # written when its download is clicked
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
        nickname = st.text_input(
            t("keep.nickname"), max_chars=leaderboard.MAX_NICKNAME, key=f"{key}.keep.nickname"
        )
        if st.form_submit_button(t("keep.post"), key=f"{key}.keep.post_btn"):
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
