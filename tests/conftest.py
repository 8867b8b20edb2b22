"""Shared fixtures: real MNIST (once per run), a real `streamlit run` server, a real Chromium page."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENS = ARTIFACTS / "screens"

sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the benches import them from here too)

# Tests (and the app servers they start) keep models in their own cache, never the user's.
os.environ.setdefault("MODEL_DIR", str(ARTIFACTS / "model-cache"))


def pytest_collection_modifyitems(config, items):
    import torch

    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, through the app's own loader (cache, else the offline package)."""
    from core import data

    return data.load("mnist")


# --- AppTest ----------------------------------------------------------------------------------


@pytest.fixture(params=["zh", "en"])
def lang(request) -> str:
    return request.param


def app_test(page_file: str, lang: str = "zh", timeout: float = 60, **state):
    """An AppTest of one page file, in `lang`, with extra session state; already run once."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page_file), default_timeout=timeout)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def image_protos(at) -> list[str]:
    """Every st.image element of an AppTest's last run, in page order, as proto text (captions, URLs)."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if type(child).__name__ == "Image":
                found.append(str(child.proto))
            walk(child)

    walk(at._tree)
    return found


def texts(at) -> str:
    """An AppTest's captions, markdown and info boxes as one text."""
    return "\n".join(
        [c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info]
    )


# --- real browser -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(extra_env: dict[str, str] | None = None, app: str = "app.py"):
    """`streamlit run app.py` on a free loopback port; yields its base URL, stops it afterwards."""
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            app,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        _warm_up(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_WARM_UP = """
import sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    b = p.chromium.launch(executable_path=sys.argv[2], args=sys.argv[3:])
    tab = b.new_page()
    tab.goto(sys.argv[1])
    tab.wait_for_selector("[data-test-script-state=notRunning]", timeout=120_000)
    b.close()
"""


def _warm_up(url: str) -> None:
    """Run one throwaway browser session before the tests' own.

    Streamlit (1.67) shows a spurious "Page not found" dialog to the very first session of a fresh
    server when that session opens a deep link (/conv...), even in a three-line st.navigation app.
    Tests open deep links, so a separate headless Chromium loads the home page once first.
    """
    try:
        subprocess.run(
            [sys.executable, "-c", _WARM_UP, url, CHROMIUM, *CHROMIUM_ARGS], capture_output=True, timeout=150
        )
    except (OSError, subprocess.TimeoutExpired):
        pass  # best effort: the tests still run, a deep-link test may see the dialog


@pytest.fixture(scope="session")
def server():
    """One real app server for the whole test run (its model cache is the tests' own, see MODEL_DIR)."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab at laptop size, Chinese locale (the course's default)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def wait_idle(tab, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script has finished its run (and the app is connected)."""
    tab.wait_for_selector("[data-test-script-state]", timeout=timeout_ms)
    tab.wait_for_timeout(250)  # let a just-triggered rerun start before we wait for it to end
    tab.wait_for_function(
        "() => { const a = document.querySelector('[data-test-script-state]');"
        " return a && a.getAttribute('data-test-script-state') !== 'running'"
        " && a.getAttribute('data-test-script-state') !== 'initial'; }",
        timeout=timeout_ms,
    )
    tab.wait_for_timeout(150)


def open_app(tab, url: str, path: str = "", query: str = "") -> None:
    """Open a page of the app and wait for its first run to end.

    Every page starts with its title: waiting for it first means the run has begun (a busy server can
    report "not running" for a moment before the first run starts, and the page is still empty then).
    """
    tab.goto(f"{url}/{path}" + (f"?{query}" if query else ""))
    tab.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    wait_idle(tab)


def snap(tab, name: str, full_page: bool = True) -> Path:
    """Save a screenshot as a test artifact (tests/artifacts/screens/NAME.png)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path


def snap_tall(tab, name: str, height: int = 2000) -> Path:
    """A whole-page screenshot: Streamlit scrolls inside its own container, so grow the window instead."""
    size = tab.viewport_size
    tab.set_viewport_size({"width": size["width"], "height": height})
    tab.wait_for_timeout(800)
    path = snap(tab, name, full_page=False)
    tab.set_viewport_size(size)
    return path


def dismiss_dialogs(tab) -> None:
    """Close a modal dialog if one is open (the server warm-up should have made this rare)."""
    dialog = tab.locator("[role='dialog']")
    if dialog.count():
        tab.keyboard.press("Escape")
        dialog.wait_for(state="detached")


def exception_text(tab) -> str:
    """Text of any Streamlit exception box on the page ('' when none)."""
    boxes = tab.locator("[data-testid='stException']")
    return "\n".join(boxes.all_inner_texts()) if boxes.count() else ""


# --- layout checks (projector 1280×720 presenter mode, laptop 1440×900) -----------------------

PROJECTOR = {"width": 1280, "height": 720}
LAPTOP = {"width": 1440, "height": 900}

_LAYOUT_JS = """
() => {
  const out = [];
  const de = document.documentElement;
  if (de.scrollWidth > de.clientWidth + 1)
    out.push(`page scrolls sideways: ${de.scrollWidth} > ${de.clientWidth}`);
  const block = document.querySelector("[data-testid='stMainBlockContainer']");
  if (block && block.scrollWidth > block.clientWidth + 1)
    out.push(`main column overflows: ${block.scrollWidth} > ${block.clientWidth}`);
  for (const m of document.querySelectorAll("[data-testid='stMetricValue'], [data-testid='stMetricLabel']")) {
    for (const el of [m, ...m.querySelectorAll('*')]) {
      if (el.scrollWidth > el.clientWidth + 1) { out.push(`metric cut: "${m.innerText}"`); break; }
    }
  }
  const h1 = document.querySelector("[data-testid='stMain'] h1 [data-heading-text]")
    || document.querySelector("[data-testid='stMain'] h1");
  const body = document.querySelector("[data-testid='stMain'] [data-testid='stMarkdownContainer'] p");
  if (h1 && body) {
    const a = parseFloat(getComputedStyle(h1).fontSize), b = parseFloat(getComputedStyle(body).fontSize);
    if (a < b) out.push(`title ${a}px smaller than body text ${b}px`);
  }
  return out;
}
"""


def layout_problems(tab) -> list[str]:
    """What would look broken on this screen: sideways scrolling, cut metrics, a title smaller than the text.

    Empty when the layout is fine.
    """
    return tab.evaluate(_LAYOUT_JS)


def run_until(at, done, timeout: float = 600.0, every: float = 1.0):
    """Rerun an AppTest page (as the live view would) until `done(at)` (a job ended) or the timeout."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the job did not finish in time"
        time.sleep(every)
        at.run()
    return at
