"""core.jobs.BackgroundJob: the one background-job mechanism every training page uses."""

import threading
import time

import pytest
import torch

from core.device import JobQueue
from core.errors import UserError
from core.jobs import BackgroundJob


def counting(n, pause=0.0):
    def work(report, should_stop):
        done = 0
        for i in range(n):
            if should_stop():
                break
            time.sleep(pause)
            done = i + 1
            report({"step": i + 1, "progress": (i + 1) / n, "value": i * i})
        return done

    return work


def test_result_records_and_progress():
    job = BackgroundJob(counting(5), "cpu").start().join(10)
    assert job.status == "done" and job.result == 5
    snap = job.snapshot()
    assert [r["value"] for r in snap["records"]] == [0, 1, 4, 9, 16]
    assert snap["progress"] == 1.0 and snap["eta"] is None and snap["elapsed"] >= 0


def test_stop_keeps_the_partial_result():
    started = threading.Event()

    def work(report, should_stop):
        started.set()
        return counting(10_000, pause=0.001)(report, should_stop)

    job = BackgroundJob(work, "cpu").start()
    started.wait(5)
    time.sleep(0.05)
    job.stop()
    job.join(10)
    assert job.status == "stopped" and 0 < job.result < 10_000
    assert len(job.snapshot()["records"]) == job.result


def test_a_failure_is_kept_for_the_page():
    def work(report, should_stop):
        raise UserError("bad input", "输入有误")

    job = BackgroundJob(work, "cpu").start().join(10)
    assert job.status == "failed" and isinstance(job.error, UserError)


def test_a_tab_that_closed_stops_the_job():
    job = BackgroundJob(counting(10_000, pause=0.001), "cpu", alive=lambda: False).start().join(10)
    assert not job.records and job.result in (0, None)  # nothing ran: the tab was gone from the start


def test_queued_jobs_wait_their_turn_and_can_be_cancelled(monkeypatch):
    from core import device

    queue = JobQueue(slots=1)
    monkeypatch.setattr(device, "queue_for", lambda d: queue)
    release = threading.Event()

    def blocker(report, should_stop):
        release.wait(10)
        return "first"

    first = BackgroundJob(blocker, "cpu").start()
    second = BackgroundJob(counting(3), "cpu").start()
    deadline = time.monotonic() + 5
    while second.snapshot()["queue_place"] != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert second.status == "queued" and second.snapshot()["queue_place"] == 1
    second.stop()
    second.join(5)
    assert second.status == "cancelled"
    release.set()
    assert first.join(5).result == "first"


def test_device_is_kept():
    assert BackgroundJob(counting(1), torch.device("cpu")).device.type == "cpu"


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu_path(tmp_path):
    """The prepared GPU check (bench/gpu_check.py) runs each step in its small CPU form, prints the table."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run(
        [sys.executable, "bench/gpu_check.py", "--cpu", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert "| step | status | time | figures |" in out.stdout, out.stdout + out.stderr
    assert out.returncode == 0, out.stdout
    assert (tmp_path / "trainer_bench.log").exists()


# --- ui.jobs: the page-side API (control + watch_all), driven by AppTest -------------------------------


def _jobs_page():
    """A page using the compact API: harvest at the top, one control, watch_all last."""
    import time

    import streamlit as st

    from core.errors import UserError
    from ui import jobs

    def boom(report, should_stop):
        raise UserError("bad input", "输入有误")

    def count(report, should_stop):
        for i in range(3):
            time.sleep(0.02)
            report({"step": i + 1, "progress": (i + 1) / 3})
        return 3

    def finished(job):
        st.session_state["kept"] = job.result
        return "success", "common.error", {"msg": f"{job.result} steps", "kind": "any field name"}

    def draw(snap):
        st.session_state.setdefault("frames", []).append(len(snap["records"]))
        st.write(f"step {snap['records'][-1]['step']}")

    jobs.harvest("t.job", finished)
    st.title("jobs")
    work = lambda: boom if st.session_state.get("fail") else count  # noqa: E731  (picked at the click)
    jobs.control("t.job", "Go", work, draw, key="t.go", device=st.session_state.get("dev", "cpu"))
    if st.session_state.get("second"):
        jobs.start_button("t.job", "Go again", lambda: count, key="t.go2")
    jobs.watch_all(every=0.01)


def _jobs_app(lang="en", **state):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_jobs_page, default_timeout=30)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_control_starts_watches_and_says_the_outcome():
    import torch as _torch

    at = _jobs_app(dev=_torch.device("cpu"))
    assert not at.button(key="t.go").disabled and not at.success
    at.button(key="t.go").click().run()  # the callback starts, watch_all draws until the end, then reruns
    assert at.session_state["kept"] == 3  # finished(job) kept the result once
    assert at.session_state["frames"] and at.session_state["frames"][-1] <= 3  # the live view was drawn
    assert [s.value for s in at.success] == ["Something went wrong: 3 steps"]
    assert not at.button(key="t.go").disabled and "t.job" not in at.session_state


def test_a_failed_job_says_its_sentence_in_the_session_language():
    import torch as _torch

    at = _jobs_app("zh", dev=_torch.device("cpu"), fail=True)
    at.button(key="t.go").click().run()
    assert [e.value for e in at.error] == ["输入有误"] and "kept" not in at.session_state


def test_a_second_start_button_shares_the_one_live_panel():
    import torch as _torch

    at = _jobs_app(dev=_torch.device("cpu"), second=True)
    at.button(key="t.go2").click().run()
    assert at.session_state["kept"] == 3 and at.session_state["frames"]


def test_buttons_are_off_while_another_job_runs_and_watch_all_skips_panels_not_drawn():
    """A job of this session running elsewhere (another page's key) turns Train off; this page's
    watch_all does not loop on it (no panel for it here), so the run returns at once."""
    import threading as _threading

    gate = _threading.Event()
    other = BackgroundJob(lambda report, should_stop: gate.wait(10), "cpu").start()
    try:
        at = _jobs_app(**{"other.job": other, "_jobs": {"other.job"}})
        assert at.button(key="t.go").disabled and not at.exception
    finally:
        gate.set()
        other.join(10)
    assert not at.run().button(key="t.go").disabled


def _in_run_page():
    """`in_run=True`: work() is built in the click's own run, so it sees what that run computed."""
    import streamlit as st

    from ui import jobs

    st.session_state["runs"] = seen = st.session_state.get("runs", 0) + 1
    jobs.harvest("t.job", lambda job: st.session_state.update(kept=job.result))
    work = lambda: lambda report, should_stop: seen  # noqa: E731  (this run's number)
    jobs.control("t.job", "Go", work, lambda snap: None, key="t.go", in_run=True, device="cpu")
    jobs.watch_all(every=0.01)


def test_in_run_starts_with_the_values_of_the_clicks_own_run():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_in_run_page, default_timeout=30).run()
    assert at.session_state["runs"] == 1
    at.button(key="t.go").click().run()  # run 2 starts it (a callback would have built it in run 1)
    assert at.session_state["kept"] == 2 and not at.exception
    assert at.session_state["runs"] >= 3  # it reran to watch, then to harvest
