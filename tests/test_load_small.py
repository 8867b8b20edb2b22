"""A small load run in CI: bench/load.py's own code with 3 concurrent browser sessions against one server.

The full figures (N >= 20, two waves) come from `python bench/load.py`; here we only insist on what
must hold at any size: no errors, every interaction finished, and the training jobs went through
the shared queue, and closing the sessions does not leave the server growing.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bench.load import LoadConfig, Server, print_report, run_load

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


def test_three_students_at_once_without_errors(tmp_path):
    cfg = LoadConfig(
        sessions=3,
        waves=1,
        slider_moves=2,
        train_every=3,
        deadline_s=240,
        action_timeout_s=150,
        reference=False,
    )
    with Server(log_path=tmp_path / "server.log") as server:
        report = run_in_own_loop(run_load(cfg, server))
    print_report(report)
    assert report["errors"] == [], (report["errors"], (tmp_path / "server.log").read_text()[-3000:])
    wave = report["waves"][0]
    counts = {action: v["n"] for action, v in wave["per_action"].items()}
    # Every student opened every page and moved its sliders; student 0 trained a small run.
    assert counts["open home"] == counts["open conv"] == counts["open unet"] == 3
    assert counts["move slider"] == 3 * 2
    assert counts.get("train") == 1
    # One server for three students stays well inside a laptop's memory (about 1.2-1.4 GiB here:
    # torch, diffusers and MNIST on the device once per process, not once per session).
    assert 0 < wave["rss_after_mb"] <= wave["rss_peak_mb"] < 3 * 1024, wave


def run_in_own_loop(coroutine):
    """asyncio.run in a fresh thread: the session's sync Playwright already owns this thread's loop."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as err:  # re-raised in the test's thread
            result["error"] = err

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_two_students_share_the_queue_and_a_closed_tab_frees_its_slot(tmp_path, browser):
    """From the outside: student A trains, B's run waits in line (place 1); A closes the tab, B runs."""
    from tests.conftest import snap, wait_idle
    from ui.i18n import TABLES

    en = TABLES["en"]
    queued = en["common.queue"].split("{")[0]  # "Waiting for the " (ui/jobs.watch draws the queue place)
    # A long run for A (all 60,000 images, several epochs), so it is surely still running when B asks.
    env = {
        "MAX_EPOCHS": "5",
        "MAX_TRAIN_SUBSET": "60000",
        "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2",
        "CPU_SLOTS": "1",
        "GPU_SLOTS": "1",
    }
    query = "lang=en&train.arch=mlp&train.epochs=5&train.subset=60000&device=cpu"
    with Server(extra_env=env, log_path=tmp_path / "server.log") as server:
        students = []
        for _ in range(2):
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            context.set_default_timeout(120_000)
            students.append((context, context.new_page()))
        (ctx_a, a), (ctx_b, b) = students
        for tab in (a, b):
            tab.goto(f"{server.url}/?lang=en")  # warm the first session (see _open in test_hostile.py)
            wait_idle(tab, 120_000)
            tab.goto(f"{server.url}/trainer?{query}")
            wait_idle(tab, 120_000)
        a.get_by_role("button", name=en["train.start"], exact=True).click()
        a.locator("[data-testid='stProgress']").first.wait_for()  # A holds the slot and trains
        b.get_by_role("button", name=en["train.start"], exact=True).click()
        b.get_by_text(queued).first.wait_for()  # B waits, and is told its place
        assert "1" in b.get_by_text(queued).first.inner_text()
        snap(b, "host_queue_place_en")
        ctx_a.close()  # A's tab closes mid-run: its session ends, its run stops, the slot is freed
        start = time.monotonic()
        b.get_by_text(queued).first.wait_for(state="detached", timeout=90_000)
        freed_after = time.monotonic() - start
        b.locator("[data-testid='stProgress']").first.wait_for(timeout=60_000)  # B is training now
        print(f"B left the queue {freed_after:.1f} s after A's tab closed")
        ctx_b.close()


def test_the_load_watcher_survives_a_navigation_under_it(tmp_path):
    """bench/load.py installs its rerun watcher before the action. When the action is a page.goto and
    the watcher already runs in the old document (a busy CI machine makes this likely), the navigation
    destroys its script context; the watcher must start again on the new page, not fail the run."""
    from bench.load import CHROMIUM, CHROMIUM_ARGS, wait_idle

    async def scenario(url: str) -> str:
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{url}/?lang=en")
                await wait_idle(page, 120)
                watcher = asyncio.ensure_future(wait_idle(page, 120))
                await asyncio.sleep(1.0)  # the watcher is surely evaluating in the home page now
                await page.goto(f"{url}/conv?lang=en")
                await watcher
                return await page.locator("[data-testid='stMain'] h1").first.inner_text()
            finally:
                await browser.close()

    with Server(log_path=tmp_path / "server.log") as server:
        title = run_in_own_loop(scenario(server.url))
    from ui.i18n import TABLES

    assert title.strip() == TABLES["en"]["nav.conv"].strip()
