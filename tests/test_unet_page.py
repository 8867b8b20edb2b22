"""The UNet inspector page: AppTest in both languages, the live tab on the tiny pipeline, a real browser."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECTOR, app_test, exception_text, layout_problems, open_app, snap, wait_idle
from ui.i18n import TABLES

PAGE = "pages/unet_inspector.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.slow
def test_page_opens_on_the_mid_block_and_picks_another(lang):
    at = app_test(PAGE, lang, timeout=300)
    assert not at.exception, at.exception
    tr = TABLES[lang]
    assert metrics(at)[tr["unet.m.params"]] == "859.5 M"  # 859,520,964, short enough for a projector
    assert "859,520,964" in at.markdown[0].value  # the exact count, in the introduction
    assert metrics(at)[tr["unet.d.params"]] == "97.0 M"  # the mid block: 97,038,080
    assert metrics(at)[tr["unet.m.latent"]] == "64 × 64"
    assert metrics(at)[tr["unet.m.batch"]] == "2"  # guidance on by default
    assert at.selectbox(key="unet.block").value == "mid_block"
    assert any(tr["unet.mid.title"] == s.value for s in at.subheader)

    at.selectbox(key="unet.block").set_value("down_blocks.0").run()
    assert not at.exception, at.exception
    heading = tr["unet.details"].format(name="down_blocks.0", cls="CrossAttnDownBlock2D")
    assert heading in [s.value for s in at.subheader]
    parts = at.dataframe[0].value
    assert list(parts[tr["unet.col.class"]]) == ["ResnetBlock2D", "Transformer2DModel"] * 2 + ["Downsample2D"]
    cross = at.dataframe[1].value
    assert list(cross[tr["unet.col.query"]]) == [4096, 4096] and list(cross[tr["unet.col.keys"]]) == [77, 77]
    assert any("class CrossAttnDownBlock2D" in c.value for c in at.code)  # the diffusers source


@pytest.mark.slow
def test_the_homeworks_size_without_guidance(lang):
    at = app_test(PAGE, lang, timeout=300, **{"unet.size": "768x512", "unet.cfg": False, "unet.batch": 3})
    assert not at.exception, at.exception
    tr = TABLES[lang]
    assert metrics(at)[tr["unet.m.latent"]] == "64 × 96"
    assert metrics(at)[tr["unet.m.batch"]] == "3"
    assert metrics(at)[tr["unet.d.out"]] == "3×1280×8×12"  # the mid block at 768×512


@pytest.mark.slow
def test_live_tab_on_the_tiny_pipeline(tmp_path):
    from tests.tiny_sd import build_tiny_img2img

    folder = build_tiny_img2img(tmp_path / "tiny")
    at = app_test(PAGE, "en", timeout=300, **{"unet.model": str(folder), "device": "cpu"})
    at.button(key="unet.load").click().run()
    assert not at.exception, at.exception
    assert any("Loaded" in s.value for s in at.success)
    assert at.radio(key="unet.source").value == "sd15"
    at.radio(key="unet.source").set_value("loaded").run()
    assert metrics(at)[TABLES["en"]["unet.m.params"]] != "859.5 M"  # the tiny UNet's own count
    at.slider(key="unet.side").set_value(64).run()
    at.button(key="unet.run").click().run()
    assert not at.exception, at.exception
    block, mean = TABLES["en"]["unet.col.name"], TABLES["en"]["unet.col.mean"]  # translated headers too
    stats = next(d.value for d in at.dataframe if mean in d.value.columns)  # the live stats
    assert list(stats[block])[0] == "conv_in" and list(stats[block])[-1] == "conv_out"
    assert list(stats.columns) == [
        TABLES["en"][f"unet.col.{c}"] for c in ("name", "shape", "mean", "std", "min", "max")
    ]
    assert len(at.get("image")) == 10  # one map per token: <|startoftext|>, 8 word pieces, <|endoftext|>


def test_a_missing_pipeline_is_explained_and_load_waits():
    """Weights neither here nor downloadable: one sentence before any click, a link to a UNet that needs
    none, and Load off (ui.weights.pipeline_status, shared with the SD page)."""
    at = app_test(PAGE, "zh", timeout=300, **{"unet.model": "/nonexistent/folder"})
    assert not at.exception, at.exception
    expected = TABLES["zh"]["unet.weights.missing"].format(model="/nonexistent/folder")
    assert any(i.value == expected for i in at.info)
    assert at.button(key="unet.load").disabled


def no_skeletons(page) -> None:
    """Wait until no element is a grey placeholder: just after the first run, a few (metrics among them)
    are for up to half a second, and a screenshot taken then shows an empty box."""
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=30_000)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("ui_lang", ["zh", "en"])
def test_browser_click_a_block_and_read_its_details(server, page, ui_lang):
    from playwright.sync_api import expect

    # A cold server greets a first deep link with "Page not found" (pages register during that run):
    # open the home page first, then ours, with room for the first import of diffusers.
    open_app(page, server, query=f"lang={ui_lang}")
    page.goto(f"{server}/unet?lang={ui_lang}")
    wait_idle(page, timeout_ms=240_000)
    if page.get_by_role("dialog").count():
        page.keyboard.press("Escape")
    page.wait_for_selector(
        "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg", timeout=120_000
    )
    tr = TABLES[ui_lang]
    mid_heading = tr["unet.details"].format(name="mid_block", cls="UNetMidBlock2DCrossAttn")
    expect(page.get_by_text(mid_heading)).to_be_visible(timeout=60_000)
    no_skeletons(page)
    snap(page, f"unet_{ui_lang}", full_page=False)
    # Pick a block the way a student does: the selectbox under the diagram.
    label = page.get_by_text(tr["unet.block"], exact=True)
    box = page.locator("[data-testid='stSelectbox']").filter(has=label)
    box.locator("input").click()
    box.locator("input").fill("up_blocks.1")  # the list filters as one types
    page.get_by_role("option").filter(has_text="up_blocks.1 · CrossAttnUpBlock2D").first.click()
    wait_idle(page, timeout_ms=120_000)
    heading = page.get_by_text(tr["unet.details"].format(name="up_blocks.1", cls="CrossAttnUpBlock2D"))
    heading.wait_for(timeout=60_000)
    page.wait_for_url("**unet.block=up_blocks.1**", timeout=30_000)  # the fragment writes the address bar too
    assert not exception_text(page), exception_text(page)
    heading.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    snap(page, f"unet_block_{ui_lang}", full_page=False)
    mid = page.get_by_text(tr["unet.mid.title"])
    mid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    snap(page, f"unet_mid_{ui_lang}", full_page=False)
    assert not layout_problems(page), layout_problems(page)

    # The projector: 1280×720 in presenter mode, the headline numbers whole, the U drawn
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{server}/unet?lang={ui_lang}&present=1")
    wait_idle(page, timeout_ms=240_000)
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("859.5 M", timeout=120_000)
    page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")
    assert not layout_problems(page), layout_problems(page)
    no_skeletons(page)
    snap(page, f"unet_present_{ui_lang}", full_page=False)
    page.get_by_text(tr["unet.diagram"]).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    snap(page, f"unet_present_diagram_{ui_lang}", full_page=False)


def test_the_mnist_diffusion_unet_is_shown_beside_sd15(lang):
    """Issue #18: the inspector also opens the small UNet that the MNIST diffusion page trains."""
    from core import ddpm
    from core.models import count_parameters

    at = app_test("pages/unet_inspector.py", lang)
    assert not at.exception
    T = TABLES[lang]
    assert T["unet.mnist.title"] in [e.label for e in at.expander]
    total = count_parameters(ddpm.build_unet())
    assert T["unet.mnist.body"].format(params=total) in [m.value for m in at.markdown]
    rows = ddpm.describe_unet()
    assert sum(r.params for r in rows) == total and rows[0].in_shape[1:] == (1, 28, 28)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_live_tab_loads_and_runs_the_tiny_pipeline(server, page, tmp_path):
    """The live tab's two background jobs in a real browser: load the pipeline, run its UNet once."""
    from playwright.sync_api import expect

    from tests.tiny_sd import build_tiny_img2img

    folder = build_tiny_img2img(tmp_path / "tiny")
    tr = TABLES["en"]
    open_app(page, server, query="lang=en")
    page.goto(f"{server}/unet?lang=en&device=cpu")
    wait_idle(page, timeout_ms=240_000)
    page.get_by_role("tab", name=tr["unet.tab.live"]).click()
    model = page.get_by_label(tr["unet.live.model"], exact=True)
    model.fill(str(folder))
    model.press("Enter")
    wait_idle(page, timeout_ms=60_000)
    page.get_by_role("button", name=tr["unet.live.load"], exact=True).click()
    expect(page.get_by_text(re.compile(r"^Loaded: "))).to_be_visible(timeout=240_000)
    side = page.get_by_role("slider", name=tr["unet.live.side"])
    side.focus()
    side.press("Home")  # 64 px: the smallest analysis
    wait_idle(page, timeout_ms=60_000)
    page.get_by_role("button", name=tr["unet.live.run"], exact=True).click()
    expect(page.get_by_text(tr["unet.live.maps"])).to_be_visible(timeout=240_000)
    assert not exception_text(page), exception_text(page)
    page.get_by_text(tr["unet.live.stats"]).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    snap(page, "unet_live_en", full_page=False)
    page.get_by_text(tr["unet.live.maps"]).scroll_into_view_if_needed()  # the statistics table and the maps
    page.wait_for_timeout(500)
    snap(page, "unet_live_maps_en", full_page=False)
