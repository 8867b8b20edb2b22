"""The frame around every page: shared sidebar, presenter mode, error display, job running."""

from __future__ import annotations

import gc
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st
import torch

from core import device as core_device
from core.errors import UserError
from ui.i18n import LANG_LABELS, LANGS, current_lang, default_lang, labeller, t
from ui.state import sync_url, url_default

T = TypeVar("T")
FAVICON = str(Path(__file__).resolve().parent.parent / "assets" / "favicon.png")
GLOBAL_KEYS = ("lang", "device", "present", "seed")

PRESENTER_CSS = """
<style>
/* Presenter mode: read from the back of a classroom at 1280×720. Titles stay larger than the text,
   numbers shrink with the window instead of being cut, the page uses the whole width. */
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; }
[data-testid="stMain"] [data-testid="stWidgetLabel"] p { font-size: 1.15rem; }
[data-testid="stMain"] h1, [data-testid="stMain"] h1 span[data-heading-text] { font-size: 2.6rem !important; }
[data-testid="stMain"] h2, [data-testid="stMain"] h2 span[data-heading-text] { font-size: 2.0rem !important; }
[data-testid="stMain"] h3, [data-testid="stMain"] h3 span[data-heading-text] { font-size: 1.6rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  font-size: clamp(1.3rem, 2.4vw, 2.4rem) !important; }
[data-testid="stMetricLabel"] p { font-size: 1.05rem !important; white-space: normal !important; }
[data-testid="stMetricLabel"] * { overflow: visible !important; white-space: normal !important; }
[data-testid="stMainBlockContainer"] { padding: 2.2rem 2rem 4rem 2rem; max-width: 100%; }
code { font-size: 1.05rem; }
</style>
"""


def sidebar() -> None:
    """Language, device, presenter mode and seed; shared by every page, mirrored in the URL."""
    url_default("lang", default_lang(), choices=LANGS)
    url_default("device", "auto", choices=["auto", *core_device.available_devices()])
    url_default("present", False)
    url_default("seed", 0)
    # A segmented control can be clicked off (value None): restore the last language *before* the
    # widget exists (Streamlit forbids changing a widget's state after it is drawn in a run).
    if st.session_state.get("lang") not in LANGS:
        st.session_state["lang"] = st.session_state.get("_lang_last", default_lang())
    st.session_state["_lang_last"] = st.session_state["lang"]
    with st.sidebar:
        st.segmented_control(
            t("side.language"), LANGS, key="lang", format_func=LANG_LABELS.get, selection_mode="single"
        )
        options = ["auto", *core_device.available_devices()]
        auto = t("side.device.auto")  # bound now: format_func may run after this script run
        st.selectbox(
            t("side.device"), options, key="device", format_func=lambda d: auto if d == "auto" else d.upper()
        )
        st.caption(device_caption(current_device()))
        st.toggle(t("side.presenter"), key="present", help=t("side.presenter.help"))
        if not presenter():
            st.number_input(
                t("side.seed"), min_value=0, max_value=2**31 - 1, step=1, key="seed", help=t("side.seed.help")
            )
        st.caption(t("side.share"))
        if presenter():  # in the sidebar: a new element on top of the page would move every element
            st.markdown(PRESENTER_CSS, unsafe_allow_html=True)  # down one place (the canvas lost its undo)
    sync_url(*GLOBAL_KEYS)


def sidebar_state() -> str:
    """The sidebar starts collapsed in presenter mode (a projector needs the whole width), else auto."""
    wanted = st.session_state.get("present")
    if wanted is None:
        wanted = st.query_params.get("present", "0").lower() in ("1", "true", "yes", "on")
    return "collapsed" if wanted else "auto"


def device_caption(device: torch.device) -> str:
    info = core_device.describe(device)
    if info.kind == "cuda":
        return t("side.device.gpu", name=info.name, free=info.free_memory_gb, total=info.total_memory_gb)
    if info.kind == "mps":
        return t("side.device.mps")
    return t("side.device.cpu", name=info.name)


def current_device() -> torch.device:
    """The device chosen in the sidebar (auto: CUDA > MPS > CPU)."""
    try:
        return core_device.pick_device(st.session_state.get("device", "auto"))
    except UserError:
        return core_device.pick_device("auto")


def presenter() -> bool:
    """True in presenter mode: pages show fewer controls and larger charts."""
    return bool(st.session_state.get("present", False))


def seed() -> int:
    return int(st.session_state.get("seed", 0))


def lang() -> str:
    return current_lang()


def chart_height(base: int = 320) -> int:
    """Chart height in pixels, larger on a projector."""
    return int(base * 1.5) if presenter() else base


def show_error(err: BaseException) -> None:
    """A student's mistake becomes one clear sentence; the rest of the page keeps working."""
    if isinstance(err, UserError):
        st.error(err.text(lang()))
    else:
        st.error(t("common.error", msg=str(err) or type(err).__name__))


@contextmanager
def explained_errors() -> Iterator[None]:
    """`with explained_errors():` shows a UserError as a sentence instead of a stack trace."""
    try:
        yield
    except UserError as err:
        show_error(err)


