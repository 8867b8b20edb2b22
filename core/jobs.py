"""Background jobs: one heavy function in a daemon thread, inside the device queue, with progress and Stop.

Every page that trains (MNIST, VAE, language model, diffusion, the building-block experiments) runs
its work through `BackgroundJob`. The work knows nothing about how progress is shown (minGPT's
trainer callbacks): it calls `report(record)` with a dict that has a `"progress"` in 0..1 and any
numbers it likes, and checks `should_stop()` between steps. Whoever started the job reads
`snapshot()` a few times a second and calls `stop()` for its Stop button.

    job = BackgroundJob(lambda report, should_stop: fit(model, data, cfg, on_step=report,
                                                         should_stop=should_stop), device).start()
    job.join(); job.result   # from a notebook
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import torch

T = TypeVar("T")
Report = Callable[[dict[str, Any]], None]
Work = Callable[[Report, Callable[[], bool]], T]

FINISHED = ("done", "stopped", "cancelled", "failed")


class BackgroundJob(Generic[T]):
    """`work(report, should_stop)` in a daemon thread, in the process-wide queue of `device`.

    Status: queued → running → done | stopped (Stop pressed, the partial result is kept) |
    cancelled (stopped while still queued) | failed (`error` holds the exception).
    `alive()` lets the job notice that the browser tab has gone, so the queue slot is freed.
    """

    def __init__(
        self,
        work: Work[T],
        device: torch.device | str,
        alive: Callable[[], bool] | None = None,
        name: str = "job",
    ):
        self.work, self.device = work, torch.device(device)
        self.alive = alive or (lambda: True)
        self.name = name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.status = "queued"
        self.queue_place = 0
        self.records: list[dict[str, Any]] = []
        self.result: T | None = None
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.running_since: float | None = None
        self.ended: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"job-{name}", daemon=True)

    def start(self) -> BackgroundJob[T]:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the work to stop at its next `should_stop()` check (what it has done is kept)."""
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set() or not self.alive()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def join(self, timeout: float | None = None) -> BackgroundJob[T]:
        self._thread.join(timeout)
        return self

    def report(self, record: dict[str, Any]) -> None:
        """Called by the work: one progress record (`progress` in 0..1 plus any numbers)."""
        with self._lock:
            self.records.append(dict(record))

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy: status, queue place, records, progress (0..1), elapsed and ETA (s)."""
        with self._lock:
            records, status, place = list(self.records), self.status, self.queue_place
        progress = float(records[-1].get("progress", 0.0)) if records else 0.0
        end = self.ended or time.monotonic()
        elapsed = end - self.running_since if self.running_since else 0.0
        eta = elapsed * (1 - progress) / progress if 0 < progress < 1 else None
        return {
            "status": status,
            "queue_place": place,
            "records": records,
            "progress": progress,
            "elapsed": elapsed,
            "eta": eta,
            "error": self.error,
        }

    def _on_wait(self, place: int) -> None:
        with self._lock:
            self.queue_place = place

    def _run(self) -> None:
        from core.device import JobCancelled, free_memory, queue_for

        try:
            with queue_for(self.device).slot(on_wait=self._on_wait, should_cancel=self.should_stop):
                with self._lock:
                    self.status, self.queue_place = "running", 0
                self.running_since = time.monotonic()
                result = self.work(self.report, self.should_stop)
            with self._lock:
                self.result = result
                self.status = "stopped" if self._stop.is_set() else "done"
        except JobCancelled:
            with self._lock:
                self.status = "cancelled"
        except BaseException as err:  # the UI shows it; a daemon thread must not die silently
            if self.device.type != "cpu":
                free_memory(self.device)
            with self._lock:
                self.error, self.status = err, "failed"
        finally:
            self.ended = time.monotonic()
