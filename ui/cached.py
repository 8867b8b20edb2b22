"""Process-wide caches of heavy objects that several pages share (one copy for the whole class)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from ui.i18n import t
from ui.shell import current_device


@st.cache_resource(show_spinner=False, max_entries=2)
def img2img_pipeline(model: str, device: str) -> Any:
    """One Stable Diffusion img2img pipeline per (model, device) per process.

    The fantasy-landscape page and the UNet inspector both use it, so a hosted GPU holds one copy
    of SD-1.5, not two.
    """
    from core.diffusion import load_img2img

    return load_img2img(model, device)


@st.cache_resource(show_spinner=False, max_entries=16)
def vae_checkpoint(dataset: str, z: int, beta: float, mtime: float) -> tuple[Any, dict] | None:
    """The VAE page's cached checkpoint for (dataset, z, β), loaded once per process (mtime: a newer file
    is loaded again)."""
    from core.vae_training import load_cached

    return load_cached(dataset, z, beta)


@st.cache_resource(show_spinner=False, max_entries=4)
def ddpm_checkpoint(dataset: str, mtime: float) -> tuple[Any, dict] | None:
    """The MNIST diffusion page's cached UNet for `dataset`, loaded once per process (mtime: a newer file
    is loaded again)."""
    from core.ddpm import load_cached

    return load_cached(dataset)


def session_or_disk(trained: str, setting: tuple, path: Path, load: Callable[..., Any]) -> tuple | None:
    """The model this session trained for `setting` (kept in st.session_state[trained][setting]), else
    the checkpoint at `path` by `load(*setting, mtime)` (a loader above), else None -> (model, meta, origin)
    where origin is "session" or "cached" (the pages' i18n keys `<area>.model.<origin>`)."""
    if setting in st.session_state.get(trained, {}):
        return (*st.session_state[trained][setting], "session")
    found = load(*setting, path.stat().st_mtime) if path.exists() else None
    return None if found is None else (*found, "cached")


@st.cache_resource(show_spinner=False, max_entries=8)
def uploaded_checkpoint(raw: bytes) -> tuple[Any, dict]:
    """A model from uploaded safetensors bytes (core/checkpoint.py), once per distinct file."""
    from core.checkpoint import load_checkpoint

    return load_checkpoint(raw)


@st.cache_resource(show_spinner=False, max_entries=16)
def checkpoint_file(path: str, mtime: float) -> tuple[Any, dict]:
    """A model from a checkpoint in the app's cache (core/checkpoint.py), loaded once per process
    (mtime: a newer file is loaded again)."""
    from core.checkpoint import load_checkpoint_file

    return load_checkpoint_file(path)


def leaderboard_db(url: str | None = None) -> Any:
    """The class leaderboard's database (connection pool), one per process and database URL."""
    from core.leaderboard import database_url

    return _leaderboard(url or database_url())


@st.cache_resource(show_spinner=False)
def _leaderboard(url: str) -> Any:
    from core.leaderboard import Leaderboard

    return Leaderboard(url)


# --- the SD pipeline a background job loads (the SD page's Generate and sheet, the UNet's Load) ---


def pipeline_loader(model: str) -> tuple[Callable[[], Any], str]:
    """The pipeline `model` on the sidebar's device -> (load, the sentence a live view says while it loads).

    `load()` (`img2img_pipeline` above, its arguments in `load.args`) is called inside the job, so a first
    load runs in the background with the page drawn and Stop in sight."""
    device = current_device()
    loading = t("img2img.loading", model=model, device=device.type.upper())
    return partial(img2img_pipeline, model, str(device)), loading


# --- the pipeline loaded by a background job of its own (the UNet inspector's Load) ---


def pipeline_job(model: str) -> Callable[[Callable, Callable], tuple[str, str] | None]:
    """`jobs.control`'s work loading the pipeline `model` (`pipeline_loader`) -> its cache key (model,
    device) for `img2img_pipeline(*key)`. Build it at the click: a model name typed just before is the one."""
    load, _ = pipeline_loader(model)

    def work(report: Callable, should_stop: Callable) -> tuple[str, str] | None:
        report({"progress": 0.0})  # the live view says pipeline_loader's sentence while it loads
        return load() and load.args

    return work
