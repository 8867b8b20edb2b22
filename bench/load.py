"""Load test: N students at once against one `streamlit run`, on loopback only, bounded in count and time.

Each simulated student is one headless Chromium context (one browser, N contexts, Playwright's async
API). It opens the home page, moves sliders on the convolution explorer, opens the UNet inspector,
and every `train_every`-th student trains a small run (the MNIST trainer if it exists, else the VAE
page), so the training jobs queue on the process-wide device queue. We report:

- errors (Streamlit exception boxes, timeouts, lost connections): must be 0;
- median and p95 latency of each interaction (click/keypress -> script finished), beside the same
  figures for ONE student alone, measured first in the same run (the reference);
- peak resident memory of the server process, and its memory after all sessions closed, twice (two
  waves): if sessions leaked, the second wave would leave the server bigger than the first.

    .venv/bin/python bench/load.py                    # N=20, two waves
    .venv/bin/python bench/load.py --sessions 40 --waves 3 --deadline 900

Everything stops by itself: each wave has a deadline, the server is terminated at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM  # noqa: E402  (the tests' browser and flags, written once)
from tests.browser import CHROMIUM_ARGS as TEST_ARGS  # noqa: E402

CHROMIUM_ARGS = [*TEST_ARGS, "--disable-dev-shm-usage", "--renderer-process-limit=8"]  # many contexts
SERVER_ENV = {  # the hosting settings of docs/hosting.md, plus a short session TTL so closing is measurable
    "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2",
    "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "none",
    "MAX_EPOCHS": "1",
    "MAX_TRAIN_SUBSET": "2000",
    "OFFLINE": "1",
}


@dataclass
class LoadConfig:
    sessions: int = 20  # concurrent students
    waves: int = 2  # times the whole class logs on, works, and leaves
    slider_moves: int = 3  # keypresses on the conv explorer's sliders per student
    train_every: int = 5  # every k-th student trains a small run (0: nobody)
    deadline_s: float = 420.0  # per wave; a wave past it counts its unfinished students as errors
    action_timeout_s: float = 240.0  # one interaction (queued training included)
    reference: bool = True  # first measure one student alone (after a warm-up student)


@dataclass
class WaveResult:
    sessions: int
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # action -> seconds
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    wall_s: float = 0.0


def percentile(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; nan for no data."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    pos = (len(xs) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- the server -------------------------------------------------------------------------------


class Server:
    """`streamlit run app.py` on a free loopback port, with the hosting env; stops on exit."""

    def __init__(self, extra_env: dict[str, str] | None = None, log_path: Path | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or ROOT / "bench" / "results" / f"load-server-{self.port}.log"
        self.extra_env = {**SERVER_ENV, **(extra_env or {})}

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env),
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"streamlit did not start; see {self.log_path}")
            time.sleep(0.3)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def rss_mb(self) -> float:
        """Resident memory of the server process and its children, in MiB (psutil, else /proc)."""
        try:
            import psutil

            proc = psutil.Process(self.proc.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs) / 2**20
        except ImportError:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
            return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024


# --- one student ------------------------------------------------------------------------------

IDLE_JS = """() => new Promise(resolve => {
  // Resolves when the app finished the rerun that the next action starts (running -> not running).
  const el = () => document.querySelector('[data-test-script-state]');
  let seen = false; const t0 = performance.now();
  const tick = () => {
    const s = el() ? el().getAttribute('data-test-script-state') : 'initial';
    if (s === 'running') seen = true;
    if ((seen || performance.now() - t0 > 1500) && s !== 'running' && s !== 'initial') return resolve(s);
    setTimeout(tick, 20);
  };
  tick();
})"""


async def wait_idle(page, timeout_s: float) -> None:
    """Until the current script run ends (after the action that started it).

    The watcher is installed before the action. When the action navigates (page.goto), the old
    document's script context is destroyed under it; the watcher then starts again on the new page.
    """
    from playwright.async_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    while True:
        left = max(0.1, deadline - time.monotonic())
        try:
            await page.wait_for_selector("[data-test-script-state]", timeout=left * 1000)
            await asyncio.wait_for(page.evaluate(IDLE_JS), left)
            return
        except PlaywrightError as err:
            if "context was destroyed" not in str(err) or time.monotonic() >= deadline:
                raise
            await page.wait_for_load_state("domcontentloaded", timeout=left * 1000)


async def timed(page, action, timeout_s: float) -> float:
    """Seconds from starting `action` to the end of the rerun it causes."""
    start = time.monotonic()
    idle = asyncio.ensure_future(wait_idle(page, timeout_s))
    await asyncio.sleep(0)  # install the watcher first, then act
    try:
        await action()
        await idle
    finally:
        if not idle.done():
            idle.cancel()
            await asyncio.gather(idle, return_exceptions=True)
    return time.monotonic() - start


async def page_problems(page) -> list[str]:
    """Exception boxes and connection-lost dialogs on the page."""
    found = []
    for box in await page.locator("[data-testid='stException']").all_inner_texts():
        found.append("exception: " + box.strip()[:300])
    if await page.get_by_text(re.compile("Connection error|Is Streamlit still running")).count():
        found.append("connection lost")
    return found


def train_target(lang: str) -> tuple[str, str, str] | None:
    """(url path, query, button label) of the cheapest training run the app has; None when it has none."""
    from ui.i18n import TABLES

    table = TABLES[lang]
    for path, key, query in (
        ("trainer", "train.start", "train.epochs=1&train.subset=1000"),
        ("trainer", "train.button", "train.epochs=1&train.subset=1000"),
        ("vae", "vae.train.button", "vae.epochs=1&vae.subset=2000"),
    ):
        if key in table:
            return path, query, table[key]
    return None


async def student(browser, url: str, index: int, cfg: LoadConfig, out: WaveResult) -> None:
    lang = "zh" if index % 2 == 0 else "en"
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="zh-CN" if lang == "zh" else "en-US"
    )
    context.set_default_timeout(cfg.action_timeout_s * 1000)
    page = await context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(f"javascript: {err}"))

    def record(action: str, seconds: float) -> None:
        out.latencies.setdefault(action, []).append(seconds)

    async def goto(path: str, query: str = "") -> None:
        q = f"lang={lang}" + (f"&{query}" if query else "")
        await page.goto(f"{url}/{path}?{q}")

    try:
        record("open home", await timed(page, lambda: goto(""), cfg.action_timeout_s))
        record("open conv", await timed(page, lambda: goto("conv"), cfg.action_timeout_s))
        sliders = page.locator("[data-testid='stSlider'] input[type='range']")
        for move in range(cfg.slider_moves):
            thumb = sliders.nth(move % max(1, min(3, await sliders.count())))
            key = "ArrowRight" if move < cfg.slider_moves - 1 else "Home"

            async def press(thumb=thumb, key=key) -> None:
                await thumb.focus()  # the range input is visually hidden: focus it, then use the keyboard
                await page.keyboard.press(key)

            record("move slider", await timed(page, press, cfg.action_timeout_s))
        record("open unet", await timed(page, lambda: goto("unet"), cfg.action_timeout_s))
        target = train_target(lang)
        if cfg.train_every and index % cfg.train_every == 0 and target:
            path, query, label = target
            record("open trainer", await timed(page, lambda: goto(path, query), cfg.action_timeout_s))
            button = page.get_by_role("button", name=label, exact=True).first
            record("train", await timed(page, button.click, cfg.action_timeout_s))
        out.errors.extend(f"student {index}: {p}" for p in await page_problems(page) + page_errors)
    except Exception as err:  # a timeout or a lost page is an error of the run, not of the bench
        out.errors.append(f"student {index}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
    finally:
        await context.close()


async def wave(browser, server: Server, sessions: int, cfg: LoadConfig) -> WaveResult:
    """`sessions` students at once; memory sampled throughout and after they all left."""
    out = WaveResult(sessions=sessions)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            out.rss_peak_mb = max(out.rss_peak_mb, server.rss_mb())
            await asyncio.sleep(0.25)

    sampler = asyncio.ensure_future(sample())
    start = time.monotonic()
    tasks = [asyncio.ensure_future(student(browser, server.url, i, cfg, out)) for i in range(sessions)]
    finished, pending = await asyncio.wait(tasks, timeout=cfg.deadline_s)
    for task in pending:
        task.cancel()
    if pending:
        out.errors.append(f"{len(pending)} students unfinished after the {cfg.deadline_s:.0f} s deadline")
        await asyncio.gather(*pending, return_exceptions=True)
    out.wall_s = time.monotonic() - start
    # Sessions are dropped disconnectedSessionTTL (2 s here) after their tab closed; give it time.
    # The sampler keeps going meanwhile: work still finishing then counts towards the peak.
    await asyncio.sleep(6)
    done.set()
    await sampler
    out.rss_after_mb = server.rss_mb()
    out.rss_peak_mb = max(out.rss_peak_mb, out.rss_after_mb)
    return out


async def run_load(cfg: LoadConfig, server: Server) -> dict:
    """The reference (one student alone), then `cfg.waves` waves of `cfg.sessions`; a report dict."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            rss_start = server.rss_mb()
            warm = await wave(browser, server, 1, cfg)  # also warms the caches (models, MNIST)
            reference = await wave(browser, server, 1, cfg) if cfg.reference else warm
            rss_baseline = reference.rss_after_mb
            waves = [await wave(browser, server, cfg.sessions, cfg) for _ in range(cfg.waves)]
        finally:
            await browser.close()

    def summary(w: WaveResult) -> dict:
        lat = [x for action, xs in w.latencies.items() if action != "train" for x in xs]
        return {
            "sessions": w.sessions,
            "errors": w.errors,
            "interactions": len(lat),
            "median_s": round(statistics.median(lat), 3) if lat else None,
            "p95_s": round(percentile(lat, 0.95), 3),
            "per_action": {
                a: {
                    "n": len(xs),
                    "median_s": round(statistics.median(xs), 3),
                    "p95_s": round(percentile(xs, 0.95), 3),
                }
                for a, xs in w.latencies.items()
            },
            "rss_peak_mb": round(w.rss_peak_mb, 1),
            "rss_after_mb": round(w.rss_after_mb, 1),
            "wall_s": round(w.wall_s, 1),
        }

    return {
        "config": asdict(cfg),
        "rss_start_mb": round(rss_start, 1),
        "rss_baseline_mb": round(rss_baseline, 1),
        "warm_up": summary(warm),
        "reference_one_student": summary(reference),
        "waves": [summary(w) for w in waves],
        "errors": warm.errors
        + (reference.errors if cfg.reference else [])
        + [e for w in waves for e in w.errors],
    }


