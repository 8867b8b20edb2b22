"""Home: what each page teaches, with a picture of each."""

from pathlib import Path

import streamlit as st

from core import data
from ui.i18n import t
from ui.i18n.common import GLOSSARY
from ui.pages import PAGES
from ui.shell import lang

st.title(t("app.title"))
st.markdown(f"**{t('app.tagline')}**")
st.write(t("home.intro"))

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "home"
columns = st.columns(3)
for i, spec in enumerate(PAGES):
    with columns[i % 3].container(border=True):
        picture = ASSETS / f"{spec.url}_{lang()}.png"  # each language sees its own screenshots
        if picture.exists():
            st.image(str(picture), width="stretch")
        st.page_link(spec.file, label=t(spec.title_key), icon=spec.icon)
        st.caption(t(spec.blurb_key))

mnist = data.loaded("mnist")  # never loads here: the home page must open in under 3 s
st.caption(t("home.data_source", source=mnist.source if mnist else t("home.data_not_loaded")))

with st.expander(t("home.glossary")):
    st.table({"中文": [zh for zh, _ in GLOSSARY], "English": [en for _, en in GLOSSARY]})
