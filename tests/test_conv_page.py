"""The convolution explorer page: AppTest in both languages, a real browser (stride slider, screenshots)."""

import re

import pytest

try:  # the browser tests need it; `make gpu-check` runs this file's AppTests where it is not installed
    from playwright.sync_api import expect
except ImportError:
    expect = None

from tests.conftest import (
    LAPTOP,
    PROJECTOR,
    app_test,
    dismiss_dialogs,
    exception_text,
    layout_problems,
    open_app,
    snap,
    snap_tall,
    wait_idle,
)
from ui.i18n import TABLES

PAGE = "pages/conv_explorer.py"


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def metric(at, key: str, lang: str) -> str:
    label = TABLES[lang][key]
    return next(m.value for m in at.metric if m.label == label)


def test_predict_first_then_reveal_the_slide_example(lang):
    at = app_test(PAGE, lang)
    assert not at.exception
    assert at.info[0].value == TABLES[lang]["conv.predict.ask"]
    assert not at.metric  # the size is hidden until the student guesses
    at.number_input(key="conv.guess_h").set_value(2)
    at.number_input(key="conv.guess_w").set_value(3)
    at.button[0].click().run()
    assert not at.exception
    assert at.warning[0].value == TABLES[lang]["conv.predict.wrong"].format(gh=2, gw=3, h=2, w=2)
    assert metric(at, "conv.out_size", lang) == "2 × 2"
    assert "0×0 + 1×1 + 3×2 + 4×3 = 19" in markdown_text(at)
    assert "⌊(3 + 2×0 − 1×(2 − 1) − 1) / 1⌋ + 1 = ⌊1 / 1⌋ + 1 = 2" in markdown_text(at)
    assert metric(at, "conv.torch.params", lang) == "5"  # 1×1×2×2 weights + 1 bias
    assert any("nn.Conv2d(in_channels=1, out_channels=1, kernel_size=2" in c.value for c in at.code)


def test_stride_slider_changes_the_output_size(lang):
    at = app_test(PAGE, lang, **{"conv.predict": False})
    at.selectbox(key="conv.example").set_value("slide_pad").run()  # runs load_example: padding 1
    assert metric(at, "conv.out_size", lang) == "4 × 4"
    at.slider(key="conv.stride").set_value(2).run()
    assert not at.exception
    assert metric(at, "conv.out_size", lang) == "2 × 2"
    assert metric(at, "conv.torch.shape", lang) == "[1, 1, 2, 2]"
    assert at.query_params["conv.stride"] == "2"  # the setting is in the URL


def test_step_slider_and_play_walk_the_window(lang):
    at = app_test(PAGE, lang, **{"conv.predict": False})
    at.slider(key="conv.step").set_value(4).run()
    assert "1×0 + 2×1 + 4×2 + 5×3" not in markdown_text(at)
    assert "4×0 + 5×1 + 7×2 + 8×3 = 43" in markdown_text(at)
    at.slider(key="conv.step").set_value(1).run()
    assert "0×0 + 1×1 + 3×2 + 4×3 = 19" in markdown_text(at)
    assert at.button(key="conv.play_button").label == TABLES[lang]["conv.play"]
    speed = at.select_slider(key="conv.speed")  # issue 12: Play's pace, seconds per cell
    assert speed.value == 1.0 and speed.options[0] == TABLES[lang]["conv.speed.value"].format(s=0.25)
    speed.set_value(0.25).run()
    assert not at.exception and at.query_params["conv.speed"] == "0.25"
    # Play runs in a fragment-only rerun, which AppTest does not make: the browser tests play and pause.


def test_multi_channel_and_pooling_examples(lang):
    at = app_test(PAGE, lang, **{"conv.predict": False})
    at.selectbox(key="conv.example").set_value("slide_multi").run()
    assert "(0×0 + 1×1 + 3×2 + 4×3) + (1×1 + 2×2 + 4×3 + 5×4) = 56" in markdown_text(at)
    assert metric(at, "conv.torch.params", lang) == "9"  # 1×2×2×2 + 1
    at.selectbox(key="conv.example").set_value("slide_pool").run()
    assert not at.exception
    assert "max(0, 1, 3, 4) = 4" in markdown_text(at)
    assert any("F.max_pool2d" in c.value for c in at.code)


