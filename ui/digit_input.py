"""One digit shown to a model: choose it (a test image by index or by class, a drawing, an uploaded photo),
then show the model's answer.

Every page that feeds one digit to a model uses these. The page declares the picker's URL keys once at
the top, then draws it where the controls go; it gets a plain value back:

    digit_state("feat.", index=0, digit=7)
    found = digit_input("feat.", data.load("mnist"))   # None while the canvas or the upload is empty
    if found is not None:
        picked, caption = found                         # picked.image: (28, 28) uint8; caption: where from
        prediction_ui(predict_proba(model, picked.image)[0], ds)   # the guess, and bars for all classes
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
import torch

from core import digits
from core.data import Dataset
from ui import charts
from ui.canvas import CANVAS_SIDE, canvas_rgba
from ui.i18n import labeller, t
from ui.shell import IMAGE_TYPES, explained_errors, presenter
from ui.state import url_default


def digit_state(prefix: str, sources: Sequence[str] = digits.SOURCES, index: int = 0, digit: int = 7) -> None:
    """Declare the picker's URL keys once, at the top of a page: `<prefix>input`, `index`, `digit`, `nth`."""
    if len(sources) > 1:
        url_default(f"{prefix}input", sources[0], choices=tuple(sources))
    if "index" in sources:
        url_default(f"{prefix}index", index, choices=range(10_000))
    if "class" in sources:
        url_default(f"{prefix}digit", digit, choices=range(10))
        url_default(f"{prefix}nth", 0, choices=range(501))


def digit_input(
    prefix: str,
    ds: Dataset,
    sources: Sequence[str] = digits.SOURCES,
    source: str | None = None,
    side: int = CANVAS_SIDE,
) -> tuple[digits.Picked, str] | None:
    """The controls for one digit -> (the digit, a caption saying where it is from), None while missing.

    A radio offers `sources`; a fixed `source` draws no radio (a page whose own radio drives two pickers).
    """
    ss = st.session_state
    if source is None and len(sources) > 1:
        fmt = labeller("digit.source.")
        st.radio(t("digit.source"), sources, key=f"{prefix}input", horizontal=True, format_func=fmt)
    how = source or (ss[f"{prefix}input"] if len(sources) > 1 else sources[0])
    picture, upload = None, None
    if how == "index":
        st.number_input(t("digit.index"), 0, len(ds.test_x) - 1, step=1, key=f"{prefix}index")
    elif how == "class":
        name = ds.classes.__getitem__
        st.selectbox(t(f"digit.class.{ds.name}"), range(10), key=f"{prefix}digit", format_func=name)
        if not presenter():
            st.number_input(t("digit.nth"), 0, 500, step=1, key=f"{prefix}nth")
    elif how == "draw":
        picture = canvas_rgba(f"{prefix}canvas", side)
    else:
        upload = st.file_uploader(t("digit.upload"), IMAGE_TYPES, key=f"{prefix}upload")
        picture = None if upload is None else upload.getvalue()
    settings = (ss.get(f"{prefix}{k}", 0) for k in ("index", "digit", "nth"))
    picked = None
    with explained_errors():  # a broken upload: one sentence, the page goes on
        picked = digits.pick(ds, how, *settings, picture=picture)
    if picked is None:
        st.info(t(f"digit.{how}.hint"))
        return None
    if picked.index >= 0:
        return picked, t("digit.caption.test", index=picked.index, label=ds.classes[picked.label])
    return picked, t(f"digit.caption.{how}", file=getattr(upload, "name", ""))


def prediction_ui(probs: torch.Tensor, ds: Dataset, height: int = 160, big: bool = False) -> None:
    """A model's answer for one digit, probs (10,): the guess in words, then every class's probability."""
    guess = ds.classes[int(probs.argmax())]
    headline = t("digit.prediction", label=guess, p=100 * float(probs.max()))
    st.markdown(f"### {headline}" if big else headline)
    df = pd.DataFrame({"class": list(ds.classes), "p": probs.numpy()})
    kw = {"x_title": t(f"digit.axis.{ds.name}"), "y_title": t("digit.axis.prob"), "y_domain": (0, 1)}
    charts.bars(df, "class", "p", percent=True, highlight=guess, height=height, **kw)
