"""The Stable Diffusion page: AppTests (both languages) of the no-weights view and of a run on the tiny
pipeline, and a browser test of both with screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import app_test, exception_text, open_app, snap, wait_idle
from tests.tiny_sd import build_tiny_img2img
from ui.i18n import t

PAGE = "pages/sd_fantasy.py"
NO_WEIGHTS = "nobody-here/no-such-model"
LONG_PROMPT = ("奇幻风景 fantasy 🏔️ " * 800)[:10_000]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions on a busy 2-core machine: one thread is faster
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return build_tiny_img2img(tmp_path_factory.mktemp("tiny_sd_page"))


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_no_weights_view_still_teaches_and_explains(lang, monkeypatch):
    monkeypatch.setenv("OFFLINE", "1")  # no network probe: the refusal must come at once
    at = app_test(PAGE, lang, timeout=120, **{"sd.model": NO_WEIGHTS})
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("sd.steps_run", lang)] == "38" and metrics[t("sd.start_t", lang)] == "741"
    assert t("sd.weights.missing", lang, model=NO_WEIGHTS) in texts(at.info)
    assert len(at.get("image")) >= 1  # the input and its noisy starting point
    at.button(key="sd.go").click().run()
    assert not at.exception
    error = texts(at.error)
    assert "make prepare" in error and f"hf download {NO_WEIGHTS}" in error
    assert ("权重" in error) == (lang == "zh")
    # ... and the rest of the page keeps working: DDIM's arithmetic
    at.selectbox(key="sd.scheduler").set_value("ddim").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("sd.steps_run", lang)] == "37" and metrics[t("sd.start_t", lang)] == "721"


def test_settings_that_run_nothing_are_a_sentence_not_a_crash(lang):
    at = app_test(PAGE, lang, timeout=120, **{"sd.model": NO_WEIGHTS, "sd.steps": 10, "sd.strength": 0.05})
    assert not at.exception
    assert "0.50" in texts(at.error)
    assert at.button(key="sd.go").disabled


def test_presenter_mode_hides_the_advanced_controls(lang):
    at = app_test(PAGE, lang, timeout=120, present=True, **{"sd.model": NO_WEIGHTS})
    assert not at.exception
    assert not at.selectbox and len(at.text_input) == 0  # no scheduler, model or negative prompt
    assert at.metric and at.button(key="sd.go")


@pytest.mark.slow
def test_a_run_on_the_tiny_pipeline(lang, tiny_folder):
    at = app_test(
        PAGE,
        lang,
        timeout=180,
        **{
            "sd.model": str(tiny_folder),
            "sd.side": 128,
            "sd.steps": 4,
            "sd.strength": 0.5,
            "sd.guidance": 2.0,
            "sd.prompt": LONG_PROMPT,
        },
    )
    found = t("sd.weights.here", lang, model=str(tiny_folder), where=t("sd.where.folder", lang))
    assert found in texts(at.caption)
    at.button(key="sd.go").click().run()
    assert not at.exception, at.exception
    done = texts(at.success)
    assert "501" in done and ("3 个 UNet 步" in done if lang == "zh" else "3 UNet steps" in done)
    assert "77" in texts(at.info)  # the 10,000-character prompt: CLIP's limit is said, not crashed on
    result, _, _ = at.session_state["sd.result"]
    assert result.image.size == (128, 80) and len(result.previews) == 3
    assert at.get("download_button"), "the PNG download is offered"


@pytest.mark.slow
def test_contact_sheet_on_the_tiny_pipeline(tiny_folder):
    at = app_test(
        PAGE,
        "en",
        timeout=180,
        **{
            "sd.model": str(tiny_folder),
            "sd.side": 128,
            "sd.sheet.strengths": [0.5, 1.0],
            "sd.sheet.guidances": [1.0],
            "sd.sheet.steps": 2,
        },
    )
    at.button(key="sd.sheet.go").click().run()
    assert not at.exception, at.exception
    sheet, rows, cols = at.session_state["sd.sheet"]
    assert rows == [0.5, 1.0] and cols == [1.0] and len(sheet) == 2 and sheet[1][0].size == (128, 80)


# --- the real browser ------------------------------------------------------------------------------


def tall_snap(page, name: str) -> None:
    """Streamlit scrolls inside its own container: grow the window to the page to capture all of it."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(max(900, height + 40), 6000)})
    page.wait_for_timeout(500)
    snap(page, name, full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def open_sd(page, server, query: str) -> None:
    """Open the page by a link with its settings. (On a fresh server the first session's deep link
    gets Streamlit's "Page not found" modal, as the pages register during that run: open home first.)"""
    if not getattr(page, "_sd_home_seen", False):
        open_app(page, server)
        page._sd_home_seen = True
    page.goto(f"{server}/fantasy?{query}")
    wait_idle(page, 240_000)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_no_weights_and_tiny_run(server, page, tiny_folder):
    from urllib.parse import quote

    for lang in ("zh", "en"):
        open_sd(page, server, f"lang={lang}&sd.model={quote(NO_WEIGHTS, safe='')}")
        page.wait_for_selector("[data-testid='stMetricValue']")
        assert "741" in page.locator("[data-testid='stMetric']").nth(1).inner_text()
        assert exception_text(page) == ""
        page.get_by_role("button", name=t("sd.generate", lang), exact=True).click()
        wait_idle(page, 120_000)
        alert = page.locator("[data-testid='stAlert']").all_inner_texts()
        assert any(NO_WEIGHTS in a and "huggingface.co" in a for a in alert), alert  # offline or 404
        assert exception_text(page) == ""
        tall_snap(page, f"sd_no_weights_{lang}")

        open_sd(
            page,
            server,
            f"lang={lang}&sd.model={quote(str(tiny_folder), safe='')}&sd.side=128&sd.steps=6&sd.strength=0.5",
        )
        page.get_by_role("button", name=t("sd.generate", lang), exact=True).click()
        wait_idle(page, 240_000)
        assert exception_text(page) == ""
        page.get_by_text(t("sd.download", lang)).wait_for()
        tall_snap(page, f"sd_tiny_run_{lang}")
