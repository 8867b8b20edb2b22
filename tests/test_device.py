"""Device choice and the process-wide job queue."""

import threading
import time

import pytest
import torch

from core import device
from core.errors import UserError


def test_auto_picks_the_best_available():
    assert device.pick_device("auto").type == device.available_devices()[0]
    assert device.available_devices()[-1] == "cpu"
    assert device.describe(torch.device("cpu")).kind == "cpu"


def test_unavailable_device_is_a_sentence():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="not available"):
        device.pick_device("cuda")


def test_queue_admits_in_order_and_reports_places():
    q = device.JobQueue(slots=1)
    order, places = [], {}
    gate = threading.Event()

    def holder():
        with q.slot():
            order.append("first")
            gate.wait(5)

    def waiter(name):
        seen = places.setdefault(name, [])
        with q.slot(on_wait=seen.append, poll_s=0.01):
            order.append(name)

    t0 = threading.Thread(target=holder)
    t0.start()
    while q.running == 0:
        time.sleep(0.005)
    t1 = threading.Thread(target=waiter, args=("second",))
    t1.start()
    while q.waiting < 1:
        time.sleep(0.005)
    t2 = threading.Thread(target=waiter, args=("third",))
    t2.start()
    while q.waiting < 2:
        time.sleep(0.005)
    time.sleep(0.05)
    gate.set()
    for t in (t0, t1, t2):
        t.join(5)
    assert order == ["first", "second", "third"]
    assert places["second"][0] == 1 and places["third"][0] == 2
    assert q.running == 0 and q.waiting == 0


def test_cancelled_waiter_leaves_the_queue_and_slot_is_released_on_error():
    q = device.JobQueue(slots=1)
    with q.slot():
        with pytest.raises(device.JobCancelled):
            with q.slot(should_cancel=lambda: True):
                pass
        assert q.waiting == 0
    with pytest.raises(RuntimeError):
        with q.slot():
            raise RuntimeError("boom")
    assert q.running == 0
