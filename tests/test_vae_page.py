"""The VAE page in both languages: sample, interpolate, walk the latent space, train when nothing is cached;
and in a real browser (screenshots in zh and en)."""

import pytest
import torch

from core import vae as core_vae
from core.models.vae import VAE
from tests.conftest import app_test, dismiss_dialogs, exception_text, open_app, snap_tall, wait_idle
from ui.i18n import TABLES

PAGE = "pages/vae_sampler.py"


def tiny_checkpoints(model_dir, monkeypatch, z_dims=(2,)):
    """Small VAEs in a private MODEL_DIR (the architecture is read back from the checkpoint)."""
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    for z in z_dims:
        torch.manual_seed(z)
        model = VAE(z_dim=z, hidden=16, channels=(4, 8)).eval()
        core_vae.save_cached(
            model, "mnist", 1.0, {"epochs": 1, "test_loss": 200.0, "test_recon": 190.0, "test_kl": 10.0}
        )


def images(at) -> list:
    """Every st.image element of the last run, in page order (their protos carry the media URLs)."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if type(child).__name__ == "Image":
                found.append(str(child.proto))
            walk(child)

    walk(at._tree)
    return found


def texts(at) -> str:
    return "\n".join(
        [c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info]
    )


@pytest.mark.slow
def test_page_samples_and_interpolates(lang, tmp_path, monkeypatch):
    tiny_checkpoints(tmp_path, monkeypatch)
    T = TABLES[lang]
    at = app_test(PAGE, lang, timeout=120)
    assert not at.exception, at.exception
    assert at.title[0].value == T["nav.vae"]
    assert T["vae.sample.explain"] in texts(at)
    assert [tab.label for tab in at.tabs] == [
        T["vae.tab.sample"],
        T["vae.tab.interp"],
        T["vae.tab.latent"],
        T["vae.tab.recon"],
    ]
    # sample grid + two endpoints + two strips (linear and slerp) + manifold + inputs + reconstructions
    before = images(at)
    assert len(before) == 8, len(before)

    # Sample: "New samples" draws another grid (another seed); nothing else changes
    at.button(key="vae.sample.go").click().run()
    assert not at.exception
    assert at.session_state["vae.sample_seed"] == 1
    after = images(at)
    assert after[0] != before[0] and after[1:3] == before[1:3]

    # Interpolate: other endpoints, slerp only, 5 steps -> one strip and one GIF download
    at.selectbox(key="vae.a_class").set_value(3)
    at.selectbox(key="vae.b_class").set_value(8)
    at.radio(key="vae.method").set_value("slerp")
    at.slider(key="vae.steps").set_value(5).run()
    assert not at.exception, at.exception
    assert len(at.get("download_button")) == 1
    assert T["vae.interp.slerp"] in texts(at) and f"**{T['vae.interp.linear']}**" not in texts(at)
    index_a = int(at.session_state["vae._a_index"])
    from core.data import load

    assert int(load("mnist").test_y[index_a]) == 3
    assert len(images(at)) == 7


def test_latent_sliders_move_one_decoded_digit(tmp_path, monkeypatch):
    tiny_checkpoints(tmp_path, monkeypatch, z_dims=(4,))
    at = app_test(PAGE, "en", timeout=120, **{"vae.z": 4})
    assert not at.exception, at.exception
    dims = [s for s in at.slider if s.key and s.key.startswith("vae.dim")]
    assert len(dims) == 4 and all(s.value == 0.0 for s in dims)
    decoded = images(at)[-3]  # the slider image sits before the two reconstruction rows
    at.slider(key="vae.dim1").set_value(2.5).run()
    assert images(at)[-3] != decoded
    at.radio(key="vae.start").set_value("zero")
    at.button(key="vae.reset").click().run()
    assert at.session_state["vae.dim1"] == 0.0 and images(at)[-3] == decoded


@pytest.mark.slow
def test_without_a_checkpoint_the_page_trains_one_with_live_curves(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    T = TABLES["zh"]
    at = app_test(PAGE, "zh", timeout=300, **{"vae.z": 2})
    assert not at.exception, at.exception
    assert any("z = 2" in i.value for i in at.info)  # "no trained VAE for ... yet"
    assert not at.tabs
    at.select_slider(key="vae.subset").set_value(2_000)
    at.slider(key="vae.epochs").set_value(1)
    at.button(key="vae.train.go").click().run()
    assert not at.exception, at.exception
    assert any(T["vae.train.done"].split("{")[0] in s.value for s in at.success)
    assert any(T["vae.model.session"].split("（")[0] in c.value for c in at.caption)
    assert len(at.tabs) == 4
    assert core_vae.checkpoint_path("mnist", 2).exists()  # cached for the next student
    assert len(at.get("vega_lite_chart")) >= 3  # recon and KL curves + the latent scatter


def test_missing_fashion_checkpoint_offers_training(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    at = app_test(PAGE, "en", timeout=120, **{"vae.dataset": "fashion"})
    assert not at.exception, at.exception
    assert (
        at.info or at.error
    )  # no checkpoint (or, without Debian's files, the sentence saying how to get them)


# --- real browser ------------------------------------------------------------------------------


def wait_for_query(page, text: str, timeout_ms: int = 60_000) -> None:
    """Wait until the address bar's query holds `text` (pages mirror their settings there)."""
    page.wait_for_function("t => window.location.search.includes(t)", arg=text, timeout=timeout_ms)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser_sample_and_interpolate(server, page, lang):
    """Open the page, draw new samples, switch to the Interpolate tab, pick slerp; screenshots."""
    T = TABLES[lang]
    # a small training run (URL settings) in case `make prepare` has not cached the z = 2 VAE yet
    open_app(page, server, "", f"lang={lang}")  # the first session of a fresh server registers the pages
    open_app(page, server, "vae", f"lang={lang}&vae.z=2&vae.subset=2000&vae.epochs=1")
    dismiss_dialogs(page)
    assert not exception_text(page), exception_text(page)
    if page.get_by_role("tab", name=T["vae.tab.sample"]).count() == 0:
        page.get_by_role("button", name=T["vae.train.button"], exact=True).click()
        wait_idle(page, timeout_ms=300_000)
        assert not exception_text(page), exception_text(page)
    page.get_by_role("button", name=T["vae.sample.new"]).click()
    wait_for_query(page, "vae.sample_seed=1")  # the click reran the page and the seed went up
    wait_idle(page)
    snap_tall(page, f"vae_sample_{lang}", height=1700)
    page.get_by_role("tab", name=T["vae.tab.interp"]).click()
    page.get_by_text(T["vae.interp.slerp"], exact=True).first.click()
    wait_for_query(page, "vae.method=slerp")
    wait_idle(page)
    assert page.get_by_role("button", name=T["vae.interp.gif"]).count() == 1
    assert not exception_text(page), exception_text(page)
    snap_tall(page, f"vae_interpolate_{lang}", height=1700)
    page.get_by_role("tab", name=T["vae.tab.latent"]).click()
    page.wait_for_timeout(500)
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 1  # the latent scatter
    snap_tall(page, f"vae_latent_{lang}", height=1700)
    if core_vae.checkpoint_path("mnist", 20).exists():  # z > 2: one slider per latent dimension
        open_app(page, server, "vae", f"lang={lang}&vae.z=20")
        page.get_by_role("tab", name=T["vae.tab.latent"]).click()
        page.wait_for_timeout(500)
        assert page.locator("[data-testid='stSlider']").count() >= 20
        assert not exception_text(page), exception_text(page)
        snap_tall(page, f"vae_sliders_{lang}", height=1700)


def test_presenter_mode_and_drawn_endpoints(tmp_path, monkeypatch):
    tiny_checkpoints(tmp_path, monkeypatch)
    at = app_test(PAGE, "zh", timeout=120, present=True, **{"vae.src": "draw", "vae.method": "linear"})
    assert not at.exception, at.exception
    keys = {w.key for w in [*at.number_input, *at.select_slider, *at.slider]}
    assert "vae.sample_seed" not in keys and "vae.n" not in keys and "vae.grid" not in keys  # fewer controls
    assert at.button(key="vae.sample.go")  # the one control a lecturer needs stays
    assert any(TABLES["zh"]["vae.interp.draw"] == i.value for i in at.info)  # nothing drawn yet: no strip
    assert not at.get("download_button")
