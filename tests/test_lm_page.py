"""The language-model page: AppTests in both languages (a tiny real training run, writing, attention,
structure, the CNN comparison, save/load and odd input), and a browser test with screenshots."""

from __future__ import annotations

import pytest
import torch

from core import gpt, text
from tests.conftest import (
    app_test,
    dismiss_dialogs,
    exception_text,
    layout_problems,
    open_app,
    run_until,
    snap,
    snap_tall,
    streamlit_server,
    wait_idle,
)
from ui.i18n import TABLES

PAGE = "pages/language_model.py"
TINY = (
    {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16},
    {"steps": 6, "eval_every": 3, "eval_batches": 1, "batch_size": 4, "sample_chars": 4},
)


@pytest.fixture
def tiny_recipes(monkeypatch):
    """The page's recipes shrunk to a few steps of a 1-layer model (the code path is the real one)."""
    monkeypatch.setitem(gpt.RECIPES, "quick", TINY)
    monkeypatch.setitem(gpt.RECIPES, "long", TINY)


def tiny_model(name: str = "tang300"):
    corpus = text.load(name)
    tok = text.Tokenizer.from_text(corpus.text)
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.size, **TINY[0])).eval()
    return model, tok, gpt.History()


def all_text(at) -> str:
    parts = [
        e.value
        for kind in ("caption", "markdown", "info", "success", "error", "warning")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_before_training_the_page_names_source_licence_and_baseline(lang):
    at = app_test(PAGE, lang)
    assert not at.exception, at.exception
    T = TABLES[lang]
    assert at.title[0].value == T["nav.lm"]
    body = all_text(at)
    assert "/usr/share/games/fortunes/tang300" in body and "GPL-3.0+" in body and "fortunes-zh" in body
    corpus = text.load("tang300")
    tok = text.Tokenizer.from_text(corpus.text)
    bigram = text.bigram_loss(*text.split(corpus, tok), tok.size)
    assert f"{bigram:.2f}" in at.info[0].value  # the baseline the student must beat, as computed in core


@pytest.mark.slow
def test_a_tiny_run_trains_then_writes_and_shows_attention(lang, tiny_recipes):
    at = app_test(PAGE, lang, timeout=120)
    at.button(key="lm.go.gpt").click().run()
    run_until(at, lambda a: "lm.job" not in a.session_state and a.session_state.get("lm.gpt"))
    assert not at.exception, at.exception
    assert at.success, "no 'done' sentence"
    model, tok, history = at.session_state["lm.gpt"]["tang300"]
    assert history.steps == 6 and len(history.evals) >= 2
    assert TABLES[lang]["keep.tensorboard.one"] in [b.label for b in at.get("download_button")]
    assert [tab.label for tab in at.tabs] == [
        TABLES[lang][f"lm.tab.{k}"] for k in ("write", "attention", "structure", "cnn")
    ]
    at.button(key="lm.write.go").click().run()
    assert not at.exception, at.exception
    written = at.session_state["lm.generated"]
    assert written.startswith("春") and len(written) == 1 + 100  # the prompt, then lm.n characters
    # the same text again from core, with the same seed: the page adds nothing of its own
    assert written == "".join(gpt.generate(model, tok, "春", 100, 0.8, 20, 0))
    T = TABLES[lang]
    at.session_state["lm.tab"] = T["lm.tab.attention"]  # only the open tab runs
    at.run()
    assert not at.exception, at.exception
    window = gpt.context_window(tok.encode(written), model.block_size, tok.index["\n"])
    assert T["lm.att.explain"].format(n=len(window)) in all_text(at)
    at.session_state["lm.tab"] = T["lm.tab.structure"]
    at.run()
    table = at.dataframe[0].value
    top = table[~table.iloc[:, 0].str.startswith(" ")]
    assert top.iloc[:, 2].sum() == gpt.count_parameters(model)  # torchinfo's rows add up to the model
    at.session_state["lm.tab"] = T["lm.tab.cnn"]
    at.run()
    at.button(key="lm.go.cnn").click().run()
    run_until(at, lambda a: "lm.job" not in a.session_state and a.session_state.get("lm.cnn"))
    assert not at.exception, at.exception
    cnn = at.session_state["lm.cnn"]["tang300"][0]
    assert [m.value for m in at.metric][1:] == [str(model.block_size), str(cnn.config.receptive_field)]
    assert T["lm.cnn.bypos"].format(rf=cnn.config.receptive_field) in all_text(at)


def test_odd_prompts_get_sentences(lang):
    at = app_test(PAGE, lang, **{"lm.gpt": {"tang300": tiny_model()}})
    for prompt, key in (("", "empty" if lang == "en" else "为空"), ("春☃", "☃"), ("春" * 17, "17")):
        at.text_input(key="lm.prompt").set_value(prompt)
        at.button(key="lm.write.go").click().run()
        assert not at.exception, at.exception
        assert at.error, f"no sentence for prompt {prompt!r}"
        assert key in at.error[0].value
    at.text_input(key="lm.prompt").set_value("春")
    at.button(key="lm.write.go").click().run()
    assert not at.error and at.session_state["lm.generated"].startswith("春")  # the session keeps working


def test_missing_corpus_package_gets_a_sentence(lang, monkeypatch, tmp_path):
    import streamlit as st

    monkeypatch.setattr(text, "FORTUNES", tmp_path)
    st.cache_data.clear()  # the page caches each corpus per process
    at = app_test(PAGE, lang, **{"lm.corpus": "verse"})
    assert not at.exception, at.exception
    assert at.error and "fortunes" in at.error[0].value and "apt-get install fortunes" in at.error[0].value


def test_a_saved_model_loads_back_and_a_pickle_gets_a_sentence(lang):
    """The shared save/load expander (ui/weights.py): a download of this page loads back as the GPT."""
    model, tok, _ = tiny_model()
    at = app_test(PAGE, lang, timeout=120)
    assert not at.get("download_button")  # nothing trained or loaded: nothing to save
    blob = gpt.save(model, tok, {"corpus": "tang300"})
    at.file_uploader(key="lm.upload").set_value(("gpt.safetensors", blob, "application/octet-stream")).run()
    assert not at.exception, at.exception
    loaded = at.session_state["lm.gpt"]["tang300"][0]
    assert isinstance(loaded, gpt.GPT) and torch.equal(loaded.lm_head.weight, model.lm_head.weight)
    said = TABLES[lang]["lm.loaded"].format(kind="GPT", n=gpt.count_parameters(model), corpus="tang300")
    assert said in [s.value for s in at.success]
    assert at.get("download_button")  # the loaded model can be saved again
    at.file_uploader(key="lm.upload").set_value(
        ("evil.pt", b"\x80\x04K\x01.", "application/octet-stream")
    ).run()
    assert not at.exception and at.error and "lm.gpt" in at.session_state  # a sentence; the model stays


# --- real browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lm_server():
    """A server whose runs are capped at 8 steps (LM_MAX_STEPS): the browser test trains for real, briefly."""
    with streamlit_server({"LM_MAX_STEPS": "8"}) as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_browser_trains_writes_and_shows_attention_and_structure(lm_server, page):
    from playwright.sync_api import expect

    T = TABLES["en"]
    open_app(page, lm_server, "lm", "lang=en")
    dismiss_dialogs(page)
    page.get_by_role("button", name=T["lm.train"]).click()
    expect(page.locator("[data-testid=stAlertContentSuccess]")).to_contain_text(
        "Trained 8 steps", timeout=300_000
    )
    wait_idle(page, 180_000)
    page.get_by_role("button", name=T["lm.write"], exact=True).click()
    expect(
        page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer]", has_text="春").first
    ).to_be_visible(timeout=180_000)
    wait_idle(page, 180_000)
    assert exception_text(page) == ""
    snap_tall(page, "lm_write_en", 2200)

    page.get_by_role("tab", name=T["lm.tab.attention"]).click()
    expect(page.get_by_text(T["lm.att.lh"].format(l=2, h=4))).to_be_visible(timeout=180_000)
    pills = page.locator("[data-testid=stButtonGroup]").last.locator("button")
    picked = pills.nth(3).inner_text()
    pills.nth(3).click()
    expect(page.get_by_text(f"Where {picked} looked", exact=False).first).to_be_visible(timeout=180_000)
    wait_idle(page, 180_000)
    assert exception_text(page) == ""
    snap_tall(page, "lm_attention_en", 2600)

    page.get_by_role("tab", name=T["lm.tab.structure"]).click()
    expect(page.locator("[data-testid=stGraphVizChart] svg").first).to_be_visible(timeout=180_000)
    snap_tall(page, "lm_structure_en", 2400)

    page.get_by_role("tab", name=T["lm.tab.cnn"]).click()
    page.get_by_role("button", name=T["lm.cnn.train"]).click()
    expect(page.locator("[data-testid=stAlertContentSuccess]")).to_contain_text(
        "The CNN trained", timeout=300_000
    )
    wait_idle(page, 180_000)
    expect(page.get_by_text(T["lm.cnn.context"]).first).to_be_attached(timeout=180_000)
    assert exception_text(page) == ""
    snap_tall(page, "lm_cnn_en", 2400)
    assert not layout_problems(page), layout_problems(page)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_presenter_fits_1280x720_in_chinese(lm_server, page):
    from playwright.sync_api import expect

    T = TABLES["zh"]
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, lm_server, "lm", "lang=zh&present=1")
    dismiss_dialogs(page)
    page.get_by_role("button", name=T["lm.train"]).click()
    expect(page.locator("[data-testid=stAlertContentSuccess]")).to_contain_text(
        "训练了 8 步", timeout=300_000
    )
    wait_idle(page, 180_000)
    page.get_by_role("button", name=T["lm.write"], exact=True).click()
    wait_idle(page, 180_000)
    assert exception_text(page) == ""
    assert not layout_problems(page), layout_problems(page)
    snap(page, "lm_presenter_zh_1280", full_page=False)
    page.get_by_role("tab", name=T["lm.tab.attention"]).click()
    expect(page.get_by_text(T["lm.att.lh"].format(l=2, h=4))).to_be_visible(timeout=180_000)
    wait_idle(page, 180_000)
    assert not layout_problems(page), layout_problems(page)
    snap_tall(page, "lm_presenter_attention_zh", 2000)