def test_a_student_mistake_is_a_sentence_not_a_crash(lang):
    at = app_test(PAGE, lang, **{"conv.predict": False})
    at.slider(key="conv.dil").set_value(3).run()  # a 2×2 kernel dilated by 3 covers 4 cells > 3
    assert not at.exception
    assert "4" in at.error[0].value and ("padding" in at.error[0].value or "填充" in at.error[0].value)
    at.slider(key="conv.dil").set_value(1).run()
    at.text_area(key="conv.kernel").set_value("1 2\n3").run()
    assert not at.exception
    assert at.error[0].value.startswith("Every row" if lang == "en" else "卷积核的每一行")
    assert at.title[0].value == TABLES[lang]["nav.conv"]  # the page is still there


def test_photo_mode_with_the_test_card(lang):
    at = app_test(
        PAGE,
        lang,
        **{
            "conv.predict": False,
            "conv.mode": "photo",
            "conv.kname": "sobel_x",
            "conv.pad": 1,
            "conv.stride": 2,
            "conv.pool": "max",
        },
    )
    assert not at.exception, at.exception
    assert metric(at, "conv.out_size", lang) == "192 × 192"  # ⌊(384 + 2 − 2 − 1)/2⌋ + 1
    assert "96 × 96" in markdown_text(at)  # after 2×2 max pooling
    assert metric(at, "conv.torch.params_nobias", lang) == "27"  # 1 × 3 × 3 × 3
    assert any("F.max_pool2d(y, 2)" in c.value for c in at.code)
    # issue 12: the shape shown is the one the code beside it prints (after the pooling)
    assert metric(at, "conv.torch.shape", lang) == "[1, 1, 96, 96]"
    assert any("print(y.shape)  # torch.Size([1, 1, 96, 96])" in c.value for c in at.code)
    at.radio(key="conv.colour").set_value("gray").run()
    assert not at.exception
    assert metric(at, "conv.torch.params_nobias", lang) == "9"


def test_url_sets_the_view():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state["lang"] = "en"
    at.query_params.update({"conv.stride": "2", "conv.pad": "1", "conv.predict": "0"})
    at.run()
    assert metric(at, "conv.out_size", "en") == "2 × 2"


def test_a_link_naming_an_example_shows_its_numbers():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state["lang"] = "en"
    at.query_params.update({"conv.example": "slide_multi", "conv.predict": "0"})
    at.run()
    assert "(0×0 + 1×1 + 3×2 + 4×3) + (1×1 + 2×2 + 4×3 + 5×4) = 56" in markdown_text(at)


def test_a_link_naming_an_example_gets_its_padding_and_stride():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state["lang"] = "en"
    at.query_params.update({"conv.example": "slide_stride", "conv.predict": "0"})
    at.run()
    assert not at.exception
    assert (at.slider(key="conv.pad").value, at.slider(key="conv.stride").value) == (1, 3)
    assert at.slider(key="conv.stride_w").value == 2 and at.toggle(key="conv.axes").value
    assert metric(at, "conv.out_size", "en") == "2 × 2"  # rows (3+2-2)//3+1, columns (3+2-2)//2+1


def test_presenter_mode_hides_the_text_boxes():
    at = app_test(PAGE, "zh", present=True, **{"conv.predict": False})
    assert not at.exception
    assert not at.text_area and not at.toggle(key="conv.predict").value
    assert metric(at, "conv.out_size", "zh") == "2 × 2"


# --- real browser ---------------------------------------------------------------------------------


def range_input(page, label: str):
    """A Streamlit slider's <input type=range> (its accessible name includes the value: match aria-label).

    A rerun shows the previous run's elements, faded (data-stale="true"), until it replaces them: those
    are left out, so the locator always names the slider the student sees.
    """
    handle = page.locator(f'input[type=range][aria-label="{label}"]:not([data-stale="true"] *)')
    expect(handle).to_have_count(1, timeout=60_000)
    return handle


