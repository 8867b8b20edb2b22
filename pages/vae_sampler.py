"""VAE sampler: train (or load) the report's convolutional VAE; sample, interpolate, walk the latent space.

One model, four views in tabs; each tab is a fragment, so its controls rerun only that tab.
"""

import pandas as pd
import streamlit as st
import torch

from core import data
from core import vae_training as vt
from core.features import model_fingerprint
from core.limits import LIMITS
from core.models.vae import VAE, interpolate, kl_divergence, vae_loss
from ui import cached, charts, jobs
from ui.digit_input import digit_input, digit_state
from ui.i18n import labeller, t
from ui.keep import tensorboard_button
from ui.shell import current_device, explained_errors, presenter, reroll_button, seed, show_source
from ui.state import url_state

JOB, SAMPLES, METHODS = "vae.job", [16, 36, 64, 100], ["linear", "slerp", "both"]
for _side, _digit in (("a", 1), ("b", 7)):  # each endpoint's test image: its class and which one of it
    digit_state(f"vae.{_side}_", sources=("class",), digit=_digit)
s = url_state(
    "vae.",
    dataset=(vt.DEFAULT_DATASET, data.NAMES),
    z=(vt.DEFAULT_VAE.z_dim, vt.Z_CHOICES),
    beta=(vt.DEFAULT_BETA, vt.BETA_CHOICES),
    epochs=(vt.DEFAULT_TRAIN.epochs, range(1, LIMITS.max_epochs + 1)),
    subset=(vt.DEFAULT_TRAIN.train_subset, vt.SUBSETS),
    n=(64, SAMPLES),
    sample_seed=0,
    src=("test", ["test", "draw"]),
    method=("both", METHODS),
    steps=(10, range(3, 17)),
    grid=(15, range(5, 26)),
    recon_seed=0,
    start=("zero", ["zero", "digit"]),  # the latent grid centres on z = 0 or on the Interpolate tab's start
)


@st.cache_data(show_spinner=False, max_entries=8)
def latent_table(fingerprint: str, _model: VAE, dataset: str) -> pd.DataFrame:
    return pd.DataFrame(vt.latent_table(_model, data.load(dataset)))


def finished(job: jobs.BackgroundJob) -> jobs.Said:
    """A finished training job: keep its model in the session, say how it went and whether it was cached."""
    model, meta = job.result
    setting = (meta["dataset"], meta["z"], meta["beta"])
    st.session_state.setdefault("vae.trained", {})[setting] = (model, meta)
    st.session_state["vae.last_run"] = (setting, job.snapshot()["records"])
    how = f"vae.train.{'stopped' if meta['stopped'] else 'done'}.{'kept' if meta['cached'] else 'best'}"
    return "success", how, meta


def settings_ui() -> tuple[str, int, float]:
    c1, c2, c3 = st.columns(3)
    c1.selectbox(t("vae.dataset"), data.NAMES, key="vae.dataset", format_func=labeller("vae.dataset."))
    c2.select_slider(t("vae.z"), vt.Z_CHOICES, key="vae.z", help=t("vae.z.help"))
    c3.select_slider(t("vae.beta"), vt.BETA_CHOICES, key="vae.beta", help=t("vae.beta.help"))
    return s.dataset, s.z, float(s.beta)


def curves_ui(records: list[dict]) -> None:
    """Reconstruction and KL per image over the steps: the training batches' and the test set's."""
    titles = {"x_title": t("vae.train.step"), "y_title": t("vae.train.value"), "height": 220}
    for col, term in zip(st.columns(2), ("recon", "kl"), strict=True):
        split = {term: t("vae.train.train"), f"test_{term}": t("vae.train.test")}  # record key -> line
        with col:
            st.markdown(f"**{t(f'vae.train.{term}')}**")
            charts.series(records, "step", split, y="nats", color="split", **titles)


def work() -> jobs.Work:
    """Train's click: the core training job for the settings as they are now (a change arrives with it)."""
    ds = data.load(s.dataset)
    return vt.train_work(ds, s.z, float(s.beta), s.epochs, s.subset, seed(), current_device().type)


