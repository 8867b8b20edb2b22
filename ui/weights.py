"""Save and load a model a page trained: download its safetensors, upload one (never unpickled).

    weights.expander("train", saved, load)   # saved: (bytes, file name) or None; load(bytes) -> jobs.Said

Labels are the area's i18n keys `<area>.weights` (the expander), `<area>.download`, `<area>.upload` and
`<area>.upload.help`. `load` is the page's core loader (`core.train.load_run`, `core.gpt.load`: they refuse
pickles, cut files and foreign weights with a UserError), which keeps the model and returns what to say.
It runs in the uploader's callback, before the page, so the loaded model is usable everywhere on the page
in that same run; its sentence (or the error's) shows inside the expander until the next upload.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import UserError
from ui import jobs
from ui.i18n import t

Load = Callable[[bytes], jobs.Said]


def _load(area: str, load: Load) -> None:
    """The uploader's callback: decode and keep the upload, or remember the sentence saying why not."""
    upload = st.session_state.get(f"{area}.upload")
    st.session_state.pop(f"{area}.upload.outcome", None)
    if upload is None:  # the file was removed from the uploader
        return
    try:
        jobs.say(f"{area}.upload", load(upload.getvalue()))
    except UserError as err:  # a pickle, a cut file, weights of another model: one sentence
        jobs.outcome(f"{area}.upload", "error", err)


def expander(area: str, saved: tuple[bytes, str] | None, load: Load, types: list[str] | None = None) -> None:
    """Download `saved` (bytes, file name) beside an uploader checked by `load`, in a closed expander."""
    with st.expander(t(f"{area}.weights"), expanded=False):
        left, right = st.columns(2)
        if saved is not None:
            blob, name = saved
            kw = {"mime": "application/octet-stream", "icon": ":material/download:"}
            left.download_button(t(f"{area}.download"), blob, name, key=f"{area}.download", **kw)
        help_text, key = t(f"{area}.upload.help"), f"{area}.upload"
        right.file_uploader(t(key), types, help=help_text, key=key, on_change=_load, args=(area, load))
        jobs.show_outcome(key)
