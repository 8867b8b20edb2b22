"""One way for a page to run a background job (training, sampling): start, watch live with Stop, harvest.

    job = jobs.harvest("vae.job")                # top of the page: a finished job, taken out once
    if job is not None and job.status in ("done", "stopped"):
        keep(job.result); jobs.outcome("vae.job", "success", "vae.done", loss=...)
    ...
    if st.button(label, disabled=jobs.busy()):
        jobs.start("vae.job", lambda report, should_stop: core_vae.train(..., report, should_stop), device)
    live = st.container()                         # where the progress and the Stop button appear
    jobs.show_outcome("vae.job")                  # "Done …" / "Stopped" / the error, until the next run
    ...
    jobs.watch("vae.job", live, draw_progress)    # LAST line of the page: redraws until the job ends

The job runs in a thread of the server process (`core.jobs.BackgroundJob`), inside the device queue,
so forty students share one GPU in order. `watch` runs at the end of the script, so the whole page is
drawn and clickable while it loops: any click interrupts it, the page reruns, and it resumes. (A
`run_every` fragment would be the natural tool, but its timer reruns drop the sidebar's widget state:
streamlit/streamlit#10805.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st
import torch

from core import device as core_device
from core.errors import UserError
from core.jobs import BackgroundJob, Work
from ui.i18n import t

_KEYS = "_jobs"


def session_alive() -> Callable[[], bool]:
    """A closure telling the job's thread whether this browser session still exists."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        runtime, session_id = get_instance(), get_script_run_ctx().session_id
        return lambda: runtime.is_active_session(session_id)
    except Exception:  # AppTest and bare runs have no runtime: the tab cannot close
        return lambda: True


def busy() -> bool:
    """True while any job of this session runs (one job at a time per session)."""
    if st.session_state.get("_job_running"):  # a blocking ui.shell.run_job
        return True
    return any(
        isinstance(j := st.session_state.get(k), BackgroundJob) and not j.finished
        for k in st.session_state.get(_KEYS, ())
    )


def start(key: str, work: Work, device: torch.device) -> BackgroundJob | None:
    """Start `work(report, should_stop)` in the background under `key`; None (with a sentence) when busy."""
    if busy():
        st.warning(t("common.one_job"))
        return None
    job = BackgroundJob(work, device, alive=session_alive(), name=key).start()
    st.session_state[key] = job
    st.session_state.setdefault(_KEYS, set()).add(key)
    st.session_state.pop(f"{key}.outcome", None)
    return job


def running(key: str) -> BackgroundJob | None:
    """The job under `key` while it has not been harvested (queued, running or just ended)."""
    job = st.session_state.get(key)
    return job if isinstance(job, BackgroundJob) else None


def harvest(key: str) -> BackgroundJob | None:
    """A job under `key` that has ended, returned once and taken out of the session.

    A failure or a cancel is recorded as the outcome to show; the page records its own success
    sentence with `outcome(...)` from the returned job.
    """
    job = running(key)
    if job is None or not job.finished:
        return None
    del st.session_state[key]
    if job.status == "failed":
        st.session_state[f"{key}.outcome"] = ("error", job.error, {})
    elif job.status == "cancelled" or (job.status == "stopped" and job.result is None):
        outcome(key, "info", "common.cancelled")
    return job


def outcome(key: str, kind: str, msg_key: str, **fields: Any) -> None:
    """Remember what a finished job should say (`kind`: success/info/warning), until the next start.

    Kept as a key and fields, not text, so that it follows a language switch.
    """
    st.session_state[f"{key}.outcome"] = (kind, msg_key, fields)


def show_outcome(key: str) -> None:
    """Draw the remembered outcome of the last job under `key`, if any."""
    kept = st.session_state.get(f"{key}.outcome")
    if kept is None:
        return
    kind, payload, fields = kept
    if kind != "error":
        getattr(st, kind)(t(payload, **fields))
    elif isinstance(payload, UserError):
        st.error(payload.text(st.session_state.get("lang", "zh")))
    elif isinstance(payload, RuntimeError) and core_device.is_out_of_memory(payload):
        st.error(t("common.oom"))
    else:
        st.error(t("common.error", msg=str(payload) or type(payload).__name__))


def progress_bar(snap: dict[str, Any], text: str) -> None:
    """The standard progress line: a bar with the page's text (which may use elapsed/eta)."""
    st.progress(min(1.0, max(0.0, snap["progress"])), text=text)


def watch(key: str, panel: Any, draw: Callable[[dict[str, Any]], None], every: float = 0.5) -> None:
    """Call LAST in the page: a Stop button and `draw(snapshot)` in `panel` until the job ends, then rerun."""
    job = running(key)
    if job is None:
        return
    with panel:
        st.button(
            t("common.stop"),
            on_click=job.stop,
            help=t("common.stop.help"),
            key=f"{key}.stop",
            type="primary",
            disabled=job.stop_requested,
        )
        slot = st.empty()
    while not job.finished:
        snap = job.snapshot()
        with slot.container():
            if snap["status"] == "queued":
                st.info(t("common.queue", device=job.device.type.upper(), place=snap["queue_place"]))
            elif not snap["records"]:
                st.progress(0.0, text=t("common.preparing"))
            else:
                draw(snap)
        time.sleep(every)
    st.rerun()