def train_ui(dataset: str, z: int, beta: float, have_model: bool) -> None:
    """Epochs, images and Train, the live view under it, the last run's curves; the outcome under all."""
    with jobs.train_expander(JOB, "vae", have_model):
        if not presenter():
            c1, c2 = st.columns(2)
            c1.slider(t("vae.train.epochs"), 1, LIMITS.max_epochs, key="vae.epochs")
            c2.select_slider(t("vae.train.subset"), vt.SUBSETS, key="vae.subset", format_func="{:,}".format)
        draw = jobs.progress_with("vae.train.progress", curves_ui, of="loss")  # a step's, not a test record
        jobs.control(JOB, t("vae.train.button"), work, draw, show=False, key="vae.train.go")
        last = st.session_state.get("vae.last_run")
        if jobs.running(JOB) is None and last and last[0] == (dataset, z, beta):
            curves_ui(last[1])
            hparams = {"dataset": dataset, "z": z, "beta": beta}
            tensorboard_button(f"vae_{dataset}_z{z}_beta{beta:g}", last[1], hparams, "vae")


def sample_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    st.caption(t("vae.sample.explain"))
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    if not presenter():
        c1.select_slider(t("vae.sample.n"), SAMPLES, key="vae.n")
        c2.number_input(t("vae.sample.seed"), 0, 2**31 - 1, step=1, key="vae.sample_seed")
    reroll_button(t("vae.sample.new"), "vae.sample_seed", "vae.sample.go", where=c3)
    with explained_errors():
        images = vt.sample(model, s.n, seed=int(s.sample_seed))
        st.image(vt.sample_grid(images), width=600 if presenter() else 480)


def digit_ui(ds: data.Dataset, side: str, where: st.delta_generator.DeltaGenerator) -> torch.Tensor | None:
    """One endpoint in the column `where` (the shared digit picker): a test image by class and n-th example,
    or a drawn digit -> uint8 (28, 28), shown as the model gets it."""
    where.markdown(f"**{t(f'vae.interp.{side}')}**")
    pick, show = where.columns([2, 1])
    with pick:
        found = digit_input(f"vae.{side}_", ds, source="draw" if s.src == "draw" else "class", side=200)
    if found is None:
        return None
    picked, caption = found
    image = torch.from_numpy(picked.image)
    st.session_state[f"vae._{side}_index"] = picked.index if picked.index >= 0 else None  # dims_ui's start
    show.image(vt.image_grid(image[None] / 255, 1, scale=4), caption=caption)
    return image


def interpolate_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    st.caption(t("vae.interp.explain"))
    how = labeller("vae.interp.source.")
    st.radio(t("vae.interp.source"), ["test", "draw"], key="vae.src", horizontal=True, format_func=how)
    a, b = [digit_ui(ds, side, col) for side, col in zip("ab", st.columns(2), strict=True)]
    c1, c2 = st.columns(2)
    kw = {"format_func": labeller("vae.interp."), "help": t("vae.interp.method.help")}
    c1.radio(t("vae.interp.method"), METHODS, key="vae.method", horizontal=True, **kw)
    c2.slider(t("vae.interp.steps"), 3, 16, key="vae.steps")
    if a is None or b is None:  # the picker says what is missing
        return
    for m in ["linear", "slerp"] if s.method == "both" else [s.method]:
        with explained_errors():
            strip = vt.interpolate_images(model, a, b, s.steps, m)
            st.markdown(f"**{t(f'vae.interp.{m}')}**")
            st.image(vt.image_grid(strip, len(strip), scale=6 if presenter() else 4), width="stretch")
            gif, name = vt.frames_to_gif(strip), f"vae_{ds.name}_z{z}_{m}.gif"
            st.download_button(t("vae.interp.gif"), gif, name, "image/gif", key=f"vae.gif_{m}")


def scatter_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    points = latent_table(model_fingerprint(model), model, ds.name)
    st.markdown(f"**{t('vae.latent.scatter' if z == 2 else 'vae.latent.scatterN', n=len(points))}**")
    axes, size = (("z₁", "z₂") if z == 2 else ("PC1", "PC2")), 28 if presenter() else 18
    kw = {"axes": axes, "legend": t("vae.latent.class"), "tooltip": ["class"], "size": size, "height": 380}
    charts.scatter(points, "z1", "z2", "class", ds.classes, **kw)


