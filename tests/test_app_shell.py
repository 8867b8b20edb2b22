"""AppTest: the router, the sidebar and every page render without exception in both languages."""

import pytest

from tests.conftest import app_test
from ui.i18n import TABLES
from ui.pages import PAGES


def test_router_renders_in_both_languages(lang):
    at = app_test("app.py", lang)
    assert not at.exception
    assert at.title[0].value == TABLES[lang]["app.title"]


def test_switching_language_changes_the_text():
    at = app_test("app.py", "zh")
    assert at.title[0].value == "动手学深度学习"
    at.session_state["lang"] = "en"
    at.run()
    assert at.title[0].value == "Deep learning, hands on"


@pytest.mark.parametrize("page_file", [p.file for p in PAGES])
def test_every_page_renders(page_file, lang):
    """Each page file alone (the home page needs the router for its links: covered above)."""
    at = app_test(page_file, lang, timeout=120)
    assert not at.exception, at.exception
