"""The trainer page: AppTest in both languages trains a tiny real run and sees results; browser test below."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from itertools import count

import pytest
import torch

try:  # the browser tests need it; `make gpu-check` runs this file's AppTests where it is not installed
    from playwright.sync_api import expect
except ImportError:
    expect = None

from core.checkpoint import save_checkpoint
from core.data import load
from core.models import build_seeded
from core.train import TrainConfig, score_run, train_run
from tests.conftest import app_test, dismiss_dialogs, exception_text, open_app, run_until, snap, wait_idle
from ui.i18n import TABLES

PAGE = "pages/mnist_trainer.py"


def test_page_shows_the_summary_before_training(lang):
    at = app_test(PAGE, lang)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "225,034" in text  # two_layer_cnn's parameter count
    table = at.dataframe[0].value
    assert "32×26×26" in table.iloc[:, 2].tolist() and "64×5×5" in table.iloc[:, 2].tolist()
    # Headers in the session's language (the table is cached per process: the language is in its key).
    assert list(table.columns)[:2] == [TABLES[lang]["train.col.layer"], TABLES[lang]["train.col.type"]]


def test_summary_headers_follow_a_language_switch():
    at = app_test(PAGE, "en")
    assert at.dataframe[0].value.columns[0] == "layer"
    at.session_state["lang"] = "zh"
    at.run()
    assert at.dataframe[0].value.columns[0] == "层"


def _progress_page():
    """The progress lines of the trainer, the feature maps and normalization, from one job snapshot."""
    import streamlit as st

    from ui import jobs

    snap = st.session_state["snap"]
    jobs.progress_line("train.progress", epochs=3)(snap)
    jobs.progress_line("feat.quick.progress")(snap)
    jobs.progress_line("norm.exp.progress")(snap)


def test_progress_lines_read_the_last_record(lang):
    from streamlit.testing.v1 import AppTest

    last = {
        "step": 40,
        "epoch": 1.25,
        "images": 6400.0,
        "loss": 0.123456,
        "acc": 0.9567,
        "bn": 0.5,
        "ln": 0.25,
    }
    last["none"] = 2.0
    snap = {"progress": 0.4, "elapsed": 12.3, "eta": None, "records": [{"step": 1}, last]}
    at = AppTest.from_function(_progress_page)
    at.session_state["lang"], at.session_state["snap"] = lang, snap
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [p.proto.text for p in at.get("progress")]
    if lang == "en":  # the texts the pages wrote before the shared helper, figure for figure
        assert texts == [
            "Epoch 1.25 of 3: 6,400 images, 12 s, about 0 s left",  # no estimate yet: 0
            "Training… loss 0.123, accuracy 95.7%",
            "Step 40: BN 0.500, LN 0.250, none 2.000",
        ]
    else:
        assert texts == [
            "第 1.25 / 3 轮：已用 6,400 张图片，12 秒，约剩 0 秒",
            "训练中… 损失 0.123，准确率 95.7%",
            "第 40 步：BN 0.500，LN 0.250，不归一化 2.000",
        ]
    assert [p.proto.value for p in at.get("progress")] == [40, 40, 40]  # percent


def scored_run(mnist, run_id: int = 1):
    """A real Run without training (seeded MLP weights, scored on the full test set): a cheap table row."""
    model = build_seeded("mlp", run_id)
    return score_run(run_id, model, mnist, TrainConfig(model="mlp"), {"dropout": 0.0})


def test_zero_epochs_gets_a_sentence_and_train_waits(lang):
    at = app_test(PAGE, lang)
    at.number_input(key="train.epochs").set_value(0).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        {
            "en": "Epochs must be between 1 and 20 on this server; got 0.",
            "zh": "本服务器的训练轮数必须在 1 到 20 之间，现在是 0。",
        }[lang]
    ]
    assert at.button(key="train.start_btn").disabled  # Train never runs another number than the one shown
    at.number_input(key="train.epochs").set_value(2).run()
    assert not at.error and not at.button(key="train.start_btn").disabled


@pytest.mark.slow
def test_a_number_typed_just_before_train_is_the_one_that_runs():
    """The typed number and the click reach the page in one rerun: Train ran the number it was drawn with
    (1 epoch while the page showed 2), and a typed 0 started a 1-epoch run under the error sentence."""
    at = app_test(PAGE, "en", timeout=300, **{"train.subset": 1000, "train.arch": "mlp"})
    at.number_input(key="train.epochs").set_value(2)
    at.button(key="train.start_btn").click().run()
    run_until(at, lambda a: "train.job" not in a.session_state and a.session_state["train.runs"], 300)
    assert not at.exception, at.exception
    assert [r.config.epochs for r in at.session_state["train.runs"]] == [2]
    at.number_input(key="train.epochs").set_value(0)
    at.button(key="train.start_btn").click().run()
    assert "train.job" not in at.session_state and len(at.session_state["train.runs"]) == 1
    assert at.error[0].value.startswith("Epochs must be between 1 and")


def test_loading_weights_after_a_run_selects_the_loaded_run(lang, mnist):
    """#12: the upload set train.inspect after its selectbox existed (WidgetAlreadyInstantiated error)."""
    first = scored_run(mnist)
    at = app_test(PAGE, lang, timeout=120, **{"train.runs": [first], "train.ids": count(2)})
    assert at.selectbox(key="train.inspect").value == 1
    blob = save_checkpoint(first.model, {"test_acc": first.test_acc, "config": asdict(first.config)})
    at.file_uploader(key="train.upload").set_value(
        ("mlp.safetensors", blob, "application/octet-stream")
    ).run()
    assert not at.exception, at.exception
    runs = at.session_state["train.runs"]
    assert [r.id for r in runs] == [1, 2] and runs[1].test_acc == first.test_acc
    assert at.selectbox(key="train.inspect").value == 2 and at.session_state["train.model"] is runs[1].model
    assert any(TABLES[lang]["train.uploaded"].split("{")[0] in s.value for s in at.success)
    at.file_uploader(key="train.upload").set_value(
        ("evil.pt", b"\x80\x04K\x01.", "application/octet-stream")
    ).run()
    assert not at.exception and "pickle" in at.error[0].value  # refused with a reason, the page keeps working
    assert len(at.session_state["train.runs"]) == 2


