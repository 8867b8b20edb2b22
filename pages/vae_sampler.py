"""VAE sampler: train (or load) the report's convolutional VAE, sample, interpolate, walk the latent space."""

import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import data as core_data
from core import vae as core_vae
from core.limits import LIMITS
from core.models.vae import VAE, VAEConfig, interpolate, kl_divergence, vae_loss
from core.train import TrainConfig
from ui.i18n import t
from ui.shell import chart_height, current_device, explained_errors, lang, presenter, run_job, show_source
from ui.state import sync_url, url_default

Z_CHOICES = [2, 4, 8, 16, 20, 32]
BETA_CHOICES = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
SUBSETS = [s for s in (2_000, 5_000, 10_000, 20_000, 60_000) if s <= LIMITS.max_train_subset] or [
    LIMITS.max_train_subset
]
SCATTER_POINTS = min(2_000, LIMITS.max_embed_points)


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_model(dataset: str, z: int, beta: float, mtime: float) -> tuple[VAE, dict] | None:
    """The checkpoint on disk, loaded once per process (mtime in the key: a new file is reloaded)."""
    return core_vae.load_cached(dataset, z, beta)


def current_model(dataset: str, z: int, beta: float) -> tuple[VAE, dict, str] | None:
    """This session's trained VAE for these settings, else the cached checkpoint, else None."""
    trained = st.session_state.setdefault("vae.trained", {})
    if (dataset, z, beta) in trained:
        return (*trained[(dataset, z, beta)], "session")
    path = core_vae.checkpoint_path(dataset, z, beta)
    if path.exists():
        found = cached_model(dataset, z, beta, path.stat().st_mtime)
        if found is not None:
            return (*found, "cached")
    return None


def curve_chart(rows: list[dict], evals: list[dict], metric: str, title: str) -> alt.Chart:
    """One loss term against the step: training reports as a line, test evaluations as points."""
    train = pd.DataFrame(
        {"step": [r["step"] for r in rows], "nats": [r[metric] for r in rows], "split": t("vae.train.train")}
    )
    test = pd.DataFrame(
        {
            "step": [r["step"] for r in evals],
            "nats": [r[f"test_{metric}"] for r in evals],
            "split": t("vae.train.test"),
        }
    )
    x = alt.X("step:Q", title=t("vae.train.step"))
    y = alt.Y("nats:Q", title=t("vae.train.value"), scale=alt.Scale(zero=False))
    color = alt.Color("split:N", title=t("vae.train.split"))
    line = alt.Chart(train).mark_line().encode(x=x, y=y, color=color)
    points = alt.Chart(test).mark_point(size=80, filled=True).encode(x=x, y=y, color=color)
    return (line + points).properties(title=title, height=chart_height(240))


def show_curves(rows: list[dict], evals: list[dict], slots: tuple | None = None) -> None:
    left, right = slots or st.columns(2)
    left.altair_chart(curve_chart(rows, evals, "recon", t("vae.train.recon")), width="stretch")
    right.altair_chart(curve_chart(rows, evals, "kl", t("vae.train.kl")), width="stretch")


def train_ui(ds: core_data.Dataset, dataset: str, z: int, beta: float) -> None:
    """Epochs, subset and a Train button; live curves of reconstruction and KL while it runs."""
    url_default("vae.epochs", 2)
    url_default("vae.subset", 10_000 if 10_000 in SUBSETS else SUBSETS[-1], choices=SUBSETS)
    st.session_state["vae.epochs"] = min(st.session_state["vae.epochs"], LIMITS.max_epochs)
    if not presenter():
        c1, c2 = st.columns(2)
        c1.slider(t("vae.train.epochs"), 1, LIMITS.max_epochs, key="vae.epochs")
        c2.select_slider(t("vae.train.subset"), SUBSETS, key="vae.subset")
    last = st.session_state.get("vae.last_run")
    if not st.button(t("vae.train.button"), type="primary", key="vae.train.go"):
        if last and last["key"] == (dataset, z, beta):
            show_curves(last["rows"], last["evals"])
        return
    progress, status = st.progress(0.0), st.empty()
    slots = tuple(c.empty() for c in st.columns(2))
    rows: list[dict] = []
    evals: list[dict] = []

    def on_step(record: dict) -> None:
        rows.append(record)
        progress.progress(min(1.0, record["progress"]))
        status.caption(
            t(
                "vae.train.progress",
                epoch=record["epoch"],
                loss=record["loss"],
                recon=record["recon"],
                kl=record["kl"],
            )
        )
        if len(rows) % 3 == 1:
            show_curves(rows, evals, slots)

    def on_epoch(record: dict) -> None:
        evals.append(
            {
                "step": rows[-1]["step"] if rows else 0.0,
                "test_recon": record["test_recon"],
                "test_kl": record["test_kl"],
            }
        )
        show_curves(rows, evals, slots)

    device = current_device()
    config = TrainConfig(
        optimizer="adam",
        lr=1e-3,
        batch_size=128,
        epochs=st.session_state["vae.epochs"],
        train_subset=st.session_state["vae.subset"],
        schedule="constant",
        seed=int(st.session_state.get("seed", 0)),
        device=device.type,
        log_every=10,
        eval_subset=5_000,
    )
    result = run_job(
        lambda: core_vae.train_vae(
            ds, VAEConfig(z_dim=z), config, beta=beta, on_step=on_step, on_epoch=on_epoch
        ),
        device,
    )
    if result is None:
        return
    model, history = result
    final = history.epochs[-1]
    meta = {
        "epochs": config.epochs,
        "images": history.images,
        "test_loss": final["test_loss"],
        "test_recon": final["test_recon"],
        "test_kl": final["test_kl"],
        "dataset": dataset,
        "beta": beta,
    }
    st.session_state["vae.trained"][(dataset, z, beta)] = (model, meta)
    st.session_state["vae.last_run"] = {"key": (dataset, z, beta), "rows": rows, "evals": evals}
    if not core_vae.checkpoint_path(dataset, z, beta).exists():  # the next student starts from it instantly
        core_vae.save_cached(model, dataset, beta, meta)
    st.session_state["vae.just_trained"] = t(
        "vae.train.done",
        seconds=history.elapsed,
        loss=final["test_loss"],
        recon=final["test_recon"],
        kl=final["test_kl"],
    )
    st.rerun()


