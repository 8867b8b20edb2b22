"""Router: page navigation and the shared sidebar. No logic lives here."""

import streamlit as st

from ui.i18n import t
from ui.pages import HOME, PAGES
from ui.shell import FAVICON, settle_heap, sidebar, sidebar_state

# A local favicon: a Material icon here would be fetched from a font host, which fails offline in class.
st.set_page_config(
    page_title="DL · 深度学习", page_icon=FAVICON, layout="wide", initial_sidebar_state=sidebar_state()
)
sidebar()

groups: dict[str, list] = {"": [st.Page(HOME, title=t("nav.home"), icon=":material/home:", default=True)]}
for spec in PAGES:
    groups.setdefault(t(spec.group_key), []).append(
        st.Page(spec.file, title=t(spec.title_key), icon=spec.icon, url_path=spec.url)
    )
st.navigation(groups, expanded=True).run()  # every page listed: no "View more" to find
settle_heap()  # a new import (a page's first visit) leaves the collection Streamlit runs after each run
