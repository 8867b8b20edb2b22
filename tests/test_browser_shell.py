"""Real browser: the home page loads, every page opens from the navigation, language switching works."""

import re
import time

import pytest

from tests.conftest import exception_text, open_app, snap, wait_idle
from ui.i18n import TABLES
from ui.pages import PAGES

pytestmark = pytest.mark.browser


def test_home_loads_fast_and_in_chinese(server, page):
    start = time.monotonic()
    open_app(page, server)
    elapsed = time.monotonic() - start
    page.get_by_role("heading", name="动手学深度学习").wait_for()
    snap(page, "home_zh")
    assert not exception_text(page)
    print(f"home page first render: {elapsed:.2f} s")


def test_every_page_opens_from_the_navigation(server, page):
    open_app(page, server)
    nav = page.locator("[data-testid='stSidebarNav']")
    for spec in PAGES:
        nav.get_by_text(TABLES["zh"][spec.title_key], exact=True).click()
        wait_idle(page, timeout_ms=120_000)
        assert page.url.rstrip("/").split("?")[0].endswith("/" + spec.url), page.url
        assert not exception_text(page), f"{spec.file}: {exception_text(page)}"


def test_language_switch_changes_visible_text_and_url(server, page):
    open_app(page, server)
    page.locator("[data-testid='stSidebar']").get_by_text("English", exact=True).click()
    wait_idle(page)
    page.get_by_role("heading", name="Deep learning, hands on").wait_for()  # waits for the rerun
    page.wait_for_function("() => window.location.search.includes('lang=en')")
    snap(page, "home_en")
    page.reload()  # the language comes back from the URL
    wait_idle(page)
    page.get_by_role("heading", name="Deep learning, hands on").wait_for()


def test_presenter_mode_from_a_link(server, page):
    open_app(page, server, query="present=1&lang=en")
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert size >= 40, size
    snap(page, "home_presenter_en", full_page=False)


def test_default_language_follows_the_browser(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    tab = context.new_page()
    try:
        open_app(tab, server)
        tab.get_by_role("heading", name="Deep learning, hands on").wait_for()
    finally:
        context.close()


CJK = re.compile(r"[\u4e00-\u9fff]")
UNCHECKED_RADIOS = (  # radios with options but none checked
    "() => [...document.querySelectorAll('[data-testid=stRadio]')]"
    ".filter(r => r.querySelector('input[type=radio]') && !r.querySelector('input:checked')).length"
)


def test_choices_follow_a_language_switch_on_every_page(server, page):
    """A choice widget holds its option's label: after 中文 -> English every selectbox shows the English
    label and every radio still has its option checked; switching back sends valid choices (no error)."""
    sidebar = page.locator("[data-testid='stSidebar']")
    for spec in PAGES:
        open_app(page, server, spec.url, "lang=zh")
        sidebar.get_by_text("English", exact=True).click()
        page.get_by_role("heading", name=TABLES["en"][spec.title_key]).first.wait_for()
        wait_idle(page, timeout_ms=120_000)
        shown = page.locator("[data-testid=stSelectbox]").all_inner_texts()
        assert not [s for s in shown if CJK.search(s)], f"{spec.file}: Chinese labels left in {shown}"
        assert page.evaluate(UNCHECKED_RADIOS) == 0, f"{spec.file}: a radio lost its choice"
        assert not exception_text(page), f"{spec.file}: {exception_text(page)}"
        sidebar.get_by_text("中文", exact=True).click()
        page.get_by_role("heading", name=TABLES["zh"][spec.title_key]).first.wait_for()
        wait_idle(page, timeout_ms=120_000)
        assert not exception_text(page), f"{spec.file}: {exception_text(page)}"
        assert page.evaluate(UNCHECKED_RADIOS) == 0, f"{spec.file}: a radio lost its choice (back in 中文)"
