"""The language-model page: AppTests in both languages (a tiny real training run, writing, attention,
structure, the CNN comparison, save/load and odd input), and a browser test with screenshots."""

from __future__ import annotations

import time

import pytest
import torch

from core import gpt, text
from tests.conftest import app_test, exception_text, open_app, snap, wait_idle
from ui.i18n import TABLES

PAGE = "pages/language_model.py"
TINY = ({"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16}, {"steps": 6, "eval_every": 3, "eval_batches": 1,
                                                                       "batch_size": 4, "sample_chars": 4})


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


def run_until(at, done, timeout: float = 300.0):
    """Rerun the page (as jobs.watch would) until `done(at)` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the job did not finish in time"
        time.sleep(0.5)
        at.run()
    return at


def all_text(at) -> str:
    parts = [e.value for kind in ("caption", "markdown", "info", "success", "error", "warning") for e in getattr(at, kind)]
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
    assert [tab.label for tab in at.tabs] == [TABLES[lang][f"lm.tab.{k}"] for k in ("write", "attention", "structure", "cnn")]
    at.button(key="lm.write.go").click().run()
    assert not at.exception, at.exception
    written = at.session_state["lm.generated"]
    assert written.startswith("春") and len(written) == 1 + 100  # the prompt, then lm.n characters
    # the same text again from core, with the same seed: the page adds nothing of its own
    assert written == "".join(gpt.generate(model, tok, "春", 100, 0.8, 20, 0))


def test_odd_prompts_get_sentences(lang):
    found = tiny_model()
    for prompt, key in (("", "empty"), ("春☃", "☃"), ("春" * 17, "17")):
        at = app_test(PAGE, lang, **{"lm.gpt": {"tang300": found}, "lm.prompt": prompt})
        at.button(key="lm.write.go").click().run()
        assert not at.exception, at.exception
        assert at.error, f"no sentence for prompt {prompt!r}"
        message = at.error[0].value
        if key == "empty":
            assert ("empty" in message) if lang == "en" else ("为空" in message)
        else:
            assert key in message


def test_missing_corpus_package_gets_a_sentence(lang, monkeypatch, tmp_path):
    import streamlit as st

    monkeypatch.setattr(text, "FORTUNES", tmp_path)
    st.cache_data.clear()  # the page caches each corpus per process
    at = app_test(PAGE, lang, **{"lm.corpus": "verse"})
    assert not at.exception, at.exception
    assert at.error and "fortunes" in at.error[0].value and "apt-get install fortunes" in at.error[0].value
