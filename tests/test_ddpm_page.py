"""The MNIST diffusion page in both languages (tiny checkpoint, few steps), and in a real browser."""

import re

import pytest

from core import data as core_data
from core import ddpm
from tests.conftest import (
    ARTIFACTS,
    dismiss_dialogs,
    exception_text,
    open_app,
    snap,
    snap_tall,
    wait_idle,
)
from tests.conftest import app_test as _app_test
from ui.i18n import TABLES

PAGE = "pages/mnist_diffusion.py"
TINY = ddpm.DDPMConfig(channels=(8, 16, 16), steps=3)


def tiny_checkpoint(model_dir) -> None:
    """An untrained tiny UNet cached as the MNIST model: the page's mechanics, not its quality."""
    meta = {"config": {"dataset": "mnist"}, "steps_done": 3, "final_loss": 0.5, "seconds": 1.0}
    ddpm.save_cached(ddpm.build_unet(TINY).eval(), meta)


def app_test(lang, **state):
    return _app_test(PAGE, lang, timeout=400, **{"ddpm.steps": 4, **state})


def test_missing_checkpoint_offers_training_and_presenter_hides_controls(lang, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    T = TABLES[lang]
    at = app_test(lang)
    assert not at.exception, at.exception
    assert any(T["ddpm.none"].split("{")[0] in i.value for i in at.info)
    assert at.button(key="ddpm.train.go") and not at.tabs
    tiny_checkpoint(tmp_path)
    at = app_test(lang, present=True)
    assert not at.exception, at.exception
    keys = {w.key for w in [*at.number_input, *at.selectbox, *at.slider, *at.select_slider]}
    assert "ddpm.scheduler" not in keys and "ddpm.seed" not in keys and "ddpm.guidance" in keys


def test_a_click_on_the_chosen_dataset_keeps_it(tmp_path, monkeypatch):
    """A segmented control can be clicked off (None); the page raised when it put the dataset back."""
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    at = app_test("en")
    at.button_group(key="ddpm.dataset").set_value("fashion").run()
    at.button_group(key="ddpm.dataset").set_value(None).run()
    assert not at.exception, at.exception
    assert at.session_state["ddpm.dataset"] == "fashion" and at.query_params["ddpm.dataset"] == "fashion"


def test_an_empty_canvas_asks_for_a_drawing_and_holds_the_sheet(lang, tmp_path, monkeypatch):
    """The shared digit picker: nothing drawn yet is a hint, not an error, and the sheet waits for it."""
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    tiny_checkpoint(tmp_path)
    at = app_test(lang, **{"ddpm.input": "draw"})
    assert not at.exception, at.exception
    assert TABLES[lang]["digit.draw.hint"] in [i.value for i in at.info] and not at.error
    assert at.button(key="ddpm.sheet.go").disabled


@pytest.mark.slow
def test_img2img_numbers_and_the_contact_sheet_are_the_cores(tmp_path, monkeypatch):
    """The shared img2img helpers on this page: the metrics are step_plan's, the sheet's cells are
    ddpm.contact_sheet's (a background job: jobs.watch waits for it, then the page reruns and keeps it)."""
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    tiny_checkpoint(tmp_path)
    state = {"ddpm.strength": 0.6, "ddpm.sheet.strengths": [0.4, 1.0], "ddpm.sheet.guidances": [1.0]}
    at = app_test("en", **state, **{"ddpm.sheet.steps": 3})
    assert not at.exception, at.exception
    plan = ddpm.step_plan(4, 0.6, "ddpm")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[TABLES["en"]["img2img.steps_run"]] == str(len(plan.timesteps))
    assert metrics[TABLES["en"]["img2img.start_t"]] == str(plan.timesteps[0])
    assert metrics[TABLES["en"]["img2img.signal_left"]] == f"{plan.signal_left:.2f}"
    at.button(key="ddpm.sheet.go").click().run()
    assert not at.exception, at.exception
    sheet, rows, cols = at.session_state["ddpm.sheet"]
    assert rows == [0.4, 1.0] and cols == [1.0] and len(sheet) == 2 and sheet[1][0].shape == (112, 112)
    unet, _ = ddpm.load_cached("mnist")
    digit = core_data.load("mnist").test_x[18]  # the page's default input
    expected = ddpm.contact_sheet(unet, digit, 3, [0.4, 1.0], [1.0], 3, "ddpm", seed=0)
    assert (ddpm.pictures(expected[1], factor=4)[0] == sheet[1][0]).all()
    assert any(TABLES["en"]["img2img.sheet.done"].split("{")[0] in s.value for s in at.success)


# --- real browser ------------------------------------------------------------------------------

SLOW_MS = 600_000  # the first run imports diffusers and samples: minutes on a busy 2-core machine


def open_slow(page, server, path: str, query: str) -> None:
    """open_app with room for a slow first run (it waits for the title, then for the run to end)."""
    page.goto(f"{server}/{path}?{query}")
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=SLOW_MS)
    wait_idle(page, timeout_ms=SLOW_MS)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(1800)  # first runs import diffusers and train a step: minutes on a busy machine
