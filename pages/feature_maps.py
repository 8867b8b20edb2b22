"""Feature-map viewer: every layer's output for one digit, the first kernels, PCA / t-SNE of whole layers."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import data, features
from core.limits import LIMITS
from core.models import build_seeded
from ui.i18n import t
from ui.shell import (
    chart_height,
    current_device,
    explained_errors,
    presenter,
    run_job,
    seed,
    show_error,
    show_source,
)
from ui.state import sync_url, url_default

QUICK_MODELS = ("slides_cnn", "two_layer_cnn", "convnet3", "lenet5", "bn_cnn", "resnet_small", "mlp")
QUICK_SUBSET = 5000  # training images for the quick default model: ~97% accuracy in seconds on a CPU
SOURCES = ("session", "upload", "quick")
INPUTS = ("index", "class", "draw")
METHODS = ("both", "pca", "tsne")
EMBED_MIN = 500


# --- cached per process: every student of the class shares these ---------------------------------


@st.cache_resource(show_spinner=False)
def quick_models() -> dict[tuple[str, int], torch.nn.Module]:
    """Quick default models trained in this process, by (architecture, seed)."""
    return {}


@st.cache_resource(show_spinner=False, max_entries=8)
def uploaded_model(raw: bytes) -> tuple[torch.nn.Module, dict]:
    from core.checkpoint import load_checkpoint

    return load_checkpoint(raw)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_maps(
    fingerprint: str,
    _model: torch.nn.Module,
    layers: tuple[str, ...],
    n: int,
    method: str,
    perplexity: float,
    seed_: int,
) -> pd.DataFrame:
    """Embeddings of `layers` for the first n test images, one row per image (cached per model, settings)."""
    mnist = data.load("mnist")
    images = mnist.test_x[:n]
    feats = features.layer_features(_model, images, list(layers))
    table = {
        "index": np.arange(n),
        "digit": [str(int(d)) for d in mnist.test_y[:n]],
        "image": [features.png_data_url(img) for img in images.numpy()],
    }
    for i, layer in enumerate(layers):
        for m in ("pca", "tsne") if method == "both" else (method,):
            xy = features.embed(feats[layer], m, seed=seed_, perplexity=perplexity)
            table[f"x{i}_{m}"], table[f"y{i}_{m}"] = xy[:, 0], xy[:, 1]
    return pd.DataFrame(table)


def train_quick(name: str, seed_: int, bar) -> torch.nn.Module:
    from core.train import TrainConfig, fit

    model = build_seeded(name, seed_)
    config = TrainConfig(
        model=name,
        epochs=1,
        train_subset=QUICK_SUBSET,
        batch_size=64,
        lr=3e-3,
        seed=seed_,
        device=str(current_device().type),
        log_every=5,
    )

    def on_step(r: dict[str, float]) -> None:
        text = t("feat.quick.progress", loss=r["loss"], acc=r["acc"] * 100)
        bar.progress(min(1.0, r["progress"]), text=text)

    history = fit(model, data.load("mnist"), config, on_step=on_step)
    model = model.cpu().eval()
    model.test_accuracy = history.epochs[-1].get("test_acc", float("nan"))  # type: ignore[assignment]
    return model


# --- 1. the model ---------------------------------------------------------------------------------


def choose_model() -> tuple[torch.nn.Module | None, str]:
    session_model = st.session_state.get("train.model")
    url_default("feat.source", "session" if session_model is not None else "quick", choices=SOURCES)
    url_default("feat.quick", "slides_cnn", choices=QUICK_MODELS)
    st.segmented_control(
        t("feat.source"), SOURCES, key="feat.source", format_func=lambda s: t(f"feat.source.{s}")
    )
    source = st.session_state.get("feat.source") or "quick"
    if source == "session":
        if session_model is None:
            st.info(t("feat.session.none"))
            return None, ""
        meta = st.session_state.get("train.model_meta", {}) or {}
        acc = meta.get("test_acc")
        return session_model.cpu().eval(), t(
            "feat.session.caption",
            name=meta.get("name", "?"),
            acc=100 * float(acc if acc is not None else float("nan")),
        )
    if source == "upload":
        upload = st.file_uploader(t("feat.upload"), type=["safetensors"], key="feat.upload_file")
        if upload is None:
            st.info(t("feat.upload.hint"))
            return None, ""
        with explained_errors():
            model, meta = uploaded_model(upload.getvalue())
            return model, t("feat.upload.caption", name=meta.get("model", "?"), file=upload.name)
        return None, ""
    if not presenter():
        st.selectbox(t("feat.quick.model"), QUICK_MODELS, key="feat.quick")
    name = st.session_state["feat.quick"]
    store = quick_models()
    if (name, seed()) not in store:
        ask = st.empty()  # the hint and the button go away once the model is trained
        with ask.container():
            st.info(t("feat.quick.hint", n=QUICK_SUBSET, name=name))
            clicked = st.button(t("feat.quick.train"), type="primary", key="feat.quick.go")
        if not clicked:
            return None, ""
        ask.empty()
        bar = st.progress(0.0, text=t("feat.quick.progress.start"))
        with explained_errors():
            model = run_job(lambda: train_quick(name, seed(), bar), current_device())
            if model is not None:
                store[(name, seed())] = model
        bar.empty()
        if (name, seed()) not in store:
            return None, ""
    model = store[(name, seed())]
    return model, t("feat.quick.caption", name=name, n=QUICK_SUBSET, acc=100 * model.test_accuracy)


# --- 2. the input ---------------------------------------------------------------------------------


def choose_input(mnist: data.Dataset) -> tuple[np.ndarray | None, str]:
    url_default("feat.input", "index", choices=INPUTS)
    url_default("feat.index", 0)
    url_default("feat.digit", 7, choices=list(range(10)))
    url_default("feat.nth", 0)
    st.segmented_control(
        t("feat.input"), INPUTS, key="feat.input", format_func=lambda s: t(f"feat.input.{s}")
    )
    how = st.session_state.get("feat.input") or "index"
    if how == "index":
        st.number_input(t("feat.index"), 0, len(mnist.test_x) - 1, step=1, key="feat.index")
        i = int(st.session_state["feat.index"])
        return mnist.test_x[i].numpy(), t("feat.input.label", index=i, digit=int(mnist.test_y[i]))
    if how == "class":
        st.selectbox(t("feat.digit"), list(range(10)), key="feat.digit")
        if not presenter():
            st.number_input(t("feat.nth"), 0, 500, step=1, key="feat.nth")
        i = features.pick_by_class(
            mnist.test_y, int(st.session_state["feat.digit"]), int(st.session_state["feat.nth"])
        )
        return mnist.test_x[i].numpy(), t("feat.input.label", index=i, digit=int(mnist.test_y[i]))
    try:
        from ui.canvas import draw_digit

        digit = draw_digit("feat.canvas")
    except Exception as err:  # the drawing component failed to load: say so, keep the page
        show_error(err)
        return None, ""
    if digit is None:
        st.info(t("feat.draw.hint"))
        return None, ""
    return np.asarray(digit, dtype=np.uint8), t("feat.input.drawn")


# --- the page -------------------------------------------------------------------------------------

st.title(t("nav.features"))
st.caption(t("feat.intro"))
mnist = None
with explained_errors():
    mnist = data.load("mnist")

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader(t("feat.model.title"))
    model, model_caption = choose_model()
    if model is not None:
        st.caption(model_caption)
with right:
    st.subheader(t("feat.input.title"))
    image, image_caption = choose_input(mnist) if mnist is not None else (None, "")

if model is not None and image is not None:
    x = features.model_input(torch.from_numpy(image))  # (1, 1, 28, 28)
    acts = features.activations(model, x)
    probs = features.predict(model, x)[0]
    names = list(acts)

    # 3. Input and prediction
    a, b = st.columns([1, 3])
    with a:
        st.image(image, caption=image_caption, width=168, clamp=True)
    with b:
        guess = int(probs.argmax())
        st.markdown(t("feat.prediction", digit=guess, p=100 * float(probs[guess])))
        bars = pd.DataFrame({"digit": [str(d) for d in range(10)], "p": probs.numpy()})
        st.altair_chart(
            alt.Chart(bars)
            .mark_bar()
            .encode(
                x=alt.X("digit:N", title=t("feat.axis.digit"), axis=alt.Axis(labelAngle=0)),
                y=alt.Y("p:Q", title=t("feat.axis.prob"), scale=alt.Scale(domain=[0, 1])),
                color=alt.condition(
                    alt.datum.digit == str(guess), alt.value("#d62728"), alt.value("#9bb5d6")
                ),
                tooltip=["digit", alt.Tooltip("p:Q", format=".3f")],
            )
            .properties(height=chart_height(160)),
            width="stretch",
        )

    # 4. Layer by layer
    st.subheader(t("feat.layers.title"))
    walk = pd.DataFrame(
        {
            t("feat.col.layer"): names,
            t("feat.col.type"): [type(dict(model.named_modules())[n]).__name__ for n in names],
            t("feat.col.shape"): [" × ".join(str(s) for s in acts[n].shape[1:]) for n in names],
        }
    )
    with st.expander(t("feat.walk"), expanded=not presenter()):
        st.dataframe(walk, hide_index=True, width="stretch")
    first_maps = next((n for n in names if acts[n].dim() == 4 and n.startswith(("relu", "conv"))), names[0])
    if st.session_state.get("feat.layer") not in names:
        st.session_state.pop("feat.layer", None)
    url_default("feat.layer", first_maps, choices=names)
    url_default("feat.shared", True)
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        st.selectbox(
            t("feat.layer"),
            names,
            key="feat.layer",
            format_func=lambda n: f"{n} · {' × '.join(str(s) for s in acts[n].shape[1:])}",
        )
    layer = st.session_state["feat.layer"]
    act = acts[layer][0]  # (C, H, W) or (D,)
    maps = act if act.dim() == 3 else features.vector_as_maps(act)
    with c2:
        if not presenter():
            st.toggle(t("feat.shared"), key="feat.shared", help=t("feat.shared.help"))
    channels = maps.shape[0]
    url_default("feat.channel", 0)
    if st.session_state["feat.channel"] >= channels:
        st.session_state["feat.channel"] = 0
    with c3:
        st.number_input(
            t("feat.channel"), 0, channels - 1, step=1, key="feat.channel", disabled=channels == 1
        )
    signed = bool(maps.min() < 0)
    st.caption(t("feat.scale.signed") if signed else t("feat.scale.positive"))
    grid_col, big_col = st.columns([3, 2])
    with grid_col:
        columns = int(np.ceil(np.sqrt(channels)))
        cell = int(np.clip((640 if presenter() else 520) // columns, 24, 112))  # the grid fills its column
        st.image(
            features.map_grid(maps, shared_scale=bool(st.session_state["feat.shared"]), cell=cell),
            caption=t("feat.grid.caption", layer=layer, c=channels, shape=" × ".join(map(str, act.shape))),
        )
    with big_col:
        k = int(st.session_state["feat.channel"])
        one = maps[k].numpy()
        rows, cols = one.shape
        heat = pd.DataFrame(
            {
                "row": np.repeat(np.arange(rows), cols),
                "col": np.tile(np.arange(cols), rows),
                "value": one.reshape(-1),
            }
        )
        lim = float(np.abs(one).max()) or 1.0
        scale = alt.Scale(scheme="redblue", domain=[lim, -lim]) if signed else alt.Scale(scheme="viridis")
        st.altair_chart(
            alt.Chart(heat)
            .mark_rect()
            .encode(
                x=alt.X("col:O", axis=None),
                y=alt.Y("row:O", axis=None),
                color=alt.Color("value:Q", scale=scale, title=t("feat.value")),
                tooltip=["row", "col", alt.Tooltip("value:Q", format=".3f")],
            )
            .properties(
                title=t("feat.channel.title", layer=layer, k=k),
                width=chart_height(300),
                height=chart_height(300) * rows // max(cols, 1),
            ),
            width="content",
        )

    conv = features.first_conv(model)
    if conv is not None:
        conv_name, conv_module = conv
        weight = conv_module.weight.detach()[:, 0]  # (C_out, k, k): the kernels on the first input channel
        st.subheader(t("feat.kernels.title", layer=conv_name))
        st.image(
            features.map_grid(weight, shared_scale=False, cell=64, columns=min(8, len(weight))),
            caption=t("feat.kernels.caption", c=weight.shape[0], k=weight.shape[-1]),
        )
    sync_url(
        "feat.source",
        "feat.quick",
        "feat.input",
        "feat.index",
        "feat.digit",
        "feat.nth",
        "feat.layer",
        "feat.shared",
        "feat.channel",
    )
else:
    sync_url("feat.source", "feat.quick", "feat.input", "feat.index", "feat.digit", "feat.nth")

# 5. Whole layers: PCA and t-SNE maps
if model is not None:
    st.divider()
    st.subheader(t("feat.embed.title"))
    st.markdown(t("feat.embed.explain"))
    layer_choices = features.leaf_layers(model)
    linear = [n for n in layer_choices if isinstance(dict(model.named_modules())[n], torch.nn.Linear)]
    convs = [n for n in layer_choices if isinstance(dict(model.named_modules())[n], torch.nn.Conv2d)]
    # the report's three views: the second conv layer, the first fc layer, the final layer
    second_conv = [convs[min(1, len(convs) - 1)]] if convs else []
    default_layers = list(dict.fromkeys(second_conv + linear[:1] + linear[-1:]))
    if len(default_layers) < 3 and convs and convs[0] not in default_layers:  # the slides' CNN: one fc layer
        default_layers.insert(0, convs[0])
    remembered = st.session_state.get("feat.elayers")
    if remembered is None or not set(remembered) <= set(layer_choices):
        from_url = [n for n in st.query_params.get("feat.elayers", "").split(",") if n in layer_choices]
        st.session_state["feat.elayers"] = from_url or default_layers
    url_default("feat.n", 1000)
    url_default("feat.method", "both", choices=METHODS)
    url_default("feat.perplexity", 30)
    top = min(5000, LIMITS.max_embed_points)
    st.session_state["feat.n"] = int(min(max(st.session_state["feat.n"], min(EMBED_MIN, top)), top))
    e1, e2, e3, e4 = st.columns([3, 2, 3, 2])
    with e1:
        st.multiselect(t("feat.elayers"), layer_choices, key="feat.elayers", max_selections=4)
    with e2:
        st.slider(t("feat.n"), min(EMBED_MIN, top), top, step=100 if top > EMBED_MIN else 1, key="feat.n")
    with e3:
        st.segmented_control(
            t("feat.method"), METHODS, key="feat.method", format_func=lambda m: t(f"feat.method.{m}")
        )
    with e4:
        if not presenter():
            st.slider(t("feat.perplexity"), 5, 50, key="feat.perplexity", help=t("feat.perplexity.help"))
    chosen = tuple(st.session_state["feat.elayers"])
    method = st.session_state.get("feat.method") or "both"
    settings = (
        features.model_fingerprint(model),
        chosen,
        int(st.session_state["feat.n"]),
        method,
        float(st.session_state["feat.perplexity"]),
        seed(),
    )
    if st.button(t("feat.embed.go"), type="primary", key="feat.embed.go", disabled=not chosen):
        with explained_errors():
            with st.spinner(t("feat.embed.running", n=settings[2])):
                table = run_job(lambda: layer_maps(settings[0], model, *settings[1:]), torch.device("cpu"))
            if table is not None:
                st.session_state["feat.embedding"] = (settings, table)
    done = st.session_state.get("feat.embedding")
    if done is not None:
        (fp, layers_done, n_done, method_done, perp_done, _), table = done
        if done[0] != settings:
            st.info(t("feat.embed.stale"))
        methods = ("pca", "tsne") if method_done == "both" else (method_done,)
        width = min(340, 840 // max(1, len(layers_done)) - 20)  # panels and legend fit a laptop screen
        rows = []
        for m in methods:
            charts = [
                alt.Chart()
                .mark_circle(size=18 if n_done > 2000 else 28, opacity=0.75)
                .encode(
                    x=alt.X(f"x{i}_{m}:Q", axis=None),
                    y=alt.Y(f"y{i}_{m}:Q", axis=None),
                    color=alt.Color(
                        "digit:N", scale=alt.Scale(scheme="category10"), title=t("feat.axis.digit")
                    ),
                    tooltip=[
                        alt.Tooltip("digit:N", title=t("feat.axis.digit")),
                        alt.Tooltip("index:Q", title=t("feat.index")),
                        "image",
                    ],
                )
                .properties(
                    title=f"{layer} · " + t(f"feat.method.{m}"), width=width, height=chart_height(width)
                )
                for i, layer in enumerate(layers_done)
            ]
            rows.append(alt.hconcat(*charts))
        chart = alt.vconcat(*rows, data=table).configure_title(fontSize=18 if presenter() else 14)
        st.altair_chart(chart, width="content")
        st.caption(t("feat.embed.caption", n=n_done, perplexity=perp_done))
    st.markdown(t("feat.embed.report"))
    url_elayers = ",".join(st.session_state["feat.elayers"])
    if url_elayers != ",".join(default_layers):
        st.query_params["feat.elayers"] = url_elayers
    elif "feat.elayers" in st.query_params:
        del st.query_params["feat.elayers"]
    sync_url("feat.n", "feat.method", "feat.perplexity")

show_source(features.activations, features.embed, features.map_grid)