def metric_value(page, lang: str, key: str):
    """The value element of the metric labelled TABLES[lang][key] (a locator: expect() waits on it)."""
    box = page.locator("[data-testid='stMetric']").filter(has_text=TABLES[lang][key])
    return box.locator("[data-testid='stMetricValue']")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser_stride_slider_changes_the_output_size(server, page, lang):
    """Every check waits for the state it asserts: a busy machine draws the rerun late (issue 13)."""
    open_app(page, server)  # the home page first: a fresh server's very first deep link can say "not found"
    open_app(page, server, "conv", f"lang={lang}&conv.predict=0&conv.example=slide_pad&conv.pad=1")
    dismiss_dialogs(page)
    size = metric_value(page, lang, "conv.out_size")
    expect(size).to_have_text("4 × 4", timeout=60_000)
    stride = range_input(page, TABLES[lang]["conv.stride"])
    stride.focus()
    page.keyboard.press("ArrowRight")
    expect(size).to_have_text("2 × 2", timeout=60_000)
    expect(metric_value(page, lang, "conv.torch.shape")).to_have_text("[1, 1, 2, 2]", timeout=30_000)
    expect(page).to_have_url(re.compile(r"conv\.stride=2"), timeout=30_000)
    # back to stride 1, then step the window to output cell [1, 2] for the screenshot
    stride.focus()
    page.keyboard.press("ArrowLeft")
    expect(size).to_have_text("4 × 4", timeout=60_000)
    step = range_input(page, TABLES[lang]["conv.step"])
    expect(step).to_have_attribute("max", "16", timeout=30_000)  # the 4×4 sweep's slider, not the 2×2's
    wait_idle(page)
    for cell in range(2, 8):
        step.focus()
        page.keyboard.press("ArrowRight")
        expect(step).to_have_attribute("aria-valuetext", str(cell), timeout=30_000)
    expect(page.get_by_text("1×0 + 2×1 + 4×2 + 5×3 = 25")).to_be_visible(timeout=30_000)
    assert not exception_text(page)
    snap_tall(page, f"conv_grid_{lang}", height=2600)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser_photo_mode(server, page, lang):
    open_app(page, server)
    open_app(page, server, "conv", f"lang={lang}&conv.predict=0&conv.mode=photo&conv.kname=sobel_x")
    dismiss_dialogs(page)
    # the input, its 3 channels, 3 per-channel results, the colour result and the channel sum
    expect(page.locator("[data-testid='stImage'] img")).to_have_count(9, timeout=60_000)
    expect(metric_value(page, lang, "conv.torch.shape")).to_have_text("[1, 1, 382, 382]", timeout=30_000)
    assert not exception_text(page)
    snap_tall(page, f"conv_photo_{lang}", height=3200)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_presenter_and_predict_first(server, page):
    zh = TABLES["zh"]
    open_app(page, server)
    open_app(page, server, "conv", "lang=zh&present=1&conv.example=slide_multi")
    dismiss_dialogs(page)
    expect(page.get_by_text(zh["conv.predict.ask"])).to_be_visible(timeout=60_000)
    page.get_by_role("button", name=zh["conv.predict.check"]).click()
    expect(page.get_by_text(zh["conv.predict.wrong"].format(gh=0, gw=0, h=2, w=2))).to_be_visible(
        timeout=60_000
    )
    expect(metric_value(page, "zh", "conv.out_size")).to_have_text("2 × 2", timeout=30_000)
    assert not exception_text(page)
    snap_tall(page, "conv_presenter_zh", height=1900)
    # Play: the sweep's fragment walks the window to the last of the 4 cells, then stops on it
    page.get_by_role("button", name=zh["conv.play"]).click()
    page.get_by_text(zh["conv.playing"].format(done=3, n=4)).wait_for(timeout=30_000)
    snap(page, "conv_playing_zh", full_page=False)
    step = range_input(page, zh["conv.step"])
    expect(step).to_have_attribute("aria-valuetext", "4", timeout=60_000)
    expect(page.get_by_role("button", name=zh["conv.play"])).to_be_visible(timeout=30_000)
    expect(page.get_by_text("(4×0 + 5×1 + 7×2 + 8×3) + (5×1 + 6×2 + 8×3 + 9×4) = 120")).to_be_visible()
    # Play again from the end starts at the first cell; Pause leaves the slider where the window was
    page.get_by_role("button", name=zh["conv.play"]).click()
    page.get_by_text(zh["conv.playing"].format(done=2, n=4)).wait_for(timeout=30_000)
    page.get_by_role("button", name=zh["conv.pause"]).click()
    expect(page.get_by_role("button", name=zh["conv.play"])).to_be_visible(timeout=30_000)
    expect(range_input(page, zh["conv.step"])).to_have_attribute(
        "aria-valuetext", re.compile("^[23]$"), timeout=30_000
    )  # the cell on screen at the click
    assert not exception_text(page)


