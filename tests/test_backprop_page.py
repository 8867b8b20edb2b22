"""The backprop page: AppTest in both languages (every section), a real browser with screenshots."""

import pytest
import torch

from core import backprop as bp
from tests.conftest import app_test
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
