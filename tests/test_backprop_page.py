"""The backprop page: AppTest in both languages (every section), a real browser with screenshots."""

import pytest
import torch

from core import backprop as bp
from tests.conftest import ROOT, app_test
from ui.i18n import TABLES

PAGE = "pages/backprop.py"
X, Y = (v.double() for v in bp.make_data())


def metric(at, key: str, lang: str, **fields) -> str:
    label = TABLES[lang][key].format(**fields) if fields else TABLES[lang][key]
    return next(m.value for m in at.metric if m.label == label)


def test_data_and_net_section_shows_the_seeds_loss(lang):
    at = app_test(PAGE, lang)
    assert not at.exception
    assert at.title[0].value == TABLES[lang]["nav.backprop"]
    f0 = float(bp.loss(bp.params_of(bp.seed_net(10)), X, Y))
    assert metric(at, "bp.net.loss", lang) == f"{f0:.4f}" == "54.6541"
    assert metric(at, "bp.net.params", lang) == "31"
    assert "torch.manual_seed(1)" in at.code[0].value and "n_hidden=10" in at.code[0].value
    at.slider(key="bp.hidden").set_value(3).run()
    assert metric(at, "bp.net.params", lang) == "10"  # 1·3 + 3 + 3·1 + 1
    assert at.query_params["bp.hidden"] == "3"


def test_gradients_section_hand_vs_autograd_finite_difference_and_mean(lang):
    at = app_test(PAGE, lang, **{"bp.section": "grads"})
    assert not at.exception
    assert float(metric(at, "bp.grads.maxdiff", lang)) <= 1e-10
    assert metric(at, "bp.grads.ratio", lang) == "100"
    assert r"\frac{\partial f}{\partial W_1}" in at.latex[0].value
    p = bp.params_of(bp.seed_net(10))
    at.selectbox(key="bp.fd_param").set_value("W2").run()
    at.number_input(key="bp.fd_index").set_value(7).run()
    hand = float(bp.gradients(p, X, Y)["W2"][7, 0])
    numeric = bp.finite_difference(p, X, Y, "W2", 7, 1e-6)
    assert metric(at, "bp.fd.hand", lang) == f"{hand:.8f}"
    assert metric(at, "bp.fd.numeric", lang) == f"{numeric:.8f}"
    at.radio(key="bp.reduction").set_value("mean").run()
    assert r"\tfrac{1}{N}" in at.latex[0].value
    assert metric(at, "bp.fd.hand", lang) == f"{hand / 100:.8f}"
    assert at.query_params["bp.reduction"] == "mean" and at.query_params["bp.fd_param"] == "W2"


def test_one_step_then_train_equals_sgd_and_a_big_rate_is_explained(lang):
    at = app_test(PAGE, lang, **{"bp.section": "train"})
    assert not at.exception
    assert at.info[0].value == TABLES[lang]["bp.train.empty"]
    at.button[1].click().run()  # One step
    assert metric(at, "bp.train.steps_done", lang) == "1"
    assert float(metric(at, "bp.train.maxdiff", lang)) <= 1e-10
    at.select_slider(key="bp.steps").set_value(100).run()
    at.button[0].click().run()  # Train: a background job; the page waits for it, then reruns
    assert not at.exception
    assert metric(at, "bp.train.steps_done", lang) == "101"
    assert float(metric(at, "bp.train.maxdiff", lang)) <= 1e-10
    done = at.session_state["bp.weights"]
    ref = bp.params_of(bp.seed_net(10))
    for _ in range(101):
        ref = bp.gd_step(ref, X, Y, 0.002)
    assert bp.max_difference(done["params"], ref) <= 1e-10
    assert TABLES[lang]["bp.train.done"].split("{")[0] in at.success[0].value
    at.select_slider(key="bp.lr").set_value(0.02).run()
    at.button[0].click().run()
    warning = at.warning[0].value
    assert warning.startswith(TABLES[lang]["bp.train.diverged"].split("{")[0] + "0.02")
    assert all(torch.isfinite(v).all() for v in at.session_state["bp.weights"]["params"].values())
    assert at.query_params["bp.lr"] == "0.02"


