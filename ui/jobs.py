"""One way for a page to run a background job (training, sampling): start, watch live with Stop, harvest.

The page pattern, three calls (the job's key is its area's, e.g. "vae.job"):

    jobs.harvest(JOB, finished)          # top: a job that ended is taken out once; finished(job) keeps its
                                         # result and returns what to say: ("success", "vae.done", {fields})
    ...
    jobs.control(JOB, t("vae.train.button"), work, draw, key="vae.go")
                                         # the Train button (off while any job runs), under it the Stop button
                                         # and draw(snapshot) while the job runs, then the outcome sentence
    ...
    jobs.watch_all()                     # LAST line: the live view of whichever job runs, until it ends

`work` is a function of no arguments that the button's callback calls: it returns the core function
`work(report, should_stop)` to run (or None to start nothing). It runs before the next script run,
so the whole page is drawn with the job running (settings frozen, Train off). Where the button and the
live view sit apart, `start_button(...)` draws the button and `live_panel(JOB, draw)` the live slot and
the outcome; a second button for the same job (another model) is one more `start_button`. The outcome
("Done …", "Stopped", the error's sentence) stays until the next start, in the current language.

`in_run=True` calls `work()` in the script run of the click instead, where the button is drawn, then
reruns the whole page: for a page whose settings are drawn by a fragment (a slider there reruns only
the fragment, so a callback would see the last full run's values), or a button inside a fragment (its
callback's rerun is the fragment's only, and the page's last line would not watch the job).

The lower-level calls stay for pages written before (`start`, `harvest`, `outcome`, `show_outcome`,
`watch`, `running`, `busy`, `progress_bar`): `control` + `watch_all` are made of them. `say(key, said)`
records a (kind, i18n key, fields) triple as the outcome (ui/weights.py uses it for uploads).

The job runs in a thread of the server process (`core.jobs.BackgroundJob`), inside the device queue,
so forty students share one GPU in order. `watch` runs at the end of the script, so the whole page is
drawn and clickable while it loops: any click interrupts it, the page reruns, and it resumes. (A
`run_every` fragment would be the natural tool, but its timer reruns drop the sidebar's widget state:
streamlit/streamlit#10805.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st
import torch

from core import device as core_device
from core.errors import UserError
from core.jobs import BackgroundJob, Work
from ui.i18n import t

_KEYS = "_jobs"
_PANELS = "_jobs.panels"  # the live slots drawn in this run: {key: (run, slot, draw)}

Said = tuple[str, str, dict[str, Any]]  # what a finished job says: (kind, i18n key, fields)
Draw = Callable[[dict[str, Any]], None]  # one frame of a live view, from a job's snapshot


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


def harvest(key: str, finished: Callable[[BackgroundJob], Said | None] | None = None) -> BackgroundJob | None:
    """A job under `key` that has ended, returned once and taken out of the session.

    A failure or a cancel is recorded as the outcome to show. A job that left a result (done, or
    stopped part-way) is passed to `finished(job)`, which keeps it and returns the sentence to show;
    without `finished` the page records it with `outcome(...)` from the returned job.
    """
    job = running(key)
    if job is None or not job.finished:
        return None
    del st.session_state[key]
    if job.status == "failed":
        st.session_state[f"{key}.outcome"] = ("error", job.error, {})
    elif job.status == "cancelled" or (job.status == "stopped" and job.result is None):
        outcome(key, "info", "common.cancelled")
    elif finished is not None and job.result is not None and (said := finished(job)) is not None:
        say(key, said)
    return job


def outcome(key: str, kind: str, msg_key: str | BaseException, **fields: Any) -> None:
    """Remember what a finished job should say (`kind`: success/info/warning), until the next start.

    Kept as a key and fields, not text, so that it follows a language switch. `kind` "error" takes the
    exception itself (a UserError says its sentence in the session's language).
    """
    say(key, (kind, msg_key, fields))


def say(key: str, said: Said) -> None:
    """`outcome` from a (kind, i18n key, fields) triple, whose fields may use any name (even `kind`)."""
    st.session_state[f"{key}.outcome"] = said


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


def _run() -> object:
    """This script run's identity (a fresh object each run), so that watch_all never draws into old slots."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.cursors


def _start(job: str, work: Callable[[], Work | None], device: torch.device | None) -> bool:
    """What the start button does (its callback, or in the click's run): build the work, start it as `job`."""
    if busy():  # a second tab of the same session started one meanwhile
        outcome(job, "warning", "common.one_job")
    elif (fn := work()) is not None:
        from ui.shell import current_device

        return start(job, fn, device or current_device()) is not None
    return False


def start_button(
    job: str,
    label: str,
    work: Callable[[], Work | None],
    device: torch.device | None = None,
    disabled: bool = False,
    in_run: bool = False,
    **button: Any,
) -> None:
    """A primary button starting `work()` as `job` on `device` (the sidebar's by default); off while any job
    of the session runs. `button` goes to st.button (key=, icon=, width=, help=). `in_run`: `work()` is
    called in the click's run, here, and the page reruns once it started (see the module's docstring)."""
    button.setdefault("type", "primary")
    disabled = disabled or busy()
    if not in_run:
        st.button(label, on_click=_start, args=(job, work, device), disabled=disabled, **button)
    elif st.button(label, disabled=disabled, **button) and _start(job, work, device):
        st.rerun()  # the whole page, drawn with the job running (Stop, buttons off) and watched by its end


def live_panel(job: str, draw: Draw, show: bool = True) -> Any:
    """Here: the Stop button and `draw(snapshot)` while `job` runs (drawn by `watch_all`), then the outcome
    of its last run (`show=False`: the page draws it elsewhere with `show_outcome`). -> the live slot."""
    slot = st.container()
    st.session_state.setdefault(_PANELS, {})[job] = (_run(), slot, draw)
    if show:
        with st.container():  # one slot: the sentence stays until the next run, the layout never shifts
            show_outcome(job)
    return slot


def control(
    job: str,
    label: str,
    work: Callable[[], Work | None],
    draw: Draw,
    show: bool = True,
    **button: Any,
) -> None:
    """`start_button` and, right under it, the `live_panel`: Train, Stop with the live view, the outcome."""
    start_button(job, label, work, **button)
    live_panel(job, draw, show)


def watch_all(every: float = 0.5) -> None:
    """LAST line of a page: the running job of a `live_panel` drawn in this run, watched until it ends."""
    panels, run = st.session_state.pop(_PANELS, {}), _run()
    for key, (drawn_in, slot, draw) in panels.items():
        if drawn_in is run and running(key) is not None:
            watch(key, slot, draw, every)


# --- a live view that is one progress line (SD's Generate, the contact sheets, the UNet's run) ---


def progress_line(text_key: str, waiting: str = "", **fields: Any) -> Draw:
    """A live view of one line: the bar with t(text_key) filled from the last record (beside the job's
    `elapsed` and `eta`, 0 while unknown, where the record has none) and `fields` (which win over the record:
    "epochs", a rounded figure); or `waiting` while the last record holds only its progress (a job reports
    {"progress": 0.0} while it loads or starts)."""

    def draw(snap: dict[str, Any]) -> None:
        last = snap["records"][-1]
        now = {"elapsed": snap.get("elapsed", 0.0), "eta": snap.get("eta") or 0.0, **last, **fields}
        progress_bar(snap, t(text_key, **now) if set(last) - {"progress"} else waiting)

    return draw


# --- the training panel of a page whose model can be trained here ---------------------------------


@contextmanager
def train_expander(job: str, area: str, have_model: bool) -> Iterator[None]:
    """`with train_expander(JOB, "vae", found is not None):` the training controls, in an expander open
    ("<area>.train.header") while there is no model or `job` runs, folded ("<area>.train.again") once a
    model is there; then the outcome of the last run under it, seen with the expander folded."""
    label = t(f"{area}.train.again" if have_model else f"{area}.train.header")
    with st.expander(label, expanded=running(job) is not None or not have_model):
        yield
    show_outcome(job)


# --- a live view of a progress line above the curves so far (VAE, residual, normalization) ---


def progress_with(text_key: str, draw_records: Callable[[list[dict[str, Any]]], None], of: str = "") -> Draw:
    """A live view: `progress_line(text_key)`, then draw_records(every record so far) under it (the loss
    curves). With `of`, the line is filled from the last record holding `of`: where records of two kinds
    interleave (the VAE's epoch test records hold no "loss"), the line keeps the last step's numbers."""

    def draw(snap: dict[str, Any]) -> None:
        fields = next((r for r in reversed(snap["records"]) if of in r), {}) if of else {}  # {}: none yet
        progress_line(text_key, **fields)(snap)
        draw_records(snap["records"])

    return draw
