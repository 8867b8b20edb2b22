"""The leaderboard page: off by default, on with a setting; nicknames as plain text; in a real browser."""

import pytest

from core import leaderboard as lb
from tests.conftest import app_test, exception_text, open_app, snap, streamlit_server, wait_idle
from ui.i18n import TABLES

HOSTILE = "<img src=x onerror=alert(1)>"


def post_some(url):
    board = lb.Leaderboard(url)
    board.post(lb.Entry("小明 🎉", "bn_cnn", "adam", 3, 0.9921, 61.0, {"batch_norm": True}), "s1")
    board.post(lb.Entry(HOSTILE[:24], "two_layer_cnn", "sgd", 1, 0.9312, 20.0, {"dropout": 0.3}), "s2")


def test_off_by_default(lang, monkeypatch):
    monkeypatch.delenv("LEADERBOARD", raising=False)
    monkeypatch.delenv("LEADERBOARD_URL", raising=False)
    at = app_test("pages/leaderboard.py", lang)
    assert not at.exception
    assert [i.value for i in at.info] == [TABLES[lang]["board.off"]]


def test_on_shows_entries_as_plain_text(lang, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    post_some(url)
    monkeypatch.setenv("LEADERBOARD_URL", url)
    at = app_test("pages/leaderboard.py", lang)
    assert not at.exception
    table = at.dataframe[0].value
    names = list(table[TABLES[lang]["board.col.nickname"]])
    assert names == ["小明 🎉", HOSTILE[:24]]  # best first, verbatim
    ideas = table[TABLES[lang]["board.col.ideas"]][0]
    assert TABLES[lang]["board.idea.bn"] in ideas


def test_lecturer_clears_with_the_token(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    post_some(url)
    monkeypatch.setenv("LEADERBOARD_URL", url)
    monkeypatch.setenv("LEADERBOARD_TOKEN", "t0ken")
    at = app_test("pages/leaderboard.py", "en")
    at.text_input(key="board.token").input("wrong")
    at.button(key="board.clear_btn").click().run()
    assert at.error and lb.Leaderboard(url).count() == 2
    at.text_input(key="board.token").input("t0ken")
    at.button(key="board.clear_btn").click().run()
    assert at.success[0].value == "Cleared 2 entries." and lb.Leaderboard(url).count() == 0


@pytest.mark.browser
def test_browser_projected_leaderboard(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    post_some(url)
    with streamlit_server({"LEADERBOARD_URL": url}) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
        tab = context.new_page()
        try:
            open_app(tab, base, "leaderboard", "present=1&lang=zh")
            tab.get_by_text(TABLES["zh"]["board.by_idea"]).wait_for()
            wait_idle(tab)
            assert tab.evaluate("() => !document.querySelector('img[src=x]')"), "a nickname became HTML"
            assert not exception_text(tab)
            tab.wait_for_timeout(1000)
            snap(tab, "leaderboard_present_zh", full_page=False)
        finally:
            context.close()