def run_job(
    fn: Callable[[], T], device: torch.device, should_cancel: Callable[[], bool] | None = None
) -> T | None:
    """Run a heavy job in the process-wide queue, showing the queue place; OOM becomes advice.

    Returns None (after telling the user why) when the job was cancelled or ran out of memory.
    """
    if st.session_state.get("_job_running"):
        st.warning(t("common.one_job"))
        return None
    waiting = st.empty()

    def on_wait(place: int) -> None:
        waiting.info(t("common.queue", device=device.type.upper(), place=place))

    try:
        st.session_state["_job_running"] = True  # one job at a time per session
        with core_device.queue_for(device).slot(on_wait=on_wait, should_cancel=should_cancel):
            waiting.empty()
            return fn()
    except core_device.JobCancelled:
        waiting.info(t("common.cancelled"))
        return None
    except RuntimeError as err:
        if not core_device.is_out_of_memory(err):
            raise
        core_device.free_memory(device)
        waiting.error(t("common.oom"))
        return None
    finally:
        st.session_state["_job_running"] = False


@st.cache_data(show_spinner=False, max_entries=512)
def source_text(module: str, qualname: str, mtime: float) -> str:
    """`inspect.getsource` of module.qualname, once per version (mtime) of its file.

    Python 3.11 finds a class's source by parsing its whole module: ~0.1-0.2 s a class on every rerun.
    """
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


def _source(obj: Any) -> str:
    try:
        found: Any = importlib.import_module(obj.__module__)
        for part in obj.__qualname__.split("."):
            found = getattr(found, part)
        if found is obj:  # importable by name (not a local, not a page's own): cache it
            mtime = os.path.getmtime(inspect.getsourcefile(inspect.unwrap(obj)) or "")
            return source_text(obj.__module__, obj.__qualname__, mtime)
    except (AttributeError, ImportError, OSError, TypeError):
        pass
    return inspect.getsource(obj)


def show_source(*objects: Any) -> None:
    """An expander with the real source of the core functions the page runs (students read the code)."""
    with st.expander(t("common.show_source")):
        for obj in objects:
            st.code(_source(obj), language="python")


def link_to(file: str) -> None:
    """A link to another page, only when ui.pages registers it (a page still being built is left out)."""
    from streamlit.errors import StreamlitAPIException

    from ui.pages import PAGES

    spec = next((p for p in PAGES if p.file == file), None)
    if spec is not None:
        try:
            st.page_link(spec.file, label=t(spec.title_key), icon=spec.icon)
        except StreamlitAPIException:  # this page run on its own (AppTest) knows no other page
            st.markdown(f"[{t(spec.title_key)}](/{spec.url})")


# --- another random example ----------------------------------------------------------------------


def _add_one(key: str) -> None:
    st.session_state[key] = int(st.session_state[key]) + 1


def reroll_button(
    label: str, seed_key: str, key: str, icon: str = ":material/casino:", where: Any = st
) -> None:
    """A button (widget `key`) adding 1 to the integer seed in st.session_state[seed_key], in its callback
    (before the rerun, so the whole page sees the new seed): other samples, another mask, other images."""
    where.button(label, on_click=_add_one, args=(seed_key,), key=key, icon=icon)


# --- an image upload, decoded safely (the SD page's input, the conv explorer's photo, the digit picker) ---


IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "webp", "bmp"]


def image_upload(
    label: str, waiting: str, max_side: int, key: str | None = None, hint: Any = st.caption
) -> tuple[Any, str] | None:
    """A picture upload -> (RGB image, its file id), never unpickled (core.images.open_image); None while
    nothing is uploaded (after `hint(waiting)`, st.caption or st.info) or after a bad file's sentence."""
    from core.images import open_image

    upload = st.file_uploader(label, type=IMAGE_TYPES, key=key)
    if upload is None:
        hint(waiting)
        return None
    with explained_errors():
        return open_image(upload.getvalue(), max_side=max_side), upload.file_id
    return None


# --- side by side, or one above the other on a projector ---------------------------------


def side_by_side(n: int = 2) -> list[Any]:
    """`n` columns, or in presenter mode `n` containers one above the other (room for legends and long labels
    on a 1280×720 projector)."""
    return [st.container() for _ in range(n)] if presenter() else st.columns(n)


# --- a choice widget labelled by i18n keys (the conv explorer, the feature maps) -----------------


def pick(widget: Callable[..., T], key: str, options: Any, prefix: str = "", **kw: Any) -> T:
    """A choice widget (st.radio, a column's selectbox, st.segmented_control) for the state key `key`,
    labelled t(key), its options named by the i18n keys `prefix + option` (`key + "."` by default)."""
    return widget(t(key), options, key=key, format_func=labeller(prefix or f"{key}."), **kw)


# --- a class's or function's source as code (UNet, attention, residual pages); a lighter GC ---------


def show_code(obj: Any) -> None:
    """The real source of `obj` as a Python code block, read once per version of its file (`_source`): a
    class's source costs ~0.15 s a rerun uncached (Python parses its whole module)."""
    st.code(_source(obj), language="python")


_settled_at = 0  # len(sys.modules) at the last freeze


def settle_heap() -> None:
    """The objects alive now (torch, diffusers, the app's modules) leave the garbage collector's scans.

    Streamlit collects garbage after every run (`runner.postScriptGC`), holding the GIL while the server
    still has to tell the browser that the run ended: with diffusers imported that took 0.15-0.3 s a
    control move (half the UNet inspector's latency). After `gc.freeze()` it scans only newer objects.
    app.py calls it after every run; it freezes again only when modules were imported since (a page's
    first visit), so what a run leaves alive is frozen a bounded number of times, never once a rerun.
    """
    global _settled_at
    if len(sys.modules) == _settled_at:
        return
    gc.collect()  # today's garbage goes first: frozen objects are never collected
    gc.freeze()
    _settled_at = len(sys.modules)