def test_browser_sampling_img2img_and_presenter(server, page):
    """Sample, scrub, img2img with a strength, presenter mode at 1280×720: screenshots in zh and en."""
    if not ddpm.checkpoint_path("mnist").exists():  # the tests' own MODEL_DIR (see conftest)
        tiny_checkpoint(ARTIFACTS / "model-cache")
    for lang in ("zh", "en"):
        T = TABLES[lang]
        page.set_viewport_size({"width": 1440, "height": 900})
        open_app(page, server, "", f"lang={lang}")
        open_slow(page, server, "diffusion", f"lang={lang}&ddpm.steps=20")
        dismiss_dialogs(page)
        assert not exception_text(page), exception_text(page)
        page.get_by_text(T["ddpm.x0.uncond"]).first.wait_for(timeout=SLOW_MS)
        snap(page, f"ddpm_sample_{lang}")
        page.get_by_role("tab", name=T["ddpm.tab.img2img"]).click()
        wait_idle(page, timeout_ms=SLOW_MS)
        page.get_by_text(T["ddpm.arith.text"].split("=")[0].strip()).first.wait_for(timeout=SLOW_MS)
        page.get_by_text(T["img2img.steps_run"]).first.wait_for(timeout=SLOW_MS)  # the shared helpers
        page.get_by_text(T["img2img.download"]).first.wait_for(timeout=SLOW_MS)
        snap(page, f"ddpm_img2img_{lang}")
        snap_tall(page, f"ddpm_img2img_tall_{lang}", height=2600)
        assert not exception_text(page), exception_text(page)
    page.set_viewport_size({"width": 1280, "height": 720})
    open_slow(page, server, "diffusion", "lang=zh&present=1&ddpm.steps=20")
    page.get_by_text(TABLES["zh"]["ddpm.x0.uncond"]).first.wait_for(timeout=SLOW_MS)
    wait_idle(page)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow
    snap(page, "ddpm_presenter_1280", full_page=False)
    # training live with Stop: Fashion-MNIST has no cached model, so the page offers to train one
    page.set_viewport_size({"width": 1440, "height": 900})
    open_slow(page, server, "diffusion", "lang=en&ddpm.dataset=fashion&ddpm.train_steps=200")
    T = TABLES["en"]
    if page.get_by_role("button", name=T["ddpm.train.button"], exact=True).count():
        page.get_by_role("button", name=T["ddpm.train.button"], exact=True).click()
        page.get_by_text(re.compile(r"Step \d+ of 200: loss")).first.wait_for(timeout=SLOW_MS)
        snap(page, "ddpm_training_en")
        page.get_by_role("button", name=T["common.stop"]).click()
        page.get_by_text(T["ddpm.train.stopped"].split("{")[0].strip()).first.wait_for(timeout=SLOW_MS)
        assert not exception_text(page), exception_text(page)
        snap(page, "ddpm_stopped_en")
