"""The shared digit picker (ui/digit_input.py) from two pages' points of view, in both languages.

The feature-map page uses it (tests/test_features_page.py); these scripts use it as the diffusion page
(index or drawing, its own default) and the VAE page (a fixed source per endpoint, Fashion-MNIST names) would.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.i18n import TABLES


def diffusion_like() -> None:
    import streamlit as st

    from core import data
    from ui.digit_input import digit_input, digit_state
    from ui.state import sync_url

    digit_state("ddpm.", sources=("index", "draw"), index=18)
    found = digit_input("ddpm.", data.load("mnist"), sources=("index", "draw"), side=168)
    if found is not None:
        picked, caption = found
        st.image(picked.image, caption=caption)
    sync_url("ddpm.")


def vae_like() -> None:
    import streamlit as st

    from core import data
    from core.models import build_seeded
    from core.train import predict_proba
    from ui.digit_input import digit_input, digit_state, prediction_ui

    ds = data.load("mnist")
    digit_state("vae.a_", sources=("class", "draw"), digit=4)
    picked, caption = digit_input("vae.a_", ds, source="class")  # the page's own radio chose "class"
    st.caption(caption)
    prediction_ui(predict_proba(build_seeded("slides_cnn", 0).eval(), picked.image)[0], ds, big=True)


def run(script, lang: str, **state) -> AppTest:
    at = AppTest.from_function(script, default_timeout=60)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_index_or_drawing_with_the_pages_own_default(lang, mnist):
    text = TABLES[lang]
    at = run(diffusion_like, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="ddpm.input").options == [text["digit.source.index"], text["digit.source.draw"]]
    assert at.number_input(key="ddpm.index").value == 18
    caption = text["digit.caption.test"].format(index=18, label=int(mnist.test_y[18]))
    assert at.get("image")[0].proto.imgs[0].caption == caption
    at.number_input(key="ddpm.index").set_value(5).run()
    assert at.query_params["ddpm.index"] == "5"  # the picker's keys are the page's URL keys
    at.radio(key="ddpm.input").set_value("draw").run()
    assert not at.exception and [i.value for i in at.info] == [text["digit.draw.hint"]]  # nothing drawn yet


def test_a_fixed_source_draws_no_radio_and_the_prediction_names_the_class(lang, mnist):
    import torch

    from core.models import build_seeded
    from core.train import predict_proba

    text = TABLES[lang]
    at = run(vae_like, lang, **{"vae.a_nth": 1})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.radio and at.selectbox(key="vae.a_digit").value == 4
    index = int(torch.nonzero(mnist.test_y == 4).flatten()[1])  # the second 4
    assert at.caption[0].value == text["digit.caption.test"].format(index=index, label=4)
    probs = predict_proba(build_seeded("slides_cnn", 0).eval(), mnist.test_x[index])[0]
    guess = int(probs.argmax())
    headline = "### " + text["digit.prediction"].format(label=guess, p=100 * float(probs[guess]))
    assert at.markdown[0].value == headline
