"""Process-wide caches of heavy objects that several pages share (one copy for the whole class)."""

from __future__ import annotations

from typing import Any

import streamlit as st


@st.cache_resource(show_spinner=False, max_entries=2)
def img2img_pipeline(model: str, device: str) -> Any:
    """One Stable Diffusion img2img pipeline per (model, device) per process.

    The fantasy-landscape page and the UNet inspector both use it, so a hosted GPU holds one copy
    of SD-1.5, not two.
    """
    from core.diffusion import load_img2img

    return load_img2img(model, device)


def leaderboard_db(url: str | None = None) -> Any:
    """The class leaderboard's database (connection pool), one per process and database URL."""
    from core.leaderboard import database_url

    return _leaderboard(url or database_url())


@st.cache_resource(show_spinner=False)
def _leaderboard(url: str) -> Any:
    from core.leaderboard import Leaderboard

    return Leaderboard(url)