def digit_picker(ds: core_data.Dataset, side: str, default_class: int) -> torch.Tensor:
    """Class and n-th example of that class from the test set -> the digit uint8 (28, 28)."""
    url_default(f"vae.{side}_class", default_class, choices=list(range(10)))
    url_default(f"vae.{side}_nth", 0)
    st.selectbox(
        t("vae.interp.class"),
        range(10),
        key=f"vae.{side}_class",
        format_func=lambda c: f"{c}: {ds.classes[c]}" if ds.name != "mnist" else str(c),
    )
    indices = (ds.test_y == st.session_state[f"vae.{side}_class"]).nonzero().flatten()
    st.session_state[f"vae.{side}_nth"] = min(max(0, st.session_state[f"vae.{side}_nth"]), len(indices) - 1)
    st.number_input(t("vae.interp.nth"), 0, len(indices) - 1, step=1, key=f"vae.{side}_nth")
    index = int(indices[st.session_state[f"vae.{side}_nth"]])
    st.session_state[f"vae._{side}_index"] = index
    return ds.test_x[index]


def pixels(images: torch.Tensor, cols: int, scale: int) -> np.ndarray:
    """images (N, 28, 28) in [0, 1] -> uint8 mosaic, pixels enlarged `scale` times (sharp when projected)."""
    return core_vae.image_grid(images, cols=cols, pad=2, scale=scale)


# --- the page ------------------------------------------------------------------------------------

st.title(t("nav.vae"))
LANG = lang()  # format_func may be called outside the script run (AppTest): bind the language now
big = presenter()
if not big:
    st.caption(t("vae.intro"))
scale = 6 if big else 4

# 1. Which VAE: dataset, z, β (from the URL, remembered, or the defaults `make prepare` caches)
url_default("vae.dataset", "mnist", choices=list(core_data.NAMES))
url_default("vae.z", 2, choices=Z_CHOICES)
url_default("vae.beta", 1.0, choices=BETA_CHOICES)
c1, c2, c3 = st.columns(3)
c1.segmented_control(
    t("vae.dataset"),
    list(core_data.NAMES),
    key="vae.dataset",
    selection_mode="single",
    format_func=lambda d: t(f"vae.dataset.{d}", LANG),
)
if st.session_state.get("vae.dataset") not in core_data.NAMES:  # a segmented control can be clicked off
    st.session_state["vae.dataset"] = "mnist"
c2.select_slider(t("vae.z"), Z_CHOICES, key="vae.z", help=t("vae.z.help"))
c3.select_slider(t("vae.beta"), BETA_CHOICES, key="vae.beta", help=t("vae.beta.help"))
dataset, z, beta = (
    st.session_state["vae.dataset"],
    st.session_state["vae.z"],
    float(st.session_state["vae.beta"]),
)
sync_url("vae.dataset", "vae.z", "vae.beta")
st.caption(t("vae.loss"))

ds = None
with explained_errors():
    ds = core_data.load(dataset)
if ds is None:
    st.stop()

# 2. A trained model: this session's, the cached checkpoint, or train one now
found = current_model(dataset, z, beta)
if "vae.just_trained" in st.session_state:
    st.success(st.session_state.pop("vae.just_trained"))