def test_minibatch_section_numbers_are_the_cores(lang):
    at = app_test(PAGE, lang, **{"bp.section": "batch"})
    assert not at.exception
    table = at.dataframe[0].value
    p = bp.params_of(bp.seed_net(10))
    for b in (5, 100):
        run = bp.minibatch_sgd(p, X, Y, b, 0.2, 50)
        row = table[table[TABLES[lang]["bp.big.col.batch"]] == b].iloc[0]
        assert row[TABLES[lang]["bp.batch.final"]] == f"{run.records[-1]['full_loss']:.4f}"
        assert row[TABLES[lang]["bp.big.col.steps"]] == 100 // b
    at.select_slider(key="bp.mb_lr").set_value(1.0).run()
    at.select_slider(key="bp.batch").set_value(1).run()
    assert TABLES[lang]["bp.batch.diverged"].format(b=1, lr="1") in [w.value for w in at.warning]


def test_saving_section_pickle_demonstration(lang):
    at = app_test(PAGE, lang, **{"bp.section": "save"})
    assert not at.exception
    assert "torch.save(net, 'net_all.pkl')" in at.code[0].value
    at.button[0].click().run()
    assert not at.exception
    demo = at.session_state["bp.demo"]
    assert demo.ran_with_pickle and demo.token in at.error[0].value
    assert "Weights only load failed" in at.info[0].value
    assert "note_unpickling" in at.code[1].value


def test_presenter_mode_hides_the_advanced_controls(lang):
    at = app_test(PAGE, lang, present=True, **{"bp.section": "train"})
    assert not at.exception
    assert not [s for s in at.select_slider if s.key == "bp.steps"]
    at = app_test(PAGE, lang, present=True, **{"bp.section": "grads"})
    assert not at.dataframe and float(metric(at, "bp.grads.maxdiff", lang)) <= 1e-10


def test_a_shared_link_opens_the_same_view(lang):
    """A lecturer's link: section, width, element and rate from the URL; a hand-edited value is ignored."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state["lang"] = lang
    for key, value in {
        "bp.section": "grads",
        "bp.hidden": "4",
        "bp.fd_param": "b1",
        "bp.fd_index": "3",
        "bp.lr": "0.123",
    }.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.session_state["bp.hidden"] == 4 and at.session_state["bp.fd_param"] == "b1"
    assert at.session_state["bp.lr"] == 0.002  # 0.123 is not one of the rates offered
    p = bp.params_of(bp.seed_net(4))
    assert metric(at, "bp.fd.hand", lang) == f"{float(bp.gradients(p, X, Y)['b1'][3]):.8f}"


@pytest.mark.slow
def test_big_data_job_in_the_page(monkeypatch, lang):
    """The 10,000,000-point button, on a smaller set (same code path, a child process)."""
    monkeypatch.setattr(bp, "BIG_N", 200_000)
    at = app_test(PAGE, lang, **{"bp.section": "batch"})
    small = bp.BigConfig(n=200_000, batch_sizes=(100, 200_000), budget_s=0.2)
    monkeypatch.setattr(bp, "BigConfig", lambda: small)
    at.button[0].click().run(timeout=120)
    assert not at.exception
    rows = at.session_state["bp.big_rows"]
    assert [r["batch_size"] for r in rows if r["stage"] == "batch"] == [100, 200_000]
    assert at.success[0].value == TABLES[lang]["bp.big.done"]


# --- a real browser ---------------------------------------------------------------------------------

OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const right = main.getBoundingClientRect().right;
  const watched = '[data-testid="stMetric"] *, .katex-display, [data-testid="stButtonGroup"], '
    + '[data-testid="stButtonGroup"] *, [data-testid="stMarkdownContainer"], [data-testid="stCode"] pre';
  const clipped = [...main.querySelectorAll(watched)].filter(e => {
    if (e.closest('[data-testid="stExpander"]')) return false;
    const style = getComputedStyle(e);
    const clips = ['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)
      || style.textOverflow === 'ellipsis';
    return clips && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 3;
  }).map(e => (e.innerText || e.className.toString()).slice(0, 60));
  const outside = [...main.querySelectorAll('button, [data-testid="stMetric"], .katex-display')]
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > right + 1; })
    .map(e => (e.innerText || e.tagName).slice(0, 60));
  return {page: document.documentElement.scrollWidth - window.innerWidth,
          main: main.scrollWidth - main.clientWidth, clipped: clipped, outside: outside};
}"""


