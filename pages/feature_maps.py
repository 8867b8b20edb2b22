"""Feature-map viewer: every layer's output for one digit, the first kernels, PCA / t-SNE of whole layers."""

import altair as alt
import pandas as pd
import streamlit as st
import torch

from core import data, features
from core.images import zoom
from ui import cached, charts, jobs
from ui.digit_input import digit_input, digit_state, prediction_ui
from ui.i18n import t
from ui.shell import current_device, explained_errors, pick, presenter, run_job, seed, show_source
from ui.state import url_state

JOB = "feat.job"
LOW, TOP, STEP, N = features.embed_sizes()  # the "test images" slider, under the server's cap
digit_state("feat.", index=0, digit=7)  # feat.input, feat.index, feat.digit, feat.nth
s = url_state(
    "feat.",
    source=(features.default_model_source(st.session_state.get("train.model")), features.MODEL_SOURCES),
    quick=("slides_cnn", features.QUICK_MODELS),
    layer="",  # "" = features.default_map_layer of the model
    shared=True,
    channel=0,
    elayers=[],  # [] = features.default_embed_layers of the model
    n=(N, range(LOW, TOP + 1)),
    method=("both", features.METHOD_CHOICES),
    perplexity=(30, range(5, 51)),
)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_maps(_model: torch.nn.Module, fingerprint: str, *settings) -> pd.DataFrame:
    """PCA / t-SNE maps of whole layers for the first n test images (cached per model and settings)."""
    return pd.DataFrame(features.embedding_table(_model, data.load("mnist"), *settings))


def work() -> jobs.Work:
    """The quick model's training, for the model and seed as they are at the click."""
    return features.quick_work(s.quick, seed(), current_device().type)


def model_ui() -> tuple[torch.nn.Module | None, str]:
    """The model: the trainer page's, an uploaded file, or the quick default (trained here once, cached)."""
    pick(st.radio, "feat.source", features.MODEL_SOURCES, horizontal=True)
    if s.source == "session":
        model, meta = st.session_state.get("train.model"), st.session_state.get("train.model_meta")
        if model is None:
            st.info(t("feat.session.none"))
            return None, ""
        return model.cpu().eval(), t("feat.session.caption", name=meta["name"], acc=100 * meta["test_acc"])
    if s.source == "upload":
        upload = st.file_uploader(t("feat.upload"), type=["safetensors"], key="feat.upload_file")
        if upload is None:
            st.info(t("feat.upload.hint"))
            return None, ""
        model, meta = cached.uploaded_checkpoint(upload.getvalue())
        return model, t("feat.upload.caption", name=meta.get("model", "?"), file=upload.name)
    if not presenter():
        st.selectbox(t("feat.quick.model"), features.QUICK_MODELS, key="feat.quick")
    name, path = s.quick, features.quick_path(s.quick, seed())
    if not path.exists():
        if jobs.running(JOB) is None:
            st.info(t("feat.quick.hint", n=features.QUICK_SUBSET, name=name))
        jobs.start_button(JOB, t("feat.quick.train"), work, key="feat.quick.go")
        return None, ""
    model, meta = cached.checkpoint_file(str(path), path.stat().st_mtime)
    return model, t("feat.quick.caption", name=name, n=features.QUICK_SUBSET, acc=100 * meta["test_acc"])


def maps_ui(acts: dict[str, torch.Tensor]) -> None:
    """Pick a layer: all its channels in a grid, one enlarged, on a shared or per-channel colour scale."""
    s.layer = features.map_layer(acts, s.layer)  # a new model's or a hand-edited link's layer: the default
    view = features.layer_view(acts[s.layer][0], s.channel, s.shared, width=640 if presenter() else 520)
    s.channel, c = view.channel, len(view.maps)
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    c1.selectbox(t("feat.layer"), list(acts), key="feat.layer", format_func=features.layer_labels(acts).get)
    if not presenter():
        c2.toggle(t("feat.shared"), key="feat.shared", help=t("feat.shared.help"))
    c3.number_input(t("feat.channel"), 0, c - 1, step=1, key="feat.channel", disabled=c == 1)
    st.caption(t("feat.scale.signed") if view.signed else t("feat.scale.positive"))
    grid_col, big_col = st.columns([3, 2])
    shown = {"layer": s.layer, "shape": view.shape, "k": view.channel, "c": c, "lo": view.lo, "hi": view.hi}
    grid_col.image(view.grid, caption=t("feat.grid.caption", **shown))
    big_col.image(view.one, caption=t("feat.channel.title", **shown), width="stretch")  # square pixels


