"""Class leaderboard: seed 002's homework "train the highest MNIST accuracy you can", projected in class."""

import datetime as dt

import pandas as pd
import streamlit as st

from core import leaderboard
from ui import charts
from ui.cached import leaderboard_db
from ui.i18n import TABLES, t
from ui.shell import explained_errors, presenter, show_source

st.title(t("nav.board"))
st.caption(t("board.intro"))


@st.fragment(run_every=15 if presenter() else None)  # projected: new posts appear without a click
def board_ui() -> None:
    entries = leaderboard_db().top(50)
    if not entries:
        st.info(t("board.empty"))
        return
    rows = [
        {
            t("board.col.rank"): i + 1,
            t("board.col.nickname"): e.nickname,
            t("board.col.model"): t(f"train.arch.{e.model}")
            if f"train.arch.{e.model}" in TABLES["en"]
            else e.model,
            t("board.col.ideas"): " · ".join(t(f"board.idea.{i}") for i in leaderboard.ideas(e)) or "—",
            t("board.col.optimizer"): e.optimizer,
            t("board.col.epochs"): e.epochs,
            t("board.col.acc"): f"{e.test_acc:.2%}",
            t("board.col.time"): f"{e.train_seconds:.0f} s",
            t("board.col.when"): dt.datetime.fromtimestamp(e.created).strftime("%H:%M"),
        }
        for i, e in enumerate(entries)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")  # nicknames shown as plain text
    best = {}
    for e in entries:
        for idea in leaderboard.ideas(e) or ["none"]:
            best[idea] = max(best.get(idea, 0.0), e.test_acc)
    st.markdown(f"**{t('board.by_idea')}**")
    frame = pd.DataFrame({"idea": [t(f"board.idea.{k}") for k in best], "acc": list(best.values())})
    charts.bars(
        frame,
        "idea",
        "acc",
        y_title=t("board.col.acc"),
        percent=True,
        y_domain=(max(0.0, min(best.values()) - 0.02), 1.0),
    )


if not leaderboard.enabled():
    st.info(t("board.off"))
else:
    board_ui()
    if not presenter():
        with st.expander(t("board.clear.title")):
            token = st.text_input(t("board.token"), type="password", key="board.token")
            if st.button(t("board.clear"), key="board.clear_btn"):
                with explained_errors():
                    st.success(t("board.cleared", n=leaderboard_db().clear(token)))

show_source(leaderboard.Leaderboard.post, leaderboard.ideas)