def latent_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    st.caption(t("vae.latent.explain2") if z == 2 else t("vae.latent.explainN", z=z))
    left, right = st.columns(2)
    with right, explained_errors():
        scatter_ui(model, ds, z)
    with left, explained_errors():
        if z != 2:
            dims_ui(model, ds, z)
        else:
            st.markdown(f"**{t('vae.latent.manifold')}**")
            if not presenter():
                st.slider("n × n", 5, 25, key="vae.grid")
            grid = vt.latent_manifold(model, s.grid)  # (n, n, 28, 28)
            st.image(vt.image_grid(grid.flatten(0, 1), len(grid), pad=0, scale=2), width="stretch")


def dims_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    """One slider per latent dimension and the one image they decode to."""
    dims = [f"vae.dim{i}" for i in range(z)]
    for key in dims:
        st.session_state.setdefault(key, 0.0)

    def reset() -> None:
        index = st.session_state.get("vae._a_index") if st.session_state.get("vae.start") == "digit" else None
        start = vt.slider_start(model, None if index is None else ds.test_x[index])
        st.session_state.update(zip(dims, start, strict=True))

    how = labeller("vae.latent.start.")
    st.radio(t("vae.latent.start"), ["zero", "digit"], key="vae.start", format_func=how)
    st.button(t("vae.latent.reset"), on_click=reset, key="vae.reset", icon=":material/restart_alt:")
    sliders, picture = st.columns([2, 1])
    columns = sliders.columns(2)
    for i, key in enumerate(dims):
        columns[i % 2].slider(f"z{i + 1}", -3.0, 3.0, step=0.1, key=key)
    point = torch.tensor([[float(st.session_state[k]) for k in dims]])
    picture.image(vt.image_grid(vt.decode(model, point), 1, scale=6), caption=t("vae.latent.decoded"))


def recon_ui(model: VAE, ds: data.Dataset, z: int) -> None:
    st.caption(t("vae.recon.explain", z=z))
    reroll_button(t("vae.recon.shuffle"), "vae.recon_seed", "vae.recon.go", icon=":material/shuffle:")
    inputs = vt.random_test_images(ds, 16, seed=int(s.recon_seed))  # uint8 (16, 28, 28)
    for row, images in (("inputs", inputs / 255), ("outputs", vt.reconstruct(model, inputs))):
        st.markdown(f"**{t(f'vae.recon.{row}')}**")
        st.image(vt.image_grid(images, 16, scale=3), width="stretch")


@st.fragment
def tab_ui(view, model: VAE, ds: data.Dataset, z: int) -> None:
    """One tab's view as a fragment: its controls rerun only this tab, then mirror vae.* into the URL."""
    view(model, ds, z)
    s.sync()


jobs.harvest(JOB, finished)
st.title(t("nav.vae"))
if not presenter():
    st.caption(t("vae.intro"))
dataset, z, beta = settings_ui()
st.caption(t("vae.loss"))
found = None
with explained_errors():  # Fashion-MNIST without its files: the sentence says how to get them
    ds = data.load(dataset)
    path = vt.checkpoint_path(dataset, z, beta)
    found = cached.session_or_disk("vae.trained", (dataset, z, beta), path, cached.vae_checkpoint)
    if found is None and jobs.running(JOB) is None:
        st.info(t("vae.none", dataset=t(f"vae.dataset.{dataset}"), z=z, beta=f"{beta:g}"))
    train_ui(dataset, z, beta, found is not None)
if found is not None:
    model, meta, origin = found
    st.caption(t(f"vae.model.{origin}", **meta))
    tabs = st.tabs([t(f"vae.tab.{k}") for k in ("sample", "interp", "latent", "recon")])
    for tab, view in zip(tabs, (sample_ui, interpolate_ui, latent_ui, recon_ui), strict=True):
        with tab:
            tab_ui(view, model, ds, z)
show_source(VAE, vae_loss, kl_divergence, interpolate, vt.vae_objective, vt.train_vae, vt.keep_if_better)
jobs.watch_all()
