"""Make the home page's pictures (assets/home/<url>_<lang>.png) and the README's screenshots from the app.

Starts `streamlit run`, opens each page in headless Chromium, and saves a viewport screenshot,
downscaled. Run it after a page changes its look: `.venv/bin/python tools/thumbnails.py`.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_model_dir = os.environ.get("MODEL_DIR")
from tests import conftest  # noqa: E402  (the same server and browser set-up as the tests)

# The tests keep their own model cache; the pictures show the real one (`make prepare`'s checkpoints).
if _model_dir is None:
    os.environ.pop("MODEL_DIR", None)
else:
    os.environ["MODEL_DIR"] = _model_dir
from ui.pages import PAGES  # noqa: E402

HOME = ROOT / "assets" / "home"
SHOTS = ROOT / "docs" / "screenshots"


VISUALS = (
    "[data-testid='stVegaLiteChart'], [data-testid='stImage'] img, "
    "[data-testid='stMarkdownContainer'] table, [data-testid='stHtml']"
)
CARD = (480, 300)


def card_picture(tab, page_png: bytes) -> Image.Image:
    """The page's first sizeable chart, image or grid, letterboxed to the card; else its top area."""
    for element in tab.locator(VISUALS).all()[:12]:
        box = element.bounding_box()
        if box and box["height"] >= 150 and box["width"] >= 150:
            element.scroll_into_view_if_needed()
            tab.wait_for_timeout(500)
            visual = Image.open(io.BytesIO(element.screenshot())).convert("RGB")
            # A wide visual is cropped, not shrunk: the card must stay readable (at most 1.5× reduction).
            w, h = min(visual.width, int(CARD[0] * 1.5)), min(visual.height, int(CARD[1] * 1.5))
            visual = visual.crop((0, 0, w, h))
            visual.thumbnail(CARD, Image.Resampling.LANCZOS)
            card = Image.new("RGB", CARD, "white")
            card.paste(visual, ((CARD[0] - visual.width) // 2, (CARD[1] - visual.height) // 2))
            return card
    top = Image.open(io.BytesIO(page_png)).convert("RGB").crop((300, 0, 1440, 712))
    return top.resize(CARD, Image.Resampling.LANCZOS)


def main() -> None:
    from playwright.sync_api import sync_playwright

    HOME.mkdir(parents=True, exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with conftest.streamlit_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.CHROMIUM_ARGS)
        for lang in ("zh", "en"):
            context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            tab = context.new_page()
            for spec in [None, *PAGES]:
                path = "" if spec is None else spec.url
                conftest.open_app(tab, url, path, query=f"lang={lang}")
                tab.wait_for_timeout(1500)  # charts and images finish drawing
                png = tab.screenshot()
                name = spec.url if spec else "home"
                Image.open(io.BytesIO(png)).convert("RGB").resize((960, 600), Image.Resampling.LANCZOS).save(
                    SHOTS / f"{name}_{lang}.png", optimize=True
                )
                if spec is not None:
                    card_picture(tab, png).save(HOME / f"{spec.url}_{lang}.png", optimize=True)
                print("saved", name, lang)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
