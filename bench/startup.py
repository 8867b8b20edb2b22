"""Home page time to first render (goal: under 3 s after the server is up), beside a hello-world app.

Both are measured in the same run, in the same headless Chromium, from `goto` until Streamlit
reports the script run finished. The reference is a one-line Streamlit app: the floor that
Streamlit and the browser themselves set on this machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import conftest  # noqa: E402

RUNS = 5


def first_render_times(browser, url: str) -> list[float]:
    times = []
    for _ in range(RUNS):
        context = browser.new_context(viewport={"width": 1440, "height": 900})  # a new session each time
        tab = context.new_page()
        start = time.monotonic()
        conftest.open_app(tab, url)
        times.append(time.monotonic() - start - 0.4)  # open_app's fixed settling waits are not page time
        context.close()
    return times


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        hello = Path(tmp) / "app.py"
        hello.write_text("import streamlit as st\nst.title('hello')\n")
        browser = p.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.CHROMIUM_ARGS)
        with conftest.streamlit_server() as url:
            ours = first_render_times(browser, url)
        with conftest.streamlit_server(app=str(hello)) as url:
            ref = first_render_times(browser, url)
        browser.close()
    print(
        f"home page, first render (median of {RUNS} new sessions): {statistics.median(ours):.2f} s "
        f"(max {max(ours):.2f} s; goal < 3 s)"
    )
    print(
        f"reference, hello-world Streamlit app:               {statistics.median(ref):.2f} s "
        f"(max {max(ref):.2f} s)"
    )


if __name__ == "__main__":
    main()