def print_report(report: dict) -> None:
    ref = report["reference_one_student"]
    print(
        f"server memory: {report['rss_start_mb']:.0f} MiB at start, {report['rss_baseline_mb']:.0f} MiB "
        "after two single students (baseline)"
    )
    print(
        f"{'':22s}{'students':>9s}{'errors':>8s}{'median':>9s}{'p95':>9s}{'peak RSS':>11s}"
        f"{'RSS after':>11s}{'wall':>8s}"
    )
    rows = [("reference (1 alone)", ref)] + [(f"wave {i + 1}", w) for i, w in enumerate(report["waves"])]
    for name, s in rows:
        print(
            f"{name:22s}{s['sessions']:>9d}{len(s['errors']):>8d}{s['median_s']:>8.2f}s{s['p95_s']:>8.2f}s"
            f"{s['rss_peak_mb']:>9.0f}Mi{s['rss_after_mb']:>9.0f}Mi{s['wall_s']:>7.0f}s"
        )
    for name, s in rows[1:]:
        print(
            f"  {name} per action: "
            + ", ".join(
                f"{a} {v['median_s']:.2f}/{v['p95_s']:.2f}s (n={v['n']})" for a, v in s["per_action"].items()
            )
        )
    if len(report["waves"]) >= 2:
        growth = report["waves"][-1]["rss_after_mb"] - report["waves"][0]["rss_after_mb"]
        print(
            f"memory after the last wave minus after the first: {growth:+.0f} MiB "
            "(near 0: closed sessions are released, nothing accumulates per class)"
        )
    print(f"errors: {len(report['errors'])}")
    for err in report["errors"][:20]:
        print("  " + err)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=LoadConfig.sessions)
    parser.add_argument("--waves", type=int, default=LoadConfig.waves)
    parser.add_argument("--train-every", type=int, default=LoadConfig.train_every)
    parser.add_argument("--deadline", type=float, default=LoadConfig.deadline_s, help="seconds per wave")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)
    cfg = LoadConfig(
        sessions=args.sessions, waves=args.waves, train_every=args.train_every, deadline_s=args.deadline
    )
    with Server() as server:
        report = asyncio.run(run_load(cfg, server))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(
        f"load test: {cfg.sessions} concurrent headless Chromium sessions, {cfg.waves} waves, "
        f"loopback only ({os.cpu_count()} CPU cores)"
    )
    print_report(report)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
