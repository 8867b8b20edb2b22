"""Save and load a model a page trained: download its safetensors, upload one (never unpickled).

    weights.expander("train", saved, load)   # saved: (bytes, file name) or None; load(bytes) -> jobs.Said

Labels are the area's i18n keys `<area>.weights` (the expander), `<area>.download`, `<area>.upload` and
`<area>.upload.help`. `load` is the page's core loader (`core.train.load_run`, `core.gpt.load`: they refuse
pickles, cut files and foreign weights with a UserError), which keeps the model and returns what to say.
It runs in the uploader's callback, before the page, so the loaded model is usable everywhere on the page
in that same run; its sentence (or the error's) shows inside the expander until the next upload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from core import diffusion
from core.errors import UserError
from ui import jobs
from ui.i18n import t
from ui.shell import link_to

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


# --- where a Stable Diffusion pipeline's weights are (the SD page's Generate; the UNet inspector's
# Load can use it too). Texts: the page's `<area>.weights.missing` / `.download` ({model}), the shared
# `img2img.weights.here` ({model}, {where}) and `img2img.where.<folder|file|cached>`.


@st.cache_data(show_spinner=False, ttl=600)  # a network probe (5 s at most): once in 10 minutes
def hub_answers() -> bool:
    """Whether huggingface.co answers (core.diffusion.hub_answers), asked once in 10 minutes per process."""
    return diffusion.hub_answers()


def pipeline_status(area: str, model: str, links: Sequence[str] = ()) -> bool:
    """Where `model`'s weights are, or how to get them (then `links`: pages that need none) -> whether they
    can load (here, or downloadable now)."""
    if (where := diffusion.weights_where(model, hub_answers)) == "missing":
        st.info(t(f"{area}.weights.missing", model=model))
        for page in links:
            link_to(page)
    elif where == "download":
        st.info(t(f"{area}.weights.download", model=model))
    else:
        st.caption(t("img2img.weights.here", model=model, where=t(f"img2img.where.{where}")))
    return where != "missing"
