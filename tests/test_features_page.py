"""The feature-map page: AppTest in both languages (maps, channel, layer, a PCA map) and a real browser."""

from __future__ import annotations

import json

import pytest

from core import features
from tests.conftest import app_test, exception_text, layout_problems, open_app, snap, wait_idle
from ui.i18n import TABLES

PAGE = "pages/feature_maps.py"


@pytest.fixture(scope="module")
def session_model():
    """A real zoo model, as the trainer page leaves it in the session (seeded weights keep the test fast)."""
    from core.models import build_seeded

    model = build_seeded("slides_cnn", 0).eval()
    return model, {"name": "slides_cnn", "options": {}, "test_acc": 0.1}


def _images(at):
    return at.get("image")


def _charts(at):
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _chart_data(at, index):
    """The rows of a chart's dataset (Streamlit ships them beside the spec, as Arrow bytes)."""
    import pyarrow as pa

    proto = at.get("vega_lite_chart")[index].proto
    return pa.ipc.open_stream(proto.datasets[0].data.data).read_all().to_pylist()


def test_page_shows_maps_kernels_prediction_and_a_pca_map(lang, session_model):
    model, meta = session_model
    at = app_test(
        PAGE,
        lang,
        timeout=180,
        **{"train.model": model, "train.model_meta": meta, "feat.method": "pca", "feat.n": 500},
    )
    assert not at.exception, [e.value for e in at.exception]
    text = TABLES[lang]
    assert at.title[0].value == text["nav.features"]
    expected = text["feat.session.caption"].format(name="slides_cnn", acc=10.0)
    assert any(c.value == expected for c in at.caption)
    # default layer: the first conv's output, all 16 channels in the grid; the first kernels too
    assert at.selectbox(key="feat.layer").value == "conv1"
    captions = [img.proto.imgs[0].caption for img in _images(at)]
    assert text["feat.grid.caption"].format(layer="conv1", c=16, shape="16 × 28 × 28") in captions
    assert text["feat.kernels.caption"].format(c=16, k=5) in captions
    assert any(m.value.startswith("**" + text["digit.prediction"].split("**")[1][:2]) for m in at.markdown)

    # pick the slides' example-7 layers: after the second pooling, then the flat vector
    at.selectbox(key="feat.layer").set_value("pool2").run()
    captions = [img.proto.imgs[0].caption for img in _images(at)]
    assert text["feat.grid.caption"].format(layer="pool2", c=32, shape="32 × 7 × 7") in captions
    at.number_input(key="feat.channel").set_value(31).run()
    # the enlarged channel's value range equals a hand-written forward (the slides' example 7)
    import torch.nn.functional as F

    from core.data import load, normalize

    x = normalize(load("mnist").test_x[:1])
    ref = F.max_pool2d(F.relu(model.conv2(F.max_pool2d(F.relu(model.conv1(x)), 2))), 2)[0, 31].detach()
    big = text["feat.channel.title"].format(layer="pool2", k=31, lo=float(ref.min()), hi=float(ref.max()))
    assert big in [img.proto.imgs[0].caption for img in _images(at)]
    at.selectbox(key="feat.layer").set_value("flatten").run()
    captions = [img.proto.imgs[0].caption for img in _images(at)]
    assert text["feat.grid.caption"].format(layer="flatten", c=1, shape="1568") in captions
    assert not at.exception, [e.value for e in at.exception]

    # whole layers: PCA of 500 test images for the report's layers (second conv, first fc = last fc here)
    assert at.multiselect(key="feat.elayers").value == ["conv1", "conv2", "out"]
    at.button(key="feat.embed.go").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    specs = _charts(at)
    pca = text["feat.method.pca"]
    titles = [(s.get("title") or {}) for s in specs]
    titles = [title.get("text", "") if isinstance(title, dict) else title for title in titles]
    scatter = [i for i, title in enumerate(titles) if title.endswith(pca)]
    assert [titles[i] for i in scatter] == [f"{n} · {pca}" for n in ("conv1", "conv2", "out")]
    rows = _chart_data(at, scatter[0])
    assert len(rows) == 500 and rows[0]["image"].startswith("data:image/png;base64,")
    assert {r["digit"] for r in rows} == {str(d) for d in range(10)}
    assert any(t.get("field") == "image" for t in specs[scatter[0]]["encoding"]["tooltip"])
    # one legend for all maps, in the maps' own colours: digit d is palette colour d in every scatter
    from ui.charts import PALETTE

    legend = next(m.value for m in at.markdown if "●" in m.value)
    assert all(f'<span style="color:{PALETTE[d]}">●</span> {d}' in legend for d in range(10)), legend
    scale = specs[scatter[0]]["encoding"]["color"]["scale"]
    assert scale["domain"] == [str(d) for d in range(10)] and scale["range"] == PALETTE
    assert at.query_params["feat.elayers"] == '["conv1","conv2","out"]'  # in the URL via ui/state


def test_by_class_input_and_missing_session_model(lang):
    at = app_test(
        PAGE, lang, timeout=120, **{"feat.source": "session", "feat.input": "class", "feat.digit": 3}
    )
    assert not at.exception, [e.value for e in at.exception]
    assert any(i.value == TABLES[lang]["feat.session.none"] for i in at.info)
    captions = [img.proto.imgs[0].caption for img in _images(at)]
    assert captions == []  # no model, no maps: the page says why instead