@st.fragment
def inspect_ui(model: torch.nn.Module, mnist: data.Dataset) -> None:
    """2 and 3: one input, the prediction, and every layer's output for it (a fragment: reruns alone)."""
    st.subheader(t("feat.input.title"))
    controls, shown = st.columns([1, 2], gap="large")
    with controls:
        found = digit_input("feat.", mnist)
    if found is not None:
        picked, caption = found  # picked.image: (28, 28) uint8
        probs, acts = features.inspect_digit(model, torch.from_numpy(picked.image))  # ONE core call
        picture, answer = shown.columns([1, 2])
        picture.image(zoom(picked.image, 8), caption=caption, width="stretch")  # square pixels, fits
        with answer:
            prediction_ui(probs, mnist)
        st.subheader(t("feat.layers.title"))
        with st.expander(t("feat.walk"), expanded=not presenter()):
            charts.table(features.shape_walk(model, acts), "feat.col.")
        maps_ui(acts)
    s.sync()


def kernels_ui(model: torch.nn.Module) -> None:
    if (kernels := features.kernel_view(model)) is not None:  # the first conv's, on the first input channel
        st.subheader(t("feat.kernels.title", layer=kernels.layer))
        st.image(kernels.grid, caption=t("feat.kernels.caption", c=kernels.count, k=kernels.size))


@st.fragment
def embed_ui(model: torch.nn.Module) -> None:
    """4. PCA / t-SNE maps of whole layers, computed on demand (a fragment: its controls rerun only it)."""
    st.subheader(t("feat.embed.title"))
    st.markdown(t("feat.embed.explain"))
    s.elayers = features.embed_layers(model, s.elayers)
    e1, e2 = st.columns(2)
    e1.multiselect(t("feat.elayers"), features.leaf_layers(model), key="feat.elayers", max_selections=4)
    e2.slider(t("feat.n"), LOW, TOP, step=STEP, key="feat.n")
    pick(e1.radio, "feat.method", features.METHOD_CHOICES, horizontal=True)
    if not presenter():
        e2.slider(t("feat.perplexity"), 5, 50, key="feat.perplexity", help=t("feat.perplexity.help"))
    asked = (features.model_fingerprint(model), tuple(s.elayers), s.n, s.method, s.perplexity, seed())
    if st.button(t("feat.embed.go"), type="primary", key="feat.embed.go", disabled=not s.elayers):
        with explained_errors(), st.spinner(t("feat.embed.running", n=s.n)):
            if run_job(lambda: layer_maps(model, *asked), torch.device("cpu")) is not None:
                st.session_state["feat.embedded"] = asked
    if (done := st.session_state.get("feat.embedded")) is not None and done[0] == asked[0]:
        if done != asked:
            st.info(t("feat.embed.stale"))
        scatter_ui(layer_maps(model, *done), *done[1:5])
    st.markdown(t("feat.embed.report"))
    s.sync()


def scatter_ui(table: pd.DataFrame, layers: tuple, n: int, method: str, perplexity: float) -> None:
    """One row of maps per method, one map per layer; one colour legend for all."""
    charts.legend(t("feat.axis.digit"), data.MNIST_CLASSES)
    tip = [alt.Tooltip("digit:N", title=t("feat.axis.digit")), alt.Tooltip("index:Q", title=t("feat.index"))]
    kw = {"tooltip": [*tip, "image"], "size": 18 if n > 2000 else 28, "height": 280}  # image: a PNG data URL
    for row in features.embedding_columns(layers, method):  # one row of maps per method
        for col, (layer, m, x, y) in zip(st.columns(len(row)), row, strict=True):
            with col:
                title = f"{layer} · {t(f'feat.method.{m}')}"
                charts.scatter(table, x, y, "digit", list(data.MNIST_CLASSES), title=title, **kw)
    st.caption(t("feat.embed.caption", n=n, perplexity=perplexity))


jobs.harvest(JOB)  # the quick model is on disk now (or the job says why not)
st.title(t("nav.features"))
st.caption(t("feat.intro"))
model, model_caption = None, ""
st.subheader(t("feat.model.title"))
with explained_errors():  # no MNIST, no model picker: the sentence says why
    mnist = data.load("mnist")
    model, model_caption = model_ui()
jobs.live_panel(JOB, jobs.progress_line("feat.quick.progress"))  # the quick model: progress, Stop, outcome
if model is not None:  # (a model only once MNIST has loaded)
    st.caption(model_caption)
    inspect_ui(model, mnist)
    kernels_ui(model)
    st.divider()
    embed_ui(model)
show_source(features.activations, features.embed, features.map_grid)
jobs.watch_all()
