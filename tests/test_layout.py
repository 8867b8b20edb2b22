"""Every page on a projector (1280×720, presenter mode) and on a laptop (1440×900), in both languages:
no sideways scrolling, no cut metric, titles larger than the text, a sidebar that leaves room.

Pages add their own checks (grids that must not overlap, charts that must fit) in their own tests;
this one holds every page to the same floor, so a new page is checked the day it is registered.
"""

import pytest

from tests.conftest import LAPTOP, PROJECTOR, exception_text, layout_problems, open_app, snap
from ui.pages import PAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = {"present": (PROJECTOR, "present=1"), "laptop": (LAPTOP, "present=0")}


@pytest.fixture(scope="module")
def tabs(browser):
    """One tab per screen, reused across pages (opening a context per page costs seconds on 2 cores)."""
    made = {}
    for name, (size, _) in SCREENS.items():
        context = browser.new_context(viewport=size, locale="zh-CN")
        context.set_default_timeout(60_000)
        made[name] = context.new_page()
    yield made
    for tab in made.values():
        tab.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("path", ["", *(p.url for p in PAGES)], ids=["home", *(p.url for p in PAGES)])
def test_page_fits_the_screen(server, tabs, path, screen, lang):
    tab = tabs[screen]
    open_app(tab, server, path, f"{SCREENS[screen][1]}&lang={lang}")
    assert not exception_text(tab), exception_text(tab)
    problems = layout_problems(tab)
    if screen == "present":
        collapsed = tab.evaluate(
            "() => document.querySelector(\"[data-testid='stSidebar']\").dataset.collapsed"
        )
        assert collapsed == "true", "presenter mode starts with the sidebar collapsed"
        snap(tab, f"present_{path or 'home'}_{lang}", full_page=False)
    assert not problems, f"/{path} at {screen} in {lang}: {problems}"