def no_overflow(page) -> None:
    found = page.evaluate(OVERFLOW_JS)
    assert found["page"] <= 0 and found["main"] <= 0, found
    assert not found["clipped"] and not found["outside"], found  # cut labels, metrics, formulas, buttons


def metric_value(page, label: str):
    return (
        page.locator("[data-testid='stMetric']")
        .filter(has_text=label)
        .locator("[data-testid='stMetricValue']")
    )


@pytest.mark.browser
@pytest.mark.slow
def test_browser_train_live_save_and_reload(server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.conftest import dismiss_dialogs, exception_text, open_app, snap, wait_idle
    from tests.hostile_corpus import checkpoint_cases

    en = TABLES["en"]
    open_app(page, server)
    open_app(page, server, "backprop", "lang=en&bp.section=train&bp.steps=1000")
    dismiss_dialogs(page)
    no_overflow(page)
    page.get_by_role("button", name=en["bp.train.go"]).click()
    page.get_by_text("Training: step").first.wait_for(timeout=60_000)  # the live view, redrawn as it runs
    snap(page, "backprop_training_live_en", full_page=False)
    page.get_by_text(en["bp.train.done"].split("{")[0]).wait_for(timeout=120_000)
    expect(metric_value(page, en["bp.train.steps_done"])).to_have_text("1000", timeout=30_000)
    assert float(metric_value(page, en["bp.train.maxdiff"]).inner_text()) <= 1e-10
    assert not exception_text(page)
    snap(page, "backprop_trained_en", full_page=False)
    # One step reruns the fragment only: the step count moves on, the URL keeps the settings
    page.get_by_role("button", name=en["bp.train.one"]).click()
    expect(metric_value(page, en["bp.train.steps_done"])).to_have_text("1001", timeout=30_000)
    assert "bp.steps=1000" in page.url

    # 5 · Saving: download the trained weights, upload them back, predictions equal
    page.get_by_role("radio", name=en["bp.section.save"]).or_(
        page.get_by_text(en["bp.section.save"])
    ).first.click()
    page.get_by_text(en["bp.save.download"]).wait_for(timeout=30_000)
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_text(en["bp.save.download"]).click()
    saved = tmp_path / "net_1_10_1.safetensors"
    info.value.save_as(saved)
    uploader = page.locator("[data-testid='stFileUploader'] input[type='file']").first
    uploader.set_input_files(str(saved))
    page.get_by_text(en["bp.save.equal"].split("(")[0].format(h=10)).wait_for(timeout=60_000)
    assert not exception_text(page)
    snap(page, "backprop_reloaded_en", full_page=False)
    # a pickle with code in it gets a sentence, and its code never runs
    cases = checkpoint_cases(tmp_path / "hostile", good_state=bp.seed_net(10).state_dict())
    uploader.set_input_files(str(cases["raw_pickle_code"]))
    page.locator("[data-testid='stAlert']").filter(
        has_text="it is a pickle (torch.save) file"
    ).first.wait_for(timeout=60_000)
    assert not cases["marker"].exists()
    # the in-app demonstration: code runs while unpickling bytes the app made itself
    page.get_by_role("button", name=en["bp.pickle.go"]).click()
    page.get_by_text("Weights only load failed").first.wait_for(timeout=60_000)
    assert not exception_text(page)
    snap(page, "backprop_pickle_en", full_page=False)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_presenter_mode_fits_1280x720(server, page):
    from tests.conftest import dismiss_dialogs, exception_text, open_app, snap, snap_tall

    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, server)
    for section in ("net", "grads", "train", "batch", "save"):
        open_app(page, server, "backprop", f"lang=zh&present=1&bp.section={section}")
        dismiss_dialogs(page)
        page.locator("[data-testid='stExpander']").first.wait_for(timeout=60_000)  # the end of the page
        page.wait_for_timeout(1000)  # charts and formulas finish drawing
        assert not exception_text(page)
        no_overflow(page)
        snap(page, f"backprop_presenter_{section}_zh", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_app(page, server, "backprop", "lang=zh&bp.section=grads")
    no_overflow(page)
    snap_tall(page, "backprop_grads_zh", height=2400)
