"""The trainer page: AppTest in both languages trains a tiny real run and sees results; browser test below."""

from __future__ import annotations

import time

import pytest
import torch

from tests.conftest import app_test, exception_text, open_app, snap, wait_idle

PAGE = "pages/mnist_trainer.py"


def run_until(at, done, timeout: float = 600.0):
    """Rerun the page (as the live fragment would) until `done(at)` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(1.0)
        at.run()
    return at


def test_page_shows_the_summary_before_training(lang):
    at = app_test(PAGE, lang)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "225,034" in text  # two_layer_cnn's parameter count
    table = at.dataframe[0].value
    assert "32×26×26" in table.iloc[:, 2].tolist() and "64×5×5" in table.iloc[:, 2].tolist()


@pytest.mark.slow
def test_a_tiny_run_trains_and_shows_results(lang):
    at = app_test(PAGE, lang, **{"train.subset": 2000, "train.batch": 64})
    at.button(key="train.start_btn").click().run()
    assert not at.exception
    run_until(at, lambda a: "train.job" not in a.session_state and a.session_state["train.runs"])
    assert not at.exception, at.exception
    assert at.success, "no 'done' message"
    runs = at.session_state["train.runs"]
    assert len(runs) == 1 and runs[0]["test_acc"] > 0.6  # 2,000 real images, one epoch
    model, meta = at.session_state["train.model"], at.session_state["train.model_meta"]
    assert isinstance(model, torch.nn.Module) and not model.training and meta["name"] == "two_layer_cnn"
    assert meta["test_acc"] == runs[0]["test_acc"]
    # run table, confusion matrix and gallery are on the page
    assert any("%" in str(v) for df in at.dataframe for v in df.value.iloc[:, -2].tolist())
    assert len(at.get("imgs")) >= 2


def test_stop_button_keeps_the_model(lang):
    at = app_test(PAGE, lang, **{"train.subset": 60000, "train.batch": 16, "train.arch": "mlp"})
    at.button(key="train.start_btn").click().run()
    run_until(at, lambda a: "train.job" not in a.session_state or a.session_state["train.job"]["run"].steps, 120)
    job = at.session_state["train.job"]
    job["run"].stop()
    run_until(at, lambda a: "train.job" not in a.session_state, 120)
    assert not at.exception
    assert at.warning, "no 'stopped early' message"
    run = at.session_state["train.runs"][-1]
    assert run["history"].stopped and run["history"].images < 60000
    assert run["test_acc"] > 0.3  # a few steps of an MLP already beat chance (10%)
