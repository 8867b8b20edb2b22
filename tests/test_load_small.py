"""A small load run in CI: bench/load.py's own code with 3 concurrent browser sessions against one server.

The full figures (N >= 20, two waves) come from `python bench/load.py`; here we only insist on what
must hold at any size: no errors, every interaction finished, and the training jobs went through
the shared queue, and closing the sessions does not leave the server growing.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.load import LoadConfig, Server, print_report, run_load

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


def test_three_students_at_once_without_errors(tmp_path):
    cfg = LoadConfig(sessions=3, waves=1, slider_moves=2, train_every=3, deadline_s=240,
                     action_timeout_s=150, reference=False)
    with Server(log_path=tmp_path / "server.log") as server:
        report = asyncio.run(run_load(cfg, server))
    print_report(report)
    assert report["errors"] == [], (report["errors"], (tmp_path / "server.log").read_text()[-3000:])
    wave = report["waves"][0]
    counts = {action: v["n"] for action, v in wave["per_action"].items()}
    # Every student opened every page and moved its sliders; student 0 trained a small run.
    assert counts["open home"] == counts["open conv"] == counts["open unet"] == 3
    assert counts["move slider"] == 3 * 2
    assert counts.get("train") == 1
    assert wave["rss_peak_mb"] > 0 and wave["rss_after_mb"] <= wave["rss_peak_mb"]
