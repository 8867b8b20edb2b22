"""Placeholder until its issue lands: the page's title only."""

import streamlit as st

from ui.i18n import t

st.title(t("nav.sd"))