CELL_TIMES = """() => {
  window.cellTimes = [];
  let last = "";
  new MutationObserver(() => {
    const bar = document.querySelector("[data-testid='stProgress']");
    const text = bar ? bar.innerText : "";
    if (text && text !== last) { last = text; window.cellTimes.push(performance.now()); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_browser_play_speed_control(server, page):
    """Issue 12: Play's speed is a control: at 0.25 s per cell, some cell follows the one before in < 0.9 s.

    With the old fixed pace every cell waited 1 s before the next was drawn, so no step was under 1 s.
    """
    en = TABLES["en"]
    open_app(page, server)
    open_app(page, server, "conv", "lang=en&conv.predict=0&conv.example=slide_pad&conv.speed=0.25")
    dismiss_dialogs(page)
    expect(page.get_by_text(en["conv.speed.value"].format(s=0.25)).first).to_be_visible(timeout=60_000)
    page.evaluate(CELL_TIMES)
    page.get_by_role("button", name=en["conv.play"]).click()
    expect(range_input(page, en["conv.step"])).to_have_attribute("aria-valuetext", "16", timeout=120_000)
    times = page.evaluate("window.cellTimes")
    steps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(steps) >= 8, times  # the cells were drawn one by one
    assert min(steps) < 900, steps  # milliseconds: faster than the old fixed 1 s per cell
    assert "conv.speed=0.25" in page.url and not exception_text(page)


# --- layout at projector and laptop sizes (issue 12, item 5) ---------------------------------------

GRID_PROBLEMS = """() => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  const grids = [...document.querySelectorAll(
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] table")];
  const boxes = grids.map(g => g.getBoundingClientRect());
  boxes.forEach((b, i) => {
    if (b.right > vw + 1 || b.left < -1) out.push(`grid ${i} off screen: ${b.left}..${b.right} of ${vw}`);
    const col = grids[i].closest("[data-testid='stColumn']");
    const c = col && col.getBoundingClientRect();
    if (c && b.right > c.right + 1) out.push(`grid ${i} wider than its column: ${b.right} > ${c.right}`);
    boxes.forEach((o, j) => {
      if (j <= i) return;
      const w = Math.min(b.right, o.right) - Math.max(b.left, o.left);
      const h = Math.min(b.bottom, o.bottom) - Math.max(b.top, o.top);
      if (w > 1 && h > 1) out.push(`grids ${i} and ${j} overlap by ${w}×${h}`);
    });
  });
  return out;
}"""

VIEWS = {  # name: (query, grids expected: padded input, kernel, output; 0 for photo mode)
    "edge": ("conv.example=edge", 3),  # the built-in example: 6×6 input, padding 1
    "edge_pad3": ("conv.example=edge&conv.pad=3", 3),  # the widest padded input the sliders allow
    "photo_pool": ("conv.mode=photo&conv.photo=china&conv.pool=max", 1),  # the kernel grid only
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", ["presenter_1280x720", "laptop_1440x900"])
def test_browser_layout_fits_projector_and_laptop(server, page, lang, size):
    """No grid overlaps another or leaves its column, nothing scrolls sideways, no metric is cut."""
    presenter_mode = size.startswith("presenter")
    page.set_viewport_size(PROJECTOR if presenter_mode else LAPTOP)
    open_app(page, server)
    found = []
    for name, (query, n_grids) in VIEWS.items():
        open_app(page, server, "conv", f"lang={lang}&present={int(presenter_mode)}&conv.predict=0&{query}")
        dismiss_dialogs(page)
        grids = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer'] table")
        expect(grids).to_have_count(n_grids, timeout=60_000)
        expect(page.locator("[data-testid='stMetricValue']").first).to_be_visible(timeout=60_000)
        first = page.locator("[data-testid='stMetric']").first if name.startswith("photo") else grids.first
        first.scroll_into_view_if_needed()  # what the class sees: the grids, or photo mode's numbers
        snap(page, f"conv_layout_{name}_{size}_{lang}", full_page=False)
        try:  # the layout settles after the run (fonts, column widths): wait for a clean state
            page.wait_for_function(f"() => ({GRID_PROBLEMS})().length === 0", timeout=5_000)
        except Exception:
            pass
        problems = page.evaluate(GRID_PROBLEMS) + layout_problems(page)  # + sideways scroll, cut metrics
        found += [f"{name}: {p}" for p in problems]
        assert not exception_text(page)
    assert not found, f"{size} ({lang}): {found}"