if found is None:
    st.info(t("vae.none", dataset=t(f"vae.dataset.{dataset}"), z=z, beta=f"{beta:g}"))
with st.expander(t("vae.train.header") if found is None else t("vae.train.again"), expanded=found is None):
    with explained_errors():
        train_ui(ds, dataset, z, beta)
        sync_url("vae.epochs", "vae.subset")
if found is None:
    show_source(VAE, vae_loss, kl_divergence, core_vae.vae_objective, core_vae.train_vae)
    st.stop()
model, meta, origin = found
st.caption(
    t(
        f"vae.model.{origin}",
        epochs=meta.get("epochs", "?"),
        loss=meta.get("test_loss", float("nan")),
        recon=meta.get("test_recon", float("nan")),
        kl=meta.get("test_kl", float("nan")),
    )
)

tab_sample, tab_interp, tab_latent, tab_recon = st.tabs(
    [t("vae.tab.sample"), t("vae.tab.interp"), t("vae.tab.latent"), t("vae.tab.recon")]
)

# 3. Sample: decode z ~ N(0, I)
with tab_sample, explained_errors():
    st.caption(t("vae.sample.explain"))
    url_default("vae.n", 64, choices=[16, 36, 64, 100])
    url_default("vae.sample_seed", 0)

    def new_samples() -> None:
        st.session_state["vae.sample_seed"] = int(st.session_state["vae.sample_seed"]) + 1

    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    if not big:
        c1.select_slider(t("vae.sample.n"), [16, 36, 64, 100], key="vae.n")
        c2.number_input(t("vae.sample.seed"), 0, 2**31 - 1, step=1, key="vae.sample_seed")
    c3.button(t("vae.sample.new"), on_click=new_samples, key="vae.sample.go", icon=":material/casino:")
    n = st.session_state["vae.n"]
    images = core_vae.sample(model, n, seed=int(st.session_state["vae.sample_seed"]))
    st.image(pixels(images, int(math.sqrt(n)), 3 if n > 36 else 4), width=660 if big else 480)
    sync_url("vae.n", "vae.sample_seed")

# 4. Interpolate between two digits
with tab_interp, explained_errors():
    st.caption(t("vae.interp.explain"))
    url_default("vae.src", "test", choices=["test", "draw"])
    url_default("vae.method", "both", choices=["linear", "slerp", "both"])
    url_default("vae.steps", 10)
    st.session_state["vae.steps"] = min(max(3, st.session_state["vae.steps"]), 16)
    st.radio(
        t("vae.interp.source"),
        ["test", "draw"],
        key="vae.src",
        horizontal=True,
        format_func=lambda s: t(f"vae.interp.source.{s}", LANG),
    )
    ends: list[torch.Tensor | None] = []
    cols = st.columns(2)
    for col, side, label, default_class in (
        (cols[0], "a", "vae.interp.a", 1),
        (cols[1], "b", "vae.interp.b", 7),
    ):
        with col:
            st.markdown(f"**{t(label)}**")
            if st.session_state["vae.src"] == "test":
                inner = st.columns([2, 1])
                with inner[0]:
                    digit = digit_picker(ds, side, default_class)
                inner[1].image(
                    pixels(digit.float().div(255).unsqueeze(0), 1, 4),
                    caption=t("vae.interp.index", index=st.session_state[f"vae._{side}_index"]),
                )
                ends.append(digit)
            else:
                from ui.canvas import draw_digit

                drawn = draw_digit(f"vae.canvas_{side}", side=200)
                ends.append(None if drawn is None else torch.from_numpy(drawn))
    c1, c2 = st.columns(2)
    c1.radio(
        t("vae.interp.method"),
        ["linear", "slerp", "both"],
        key="vae.method",
        horizontal=True,
        format_func=lambda m: t(f"vae.interp.{m}", LANG),
        help=t("vae.interp.method.help"),
    )
    c2.slider(t("vae.interp.steps"), 3, 16, key="vae.steps")
    sync_url("vae.src", "vae.method", "vae.steps", "vae.a_class", "vae.a_nth", "vae.b_class", "vae.b_nth")
    if any(e is None for e in ends):
        st.info(t("vae.interp.draw"))
    else:
        methods = (
            ["linear", "slerp"]
            if st.session_state["vae.method"] == "both"
            else [st.session_state["vae.method"]]
        )
        for method in methods:
            strip = core_vae.interpolate_images(
                model, ends[0], ends[1], st.session_state["vae.steps"], method
            )
            st.markdown(f"**{t(f'vae.interp.{method}')}**")
            st.image(pixels(strip, len(strip), scale), width="stretch")
            st.download_button(
                t("vae.interp.gif"),
                core_vae.frames_to_gif(strip),
                key=f"vae.gif_{method}",
                file_name=f"vae_{dataset}_z{z}_{method}.gif",
                mime="image/gif",
                icon=":material/download:",
            )