@pytest.mark.slow
def test_quick_default_trains_in_the_background_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    at = app_test(PAGE, "en", timeout=300, **{"feat.source": "quick", "feat.quick": "slides_cnn", "seed": 11})
    assert at.button(key="feat.quick.go").label == TABLES["en"]["feat.quick.train"]
    at.button(key="feat.quick.go").click().run(timeout=600)  # jobs.watch waits, then the page reruns
    assert not at.exception, [e.value for e in at.exception]
    caption = next(c.value for c in at.caption if c.value.startswith("Quick default"))
    accuracy = float(caption.rsplit("accuracy ", 1)[1].rstrip("%."))
    assert accuracy > 85.0, caption  # one epoch on 5,000 real images really learns
    assert at.selectbox(key="feat.layer").value == "conv1"
    assert features.quick_path("slides_cnn", 11).exists()  # the next session (and student) loads it
    again = app_test(PAGE, "zh", timeout=120, **{"feat.source": "quick", "seed": 11})
    assert [b.key for b in again.button] == ["feat.embed.go"]  # no "Train the quick model": it loads
    assert again.selectbox(key="feat.layer").value == "conv1"


def no_overflow(page) -> None:
    """conftest's layout floor (no sideways scroll, title ≥ text), and no radio option label cut."""
    assert not layout_problems(page), layout_problems(page)
    cut = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stRadio] label')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert cut == 0, f"{cut} option labels cut"


@pytest.mark.slow
@pytest.mark.browser
def test_browser_maps_and_scatter_in_both_languages_and_sizes(server, page):
    open_app(page, server)  # a fresh server's first session must not open on a sub-page
    for lang in ("zh", "en"):
        text = TABLES[lang]
        for width, height, present in ((1440, 900, 0), (1280, 720, 1)):
            page.set_viewport_size({"width": width, "height": height})
            query = f"lang={lang}&present={present}&feat.source=quick&feat.quick=slides_cnn"
            open_app(page, server, "features", query + "&feat.index=4&feat.layer=relu1&feat.n=500")
            button = page.get_by_role("button", name=text["feat.quick.train"])
            caption = text["feat.grid.caption"].format(layer="relu1", c=16, shape="16 × 28 × 28")
            try:
                button.or_(page.get_by_text(caption)).first.wait_for(timeout=60_000)
                if button.is_visible():
                    button.click()  # the first time: the quick model trains on the server, with progress
                page.get_by_text(caption).wait_for(timeout=300_000)
                wait_idle(page)
            except Exception:
                snap(page, f"features_failed_{lang}")  # what the page showed instead
                raise
            assert not exception_text(page)
            no_overflow(page)
            page.get_by_text(text["feat.input.title"]).scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            snap(page, f"features_input_{lang}_{width}", full_page=False)  # the digit picker, the prediction
            page.get_by_text(text["feat.scale.positive"]).scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            snap(page, f"features_maps_{lang}_{width}", full_page=False)
            page.get_by_role("button", name=text["feat.embed.go"]).click()
            page.get_by_text(text["feat.embed.caption"].format(n=500, perplexity=30)).wait_for(
                timeout=300_000
            )
            wait_idle(page)
            assert not exception_text(page)
            charts = page.locator("[data-testid='stVegaLiteChart']")
            assert charts.count() == 7  # probabilities + 3 layers × (PCA, t-SNE)
            charts.last.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].every("
                "c => c.querySelector('canvas, svg'))"
            )
            no_overflow(page)
            snap(page, f"features_embed_{lang}_{width}", full_page=False)


@pytest.mark.slow
@pytest.mark.browser
def test_browser_a_photo_of_a_handwritten_digit(server, page, tmp_path):
    """Dark pen on light paper, uploaded: the page shows it as an MNIST digit and the model reads it."""
    import numpy as np
    import torch.nn.functional as F
    from PIL import Image

    from core.data import load

    seven = load("mnist").test_x[0].float()[None, None]  # a 7, white on black
    big = F.interpolate(seven, size=(240, 240), mode="bilinear")[0, 0].clamp(0, 255).numpy()
    paper = np.pad(255 - big, 40, constant_values=255).astype(np.uint8)  # black pen, a white margin
    Image.fromarray(paper).save(tmp_path / "seven.png")
    text = TABLES["en"]
    page.set_viewport_size({"width": 1280, "height": 720})
    query = "lang=en&present=1&feat.source=quick&feat.quick=slides_cnn&feat.input=upload"
    open_app(page, server, "features", query)
    button = page.get_by_role("button", name=text["feat.quick.train"])
    button.or_(page.get_by_text(text["digit.upload.hint"])).first.wait_for(timeout=60_000)
    if button.is_visible():
        button.click()  # this test alone: the quick model trains first
    page.get_by_text(text["digit.upload.hint"]).wait_for(timeout=300_000)
    page.locator("[data-testid='stFileUploader'] input[type='file']").last.set_input_files(
        str(tmp_path / "seven.png")
    )
    page.get_by_text(text["digit.caption.upload"].format(file="seven.png")).wait_for(timeout=60_000)
    page.get_by_text(text["feat.scale.signed"]).wait_for(timeout=60_000)  # conv1's maps of the upload
    wait_idle(page)
    assert not exception_text(page)
    assert page.get_by_text("Prediction: 7").count() == 1  # the model reads the photo as the 7 it is
    no_overflow(page)
    page.get_by_text(text["feat.input.title"]).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    snap(page, "features_upload_en_1280", full_page=False)


def test_presenter_mode_hides_advanced_controls(session_model):
    model, meta = session_model
    at = app_test(
        PAGE, "zh", timeout=120, **{"present": True, "train.model": model, "train.model_meta": meta}
    )
    assert not at.exception, [e.value for e in at.exception]
    keys = {w.key for w in at.slider} | {w.key for w in at.toggle}
    assert "feat.perplexity" not in keys and "feat.shared" not in keys  # fewer controls on a projector
    assert "feat.n" in keys and at.selectbox(key="feat.layer").value == "conv1"
