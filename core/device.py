"""Which device to compute on, and the process-wide queue that every heavy job waits in."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from core.errors import UserError


def available_devices() -> list[str]:
    """Device names this machine can use, best first (CUDA > MPS > CPU)."""
    names = []
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    names.append("cpu")
    return names


def pick_device(preference: str = "auto") -> torch.device:
    """`auto` takes the best available device; a named one must be available."""
    names = available_devices()
    if preference in ("", "auto", None):
        return torch.device(names[0])
    if preference not in names:
        raise UserError(
            f"The device '{preference}' is not available here; this machine has: {', '.join(names)}.",
            f"此机器没有设备“{preference}”；可用的设备：{', '.join(names)}。",
        )
    return torch.device(preference)


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda" | "mps" | "cpu"
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or the CPU count
    total_memory_gb: float | None  # GPU memory; None for the CPU
    free_memory_gb: float | None


def describe(device: torch.device) -> DeviceInfo:
    """Name and memory of a device, for the sidebar."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info(index)
        return DeviceInfo("cuda", torch.cuda.get_device_name(index), total / 2**30, free / 2**30)
    if device.type == "mps":
        return DeviceInfo("mps", "Apple GPU (MPS)", None, None)
    return DeviceInfo("cpu", f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} threads", None, None)


class JobCancelled(Exception):
    """Raised inside `JobQueue.slot` when the waiting job was cancelled before it started."""


class JobQueue:
    """First come, first served admission of at most `slots` heavy jobs at once, across all sessions.

    One instance lives per process (`GPU_QUEUE`), so forty students training at once take turns on
    the GPU instead of all running out of memory together. Waiters learn their place in the line.
    """

    def __init__(self, slots: int = 1):
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self._cv = threading.Condition()
        self._running = 0
        self._waiting: list[int] = []  # tickets in arrival order
        self._tickets = itertools.count()

    @property
    def running(self) -> int:
        with self._cv:
            return self._running

    @property
    def waiting(self) -> int:
        with self._cv:
            return len(self._waiting)

    @contextmanager
    def slot(
        self,
        on_wait: Callable[[int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        poll_s: float = 0.25,
    ) -> Iterator[None]:
        """Hold one slot for the body. `on_wait(place)` is called while queued (place 1 = next)."""
        ticket = next(self._tickets)
        with self._cv:
            self._waiting.append(ticket)
        try:
            while True:
                with self._cv:
                    place = self._waiting.index(ticket) + 1
                    if place <= self.slots - self._running:
                        self._waiting.remove(ticket)
                        self._running += 1
                        self._cv.notify_all()
                        break
                if should_cancel is not None and should_cancel():
                    raise JobCancelled()
                if on_wait is not None:
                    on_wait(place)  # called without the lock: it may draw UI
                with self._cv:
                    self._cv.wait(poll_s)
        except BaseException:
            with self._cv:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._cv.notify_all()
            raise
        try:
            yield
        finally:
            with self._cv:
                self._running -= 1
                self._cv.notify_all()


# Process-wide: every training run, SD generation and large embedding takes a slot here.
# GPU_SLOTS sets how many run at once (one is the safe default for a shared classroom GPU).
GPU_QUEUE = JobQueue(int(os.environ.get("GPU_SLOTS", "1")))
# CPU jobs share the cores; two training runs at once on a 2-core laptop only slow each other.
CPU_QUEUE = JobQueue(int(os.environ.get("CPU_SLOTS", "1")))


def queue_for(device: torch.device) -> JobQueue:
    """The queue a job on `device` must wait in."""
    return CPU_QUEUE if device.type == "cpu" else GPU_QUEUE


def is_out_of_memory(err: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors, which the page turns into advice."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def free_memory(device: torch.device) -> None:
    """Return cached blocks to the driver after an out-of-memory error or a finished job."""
    import gc

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
