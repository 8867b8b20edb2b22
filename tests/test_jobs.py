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