def test_clear_empties_the_table_and_run_numbers_keep_counting(mnist):
    """Clear takes every run away (no table, no diagnostics); the next run is #3, not a second #1."""
    runs = [scored_run(mnist, 1), scored_run(mnist, 2)]
    at = app_test(PAGE, "en", timeout=120, **{"train.runs": runs, "train.ids": count(3)})
    assert len(at.dataframe) == 2  # the layer table and the runs
    at.button[[b.label for b in at.button].index(TABLES["en"]["train.clear"])].click().run()
    assert not at.exception and at.session_state["train.runs"] == []
    assert len(at.dataframe) == 1 and not [s for s in at.selectbox if s.key == "train.inspect"]
    assert at.info[0].value == TABLES["en"]["train.runs.empty"]
    blob = save_checkpoint(runs[0].model, {"test_acc": runs[0].test_acc, "config": asdict(runs[0].config)})
    at.file_uploader(key="train.upload").set_value(
        ("mlp.safetensors", blob, "application/octet-stream")
    ).run()
    assert not at.exception and [r.id for r in at.session_state["train.runs"]] == [3]


def test_the_draw_section_names_the_run_it_uses(lang, mnist):
    runs = [scored_run(mnist, 1), scored_run(mnist, 2)]
    at = app_test(PAGE, lang, timeout=120, **{"train.runs": runs, "train.ids": count(3), "train.draw_run": 1})
    assert not at.exception
    picker = at.selectbox(key="train.draw_run")
    assert picker.value == 1 and picker.label == TABLES[lang]["train.draw.run"]
    table, text = at.dataframe[1].value, TABLES[lang]  # the runs: headers and model/optimizer in words
    assert list(table.columns[:3]) == [text[f"train.col.{k}"] for k in ("run", "model", "optimizer")]
    assert table.iloc[:, 1:3].values.tolist() == [[text["train.arch.mlp"], text["train.opt.adam"]]] * 2


@pytest.mark.slow
def test_a_tiny_run_trains_and_shows_results(lang):
    at = app_test(PAGE, lang, timeout=600, **{"train.subset": 2000, "train.batch": 64})
    at.button(key="train.start_btn").click().run()
    assert not at.exception
    run_until(at, lambda a: "train.job" not in a.session_state and a.session_state["train.runs"])
    assert not at.exception, at.exception
    assert at.success, "no 'done' message"
    at.run()  # #12: "Done" vanished after the next rerun (a drawn digit, any click)
    assert at.success and TABLES[lang]["train.done"].split("{")[0] in at.success[0].value
    runs = at.session_state["train.runs"]
    assert len(runs) == 1 and runs[0].test_acc > 0.6  # 2,000 real images, one epoch
    # the page's figure is core's for the same settings: the page's reruns draw nothing from the global RNG
    # that the run's dropout masks read (its show_source once built a model there, and shifted them)
    reference = train_run(1, load("mnist"), runs[0].config, runs[0].options, same_init=True)
    assert runs[0].test_acc == reference.test_acc
    assert runs[0].history.steps[-1]["test_acc"] == runs[0].test_acc  # curve and table agree
    model, meta = at.session_state["train.model"], at.session_state["train.model_meta"]
    assert isinstance(model, torch.nn.Module) and not model.training and meta["name"] == "two_layer_cnn"
    assert meta["test_acc"] == runs[0].test_acc
    # run table (test accuracy as a percentage), confusion matrix and gallery are on the page
    assert f"{runs[0].test_acc:.2%}" in at.dataframe[1].value.iloc[0].tolist()
    assert len(at.image) >= 2  # the first training image and the misclassified gallery


