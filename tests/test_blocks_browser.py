"""The building-block pages in a real browser: presenter mode at 1280×720 (no horizontal overflow, no cut
metric), the laptop view at 1440×900, typing a sentence, and the live experiment's progress and Stop."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import exception_text, layout_problems, open_app, snap, snap_tall, wait_idle
from ui.i18n import TABLES

pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const boxes = ["stMetricValue", "stMetricLabel", "stButtonGroup", "stWidgetLabel", "stTab"]
    .map(id => `[data-testid='${id}']`).join(", ");
  const cut = [...main.querySelectorAll(boxes)]
    .flatMap(e => [e, ...e.querySelectorAll('*')])
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText.slice(0, 60));
  const body = document.documentElement.scrollWidth - window.innerWidth;
  return {page: main.scrollWidth - main.clientWidth, body, cut};
}"""


def assert_fits(page) -> None:
    fit = page.evaluate(OVERFLOW)
    assert fit["page"] <= 1 and fit["body"] <= 1, fit
    assert not fit["cut"], f"truncated metrics: {fit['cut']}"
    assert not layout_problems(page), layout_problems(page)  # the project's floor for every page


@pytest.mark.parametrize("path", ["residual", "attention", "norm"])
def test_presenter_mode_fits_a_projector(server, browser, path):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        for lang in ("zh", "en"):
            page.goto(f"{server}/{path}?present=1&lang={lang}")
            page.wait_for_selector("[data-testid='stMain'] h1", timeout=180_000)
            wait_idle(page, timeout_ms=240_000)  # a fresh server builds ResNet-18 three times for this page
            title = {"residual": "nav.residual", "attention": "nav.attention", "norm": "nav.norm"}[path]
            expect(page.locator("h1").first).to_have_text(TABLES[lang][title])
            page.wait_for_selector("[data-testid='stMetricValue']")
            assert not exception_text(page)
            assert_fits(page)
            snap(page, f"blocks_{path}_presenter_{lang}", full_page=False)
            snap_tall(page, f"blocks_{path}_presenter_{lang}_tall", height=2600)
    finally:
        context.close()


def test_laptop_views_and_a_typed_sentence(server, page):
    open_app(page, server, "attention", "lang=en")
    box = page.get_by_role("textbox", name=TABLES["en"]["attn.text"])
    box.fill("The cat sat on the mat")
    box.press("Enter")
    page.locator("[data-testid='stMain']").get_by_text(TABLES["en"]["attn.mode.word"], exact=True).click()
    expect(page.get_by_text("6 tokens: The | cat | sat | on | the | mat")).to_be_visible(timeout=120_000)
    wait_idle(page)  # the caption comes first: the heatmaps below it are still being redrawn
    assert_fits(page)
    snap_tall(page, "blocks_attention_en", height=3200)
    box.fill("")
    box.press("Enter")
    expect(page.get_by_text("Type a sentence first", exact=False)).to_be_visible(timeout=120_000)
    for path in ("residual", "norm"):
        open_app(page, server, path, "lang=zh")
        page.wait_for_selector("[data-testid='stMetricValue']")
        assert not exception_text(page)
        assert_fits(page)
        snap_tall(page, f"blocks_{path}_zh", height=3000)


def test_normalization_tabs_and_the_bn_ln_experiment(server, page):
    open_app(page, server, "norm", "lang=en")
    tabs = page.locator("[data-testid='stTab']")
    tabs.nth(1).click()
    expect(page.get_by_text(TABLES["en"]["norm.running_mean"])).to_be_visible()
    snap_tall(page, "blocks_norm_running_en", height=1800)
    tabs.nth(3).click()
    expect(page.get_by_text(TABLES["en"]["norm.drop.kept"])).to_be_visible()
    assert_fits(page)
    snap_tall(page, "blocks_norm_dropout_en", height=1600)
    tabs.nth(2).click()
    page.get_by_role("button", name=TABLES["en"]["norm.exp.run"]).click()
    expect(page.get_by_text("Done. Test accuracy on 1,000 images", exact=False)).to_be_visible(
        timeout=240_000
    )
    wait_idle(page)
    assert not exception_text(page)
    page.locator("[data-testid='stTab']").nth(2).click()
    assert_fits(page)
    snap_tall(page, "blocks_norm_bnln_en", height=3000)


def test_residual_experiment_shows_progress_and_stops(server, page):
    open_app(page, server, "residual", "lang=en")
    expect(page.locator("[data-testid='stGraphVizChart'] svg")).to_be_visible(timeout=120_000)
    page.get_by_role("button", name=TABLES["en"]["res.exp.run"]).click()
    expect(page.get_by_text(re.compile(r"Step \d+: plain \d")).first).to_be_visible(timeout=120_000)  # live
    snap(page, "blocks_residual_running", full_page=False)
    page.get_by_role("button", name=TABLES["en"]["common.stop"]).click()
    expect(page.get_by_text("Done: final loss plain", exact=False)).to_be_visible(timeout=120_000)
    wait_idle(page)
    assert not exception_text(page)
    snap_tall(page, "blocks_residual_stopped", height=3400)