# 5. The latent space
with tab_latent, explained_errors():
    if z == 2:
        st.caption(t("vae.latent.explain2"))
        url_default("vae.grid", 15)
        st.session_state["vae.grid"] = min(max(5, st.session_state["vae.grid"]), 25)
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{t('vae.latent.manifold')}**")
            if not big:
                st.slider("n × n", 5, 25, key="vae.grid")
            grid = core_vae.latent_manifold(model, st.session_state["vae.grid"])
            st.image(
                core_vae.image_grid(grid.reshape(-1, 28, 28), cols=grid.shape[0], pad=0, scale=2),
                width="stretch",
            )
        with right:
            cache = st.session_state.setdefault("vae._mu", {})
            if cache.get("model") is not model:
                cache.update(model=model, mu=core_vae.encode_means(model, ds.test_x[:SCATTER_POINTS]))
            mu = cache["mu"]
            points = pd.DataFrame(
                {
                    "z₁": mu[:, 0].numpy(),
                    "z₂": mu[:, 1].numpy(),
                    t("vae.latent.class"): [ds.classes[int(c)] for c in ds.test_y[:SCATTER_POINTS]],
                    "#": range(len(mu)),
                }
            )
            chart = (
                alt.Chart(points)
                .mark_circle(size=28 if big else 18, opacity=0.75)
                .encode(
                    x="z₁:Q",
                    y="z₂:Q",
                    color=alt.Color(
                        f"{t('vae.latent.class')}:N",
                        sort=list(ds.classes),
                        scale=alt.Scale(scheme="category10"),
                    ),
                    tooltip=["#", t("vae.latent.class"), "z₁", "z₂"],
                )
                .properties(title=t("vae.latent.scatter", n=len(mu)), height=chart_height(460))
            )
            st.altair_chart(chart, width="stretch")
        sync_url("vae.grid")
    else:
        st.caption(t("vae.latent.explainN", z=z))
        dims = [f"vae.dim{i}" for i in range(z)]

        def reset_dims() -> None:
            if st.session_state.get("vae.start") == "digit" and "vae._a_index" in st.session_state:
                start = core_vae.encode_means(model, ds.test_x[st.session_state["vae._a_index"]])[0]
            else:
                start = torch.zeros(z)
            for key, value in zip(dims, start.clamp(-3, 3).tolist(), strict=True):
                st.session_state[key] = round(value, 1)

        if any(k not in st.session_state for k in dims):
            for key in dims:
                st.session_state.setdefault(key, 0.0)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.radio(
            t("vae.latent.start"),
            ["zero", "digit"],
            key="vae.start",
            horizontal=True,
            format_func=lambda s: t(f"vae.latent.start.{s}", LANG),
        )
        c2.button(t("vae.latent.reset"), on_click=reset_dims, key="vae.reset", icon=":material/restart_alt:")
        sliders, picture = st.columns([3, 1])
        with sliders:
            per_row = 4
            for row in range(0, z, per_row):
                for col, i in zip(
                    st.columns(per_row)[: min(per_row, z - row)],
                    range(row, min(z, row + per_row)),
                    strict=True,
                ):
                    col.slider(f"z{i + 1}", -3.0, 3.0, step=0.1, key=dims[i])
        with picture:
            point = torch.tensor([[float(st.session_state[k]) for k in dims]])
            st.image(
                pixels(core_vae.decode(model, point), 1, 8), caption=t("vae.latent.decoded"), width="stretch"
            )

# 6. Reconstructions beside their inputs
with tab_recon, explained_errors():
    st.caption(t("vae.recon.explain", z=z))
    url_default("vae.recon_seed", 0)

    def other_images() -> None:
        st.session_state["vae.recon_seed"] = int(st.session_state["vae.recon_seed"]) + 1

    st.button(t("vae.recon.shuffle"), on_click=other_images, key="vae.recon.go", icon=":material/shuffle:")
    pick = torch.randperm(
        len(ds.test_x), generator=torch.Generator().manual_seed(int(st.session_state["vae.recon_seed"]))
    )[:16]
    inputs = ds.test_x[pick]
    recons = core_vae.reconstruct(model, inputs)
    st.markdown(f"**{t('vae.recon.inputs')}**")
    st.image(pixels(inputs.float().div(255), 16, 3), width="stretch")
    st.markdown(f"**{t('vae.recon.outputs')}**")
    st.image(pixels(recons, 16, 3), width="stretch")
    sync_url("vae.recon_seed")

show_source(
    VAE,
    vae_loss,
    kl_divergence,
    interpolate,
    core_vae.interpolate_images,
    core_vae.sample,
    core_vae.latent_manifold,
    core_vae.vae_objective,
    core_vae.train_vae,
)