@pytest.mark.slow
def test_stop_keeps_what_was_learned_and_shows_it(lang, monkeypatch):
    from core.jobs import BackgroundJob

    started = []
    original_start = BackgroundJob.start
    monkeypatch.setattr(BackgroundJob, "start", lambda self: started.append(self) or original_start(self))

    def press_stop_after_the_first_report():  # what the Stop button's on_click does
        while not (started and started[0].records):
            time.sleep(0.1)
        started[0].stop()

    threading.Thread(target=press_stop_after_the_first_report, daemon=True).start()
    at = app_test(PAGE, lang, timeout=600, **{"train.subset": 60000, "train.batch": 16, "train.arch": "mlp"})
    at.button(key="train.start_btn").click().run()
    run_until(at, lambda a: "train.job" not in a.session_state, 600)
    assert not at.exception
    assert at.warning, "no 'stopped early' message"
    run = at.session_state["train.runs"][-1]
    assert run.history.stopped and run.history.images < 60000
    assert run.test_acc > 0.3  # a few steps of an MLP already beat chance (10%)
    assert at.session_state["train.model"] is run.model


# --- real browser ---------------------------------------------------------------------------------


NO_OVERFLOW = """() => { const m = document.querySelector('[data-testid="stMain"]');
  return m.scrollWidth <= m.clientWidth + 1; }"""
INK = """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n; }"""


def look_at(page, text: str, name: str, exact: bool = True) -> None:
    """Scroll `text` into the window and save a screenshot of what a student sees there."""
    page.get_by_text(text, exact=exact).first.scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    snap(page, name, full_page=False)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang_code", ["en", "zh"])
def test_browser_train_drill_down_reload_weights_and_draw(server, page, lang_code, tmp_path):
    """#12 items 1, 7, 8, 9 and #19 drill-down, as a student does it: 1440×900, then presenter 1280×720."""
    T, prefix = TABLES[lang_code], lambda key: TABLES[lang_code][key].split("{")[0]
    open_app(page, server, "trainer", f"lang={lang_code}&train.subset=1000&train.batch=64")
    dismiss_dialogs(page)
    page.get_by_role("button", name=T["train.start"], exact=True).click()
    page.get_by_role("button", name=T["common.stop"]).wait_for(timeout=120_000)
    page.get_by_text(prefix("train.done")).wait_for(timeout=600_000)
    wait_idle(page)
    assert not exception_text(page), exception_text(page)
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(
        4
    )  # loss, accuracy, confusion, digit
    look_at(page, T["train.curves"], f"trainer_{lang_code}_1440_curves")
    look_at(page, T["train.diagnostics"], f"trainer_{lang_code}_1440_diagnostics")
    assert page.evaluate(NO_OVERFLOW)

    # drill-down: click the middle of the confusion matrix; exactly that cell's images appear
    matrix = page.locator("[data-testid='stVegaLiteChart']").nth(2)
    matrix.scroll_into_view_if_needed()
    box = matrix.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)
    header = page.get_by_text(prefix("train.cell"))
    header.wait_for(timeout=60_000)
    wait_idle(page)
    n = int(header.inner_text().replace(",", "").split("(" if lang_code == "en" else "共 ")[1].split()[0])
    gallery = page.locator("[data-testid='stImage']")
    expect(gallery).to_have_count(min(n, 16) + 1)  # + the first training image at the top
    look_at(page, prefix("train.cell"), f"trainer_{lang_code}_1440_drilldown", exact=False)

    # #12 item 1: download the weights and load the same file back, after a run
    page.get_by_text(T["train.weights"]).click()
    with page.expect_download() as download:
        page.get_by_role("button", name=T["train.download"]).click()
    path = tmp_path / "weights.safetensors"
    download.value.save_as(path)
    page.locator("input[type='file']").set_input_files(str(path))
    page.get_by_text(prefix("train.uploaded")).wait_for(timeout=120_000)
    wait_idle(page)
    assert not exception_text(page), exception_text(page)

    # #12 item 8: draw a "1"; the prediction names its run, and the drawing stays on the canvas
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, top = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
    page.mouse.move(x, top)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x + i * 0.3, top + i * box["height"] * 0.035)
    page.mouse.up()
    page.get_by_text(prefix("digit.prediction").strip("*")).wait_for(
        timeout=120_000
    )  # the shared ui.digit_input.prediction_ui
    wait_idle(page)
    page.wait_for_timeout(1500)
    assert not exception_text(page), exception_text(page)
    expect(page.get_by_text(prefix("train.draw.used"))).to_be_visible()
    assert page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(INK) > 500, (
        "the drawing vanished from the canvas"
    )
    look_at(page, T["train.draw"], f"trainer_{lang_code}_1440_draw")

    # presenter mode on a 1280×720 projector: nothing runs off the side
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_text(T["side.presenter"]).click()
    wait_idle(page)
    assert not exception_text(page)
    assert page.evaluate(NO_OVERFLOW)
    for key, part in (("train.settings", "top"), ("train.curves", "curves"), ("train.runs", "runs")):
        look_at(page, T[key], f"trainer_{lang_code}_1280_present_{part}")
    look_at(page, T["train.diagnostics"], f"trainer_{lang_code}_1280_present_diagnostics")
    look_at(page, T["train.draw"], f"trainer_{lang_code}_1280_present_draw")
