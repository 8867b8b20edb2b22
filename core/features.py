"""Look inside a trained network: every layer's output for one image, and 2-D maps of whole layers.

The slides (example 7) read intermediate outputs by returning them from `forward`; the project
report wrote a `get_mid(x, "conv2")` method. Both change the model. Here forward hooks record every
module's output while the unchanged model runs, so the same code works for any network:

    acts = activations(model, x)                  # {"conv1": (B,16,28,28), "relu1": ..., "out": (B,10)}
    feats = layer_features(model, images, ["conv2", "fc1"])      # {"conv2": (N, D), ...}
    xy = embed(feats["conv2"], method="tsne", perplexity=30)     # (N, 2)
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.blocks.threads import one_thread
from core.data import normalize
from core.errors import UserError
from core.limits import LIMITS
from core.storage import cache_dir

METHODS = ("pca", "tsne")
METHOD_CHOICES = ("both", *METHODS)  # what the page offers: both maps, or one of them
PCA_DIMS_BEFORE_TSNE = 50  # t-SNE on 50 PCA dimensions: the usual speed-up (van der Maaten's advice)
# The page's quick default models: one epoch on the first QUICK_SUBSET training images (~97% in seconds).
QUICK_MODELS = ("slides_cnn", "two_layer_cnn", "convnet3", "lenet5", "bn_cnn", "resnet_small", "mlp")
QUICK_SUBSET = 5000
MODEL_SOURCES = (
    "session",
    "upload",
    "quick",
)  # the trainer page's model, an uploaded file, the quick default


def default_model_source(session_model: nn.Module | None) -> str:
    """Where the page takes its model from at first: the trainer's when this session trained one."""
    return "quick" if session_model is None else "session"


# --- 1. activations of one batch ----------------------------------------------------------------


def layer_names(model: nn.Module) -> list[str]:
    """Every named submodule (as in `named_modules()`, the root left out), in definition order."""
    return [name for name, _ in model.named_modules() if name]


def leaf_layers(model: nn.Module) -> list[str]:
    """Names of the modules that compute something themselves (no children, not nn.Identity)."""
    return [
        name
        for name, m in model.named_modules()
        if name and not any(True for _ in m.children()) and not isinstance(m, nn.Identity)
    ]


def activations(
    model: nn.Module, x: torch.Tensor, layers: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """Outputs of the model's submodules for input x (B, 1, 28, 28): {name: (B, ...)} in forward order.

    Names are `named_modules()` names (the "layer" column of `core.models.summarize`). With
    `layers=None` every leaf module is recorded except `nn.Identity` (a placeholder that changes
    nothing); a container such as a residual block can be asked for by name. A module called twice
    keeps its last output. Runs under `torch.no_grad()` without changing the model; the hooks are
    removed afterwards, even on error.
    """
    modules = dict(model.named_modules())
    wanted = None if layers is None else list(layers)
    if wanted is not None:
        unknown = [name for name in wanted if name not in modules or not name]
        if unknown:
            raise UserError(
                f"The model has no layer named {', '.join(unknown)}; "
                f"its layers are: {', '.join(layer_names(model))}.",
                f"模型中没有名为 {', '.join(unknown)} 的层；它的层有：{', '.join(layer_names(model))}。",
            )
    names = wanted if wanted is not None else leaf_layers(model)
    outputs: dict[str, torch.Tensor] = {}
    order: list[str] = []

    def hook_for(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
            if not isinstance(output, torch.Tensor):
                return  # e.g. an LSTM's tuple: nothing to draw as a feature map
            if name not in outputs:
                order.append(name)
            outputs[name] = output.detach()

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: outputs[name] for name in order}


def inspect_digit(model: nn.Module, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One digit uint8 (28, 28) -> (class probabilities (10,), every layer's output {name: (1, ...)}).

    On one intra-op thread: on the busy 2-core machine two OpenMP threads made this one-image forward
    of the slides' CNN 40-80 ms instead of 1 ms (one image has no work to share anyway).
    """
    from core.train import predict_proba  # the trainer's prediction, so both pages say the same

    with one_thread():
        return predict_proba(model, image)[0], activations(model, model_input(image))


def model_input(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 images (N, 28, 28) or (28, 28) -> normalized float input (N, 1, 28, 28) on `device`."""
    if images.dim() == 2:
        images = images.unsqueeze(0)
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise UserError(
            f"Expected 28×28 images, got shape {tuple(images.shape)}.",
            f"需要 28×28 的图像，实际形状为 {tuple(images.shape)}。",
        )
    return normalize(images).to(device)


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """The first nn.Conv2d in definition order (its weight (C_out, C_in, k, k) are the first kernels)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    return None


def shape_text(shape: Sequence[int]) -> str:
    """A shape as the page writes it: (16, 28, 28) -> "16 × 28 × 28"."""
    return " × ".join(map(str, shape))


def shape_walk(model: nn.Module, acts: dict[str, torch.Tensor]) -> list[dict[str, str]]:
    """{layer, type (the module's class), shape (without the batch, e.g. "16 × 28 × 28")} per activation."""
    types = {name: type(m).__name__ for name, m in model.named_modules()}
    return [
        {"layer": name, "type": types[name], "shape": shape_text(a.shape[1:])} for name, a in acts.items()
    ]


def default_map_layer(acts: dict[str, torch.Tensor]) -> str:
    """The layer whose maps the page opens on: the first conv (or its ReLU) with (B, C, H, W) output."""
    names = list(acts)
    return next((n for n in names if acts[n].dim() == 4 and n.startswith(("relu", "conv"))), names[0])


def map_layer(acts: dict[str, torch.Tensor], chosen: str = "") -> str:
    """The layer to draw: `chosen` when the model has it, else `default_map_layer` (new model, bad link)."""
    return chosen if chosen in acts else default_map_layer(acts)


def layer_label(name: str, act: torch.Tensor) -> str:
    """A layer as a list names it: its name and output shape without the batch, "conv1 · 16 × 28 × 28"."""
    return f"{name} · {shape_text(act.shape[1:])}"


def layer_labels(acts: dict[str, torch.Tensor]) -> dict[str, str]:
    """{name: `layer_label`} for every activation: the layer list's names ("conv1 · 16 × 28 × 28")."""
    return {name: layer_label(name, act) for name, act in acts.items()}


def first_kernels(model: nn.Module) -> tuple[str, torch.Tensor] | None:
    """The first conv layer's name and its kernels on the first input channel (C_out, k, k), or None."""
    found = first_conv(model)
    return None if found is None else (found[0], found[1].weight.detach()[:, 0])


def embed_layers(model: nn.Module, chosen: Sequence[str] = ()) -> list[str]:
    """The layers to map: `chosen` when it names leaf layers of this model, else `default_embed_layers`."""
    valid = bool(chosen) and set(chosen) <= set(leaf_layers(model))
    return list(chosen) if valid else default_embed_layers(model)


def default_embed_layers(model: nn.Module) -> list[str]:
    """The project report's three views: the second conv layer, the first fc layer, the final layer.

    A net with one fc layer (the slides' CNN) gets its first conv instead, so there are still three.
    """
    modules = dict(model.named_modules())
    leaves = leaf_layers(model)
    linear = [n for n in leaves if isinstance(modules[n], nn.Linear)]
    convs = [n for n in leaves if isinstance(modules[n], nn.Conv2d)]
    chosen = list(dict.fromkeys(convs[min(1, len(convs) - 1) :][:1] + linear[:1] + linear[-1:]))
    if len(chosen) < 3 and convs and convs[0] not in chosen:
        chosen.insert(0, convs[0])
    return chosen


def quick_path(name: str, seed: int = 0) -> Path:
    """Where the quick default model `name` (weights seeded by `seed`) is cached, for every session."""
    return cache_dir("features") / f"quick_{name}_seed{int(seed)}.safetensors"


def quick_work(name: str, seed: int = 0, device: str = "auto") -> Callable[..., Path | None]:
    """A core.jobs.Work: train `name` (seeded) one epoch on QUICK_SUBSET MNIST images, cache it at quick_path.

    The checkpoint's metadata holds "test_acc". Returns the path, or None when stopped before the end.
    """
    from core.checkpoint import save_checkpoint_file
    from core.data import load
    from core.models import build_seeded
    from core.train import TrainConfig, fit

    config = TrainConfig(
        name, epochs=1, train_subset=QUICK_SUBSET, batch_size=64, lr=3e-3, seed=seed, device=device
    )

    def work(report: Callable[[dict], None], should_stop: Callable[[], bool]) -> Path | None:
        model = build_seeded(name, seed)
        history = fit(model, load("mnist"), config, on_step=report, should_stop=should_stop)
        if history.stopped or not history.epochs:
            return None
        return save_checkpoint_file(
            quick_path(name, seed), model, {"test_acc": history.epochs[-1]["test_acc"]}
        )

    return work


# --- 2. pictures of feature maps and kernels ----------------------------------------------------

# Anchor colours of two standard colour maps, interpolated linearly (no matplotlib needed):
# viridis for values >= 0 (after a ReLU), RdBu reversed for signed values, white at zero.
VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)
DIVERGING = np.array(
    [[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43]], dtype=np.float64
)


def colorize(values: np.ndarray, lo: float, hi: float, diverging: bool) -> np.ndarray:
    """Map values (...) to RGB uint8 (..., 3): [lo, hi] onto viridis, or onto blue-white-red."""
    anchors = DIVERGING if diverging else VIRIDIS
    span = hi - lo if hi > lo else 1.0
    pos = np.clip((np.asarray(values, dtype=np.float64) - lo) / span, 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(pos.astype(int), len(anchors) - 2)
    frac = (pos - i)[..., None]
    return np.rint(anchors[i] * (1 - frac) + anchors[i + 1] * frac).astype(np.uint8)


def color_limits(maps: np.ndarray, shared: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """Colour-scale limits for maps (C, H, W): (lo (C,), hi (C,), diverging).

    Signed maps get a diverging scale symmetric around zero, so white always means 0.
    """
    maps = np.asarray(maps, dtype=np.float64)
    diverging = bool(maps.min() < 0)
    per = maps.reshape(len(maps), -1)
    if diverging:
        hi = np.abs(per).max(axis=1)
        if shared:
            hi = np.full_like(hi, hi.max())
        return -hi, hi, True
    lo, hi = per.min(axis=1), per.max(axis=1)
    if shared:
        lo, hi = np.full_like(lo, lo.min()), np.full_like(hi, hi.max())
    return lo, hi, False


def map_grid(
    maps: torch.Tensor | np.ndarray,
    shared_scale: bool = True,
    columns: int | None = None,
    cell: int = 56,
    gap: int = 2,
) -> np.ndarray:
    """Channel maps (C, H, W) -> one RGB picture (rows·(cell+gap), cols·(cell+gap), 3) uint8.

    Each map is scaled up (nearest neighbour, so pixels stay visible) to about `cell` pixels.
    """
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().cpu().float().numpy()
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"map_grid expects (C, H, W), got {maps.shape}")
    c, h, w = maps.shape
    columns = columns or int(np.ceil(np.sqrt(c)))
    rows = int(np.ceil(c / columns))
    scale = max(1, cell // max(h, w))
    lo, hi, diverging = color_limits(maps, shared_scale)
    ch, cw = h * scale + gap, w * scale + gap
    grid = np.full((rows * ch - gap, columns * cw - gap, 3), 255, dtype=np.uint8)
    for k in range(c):
        rgb = colorize(maps[k], lo[k], hi[k], diverging).repeat(scale, 0).repeat(scale, 1)
        r, q = divmod(k, columns)
        grid[r * ch : r * ch + h * scale, q * cw : q * cw + w * scale] = rgb
    return grid


def vector_as_maps(v: torch.Tensor) -> torch.Tensor:
    """A flat layer output (D,) -> (1, rows, cols) so it can be drawn like a feature map."""
    d = v.numel()
    cols = int(np.ceil(np.sqrt(d)))
    padded = torch.zeros(int(np.ceil(d / cols)) * cols, dtype=v.dtype)
    padded[:d] = v.flatten().cpu()
    return padded.view(1, -1, cols)


@dataclass
class LayerView:
    """One image's output of one layer, drawn: every channel in a grid, one channel enlarged."""

    maps: torch.Tensor  # (C, H, W): a flat output (D,) folded by vector_as_maps into (1, rows, cols)
    channel: int  # the enlarged channel, clamped to 0..C-1
    grid: np.ndarray  # (rows·(cell+gap), cols·(cell+gap), 3) uint8: every channel
    one: np.ndarray  # (≈448, ≈448, 3) uint8: the enlarged channel on its own colour scale
    lo: float  # the enlarged channel's smallest value
    hi: float  # and its largest
    shape: str  # the layer's output shape without the batch, e.g. "16 × 28 × 28"
    signed: bool  # a value < 0: blue-white-red around zero, else viridis


def layer_view(act: torch.Tensor, channel: int = 0, shared_scale: bool = True, width: int = 520) -> LayerView:
    """act (C, H, W) or (D,) -> its grid with cells of about width/√C pixels (24..112), one channel big."""
    maps = act if act.dim() == 3 else vector_as_maps(act)  # (C, H, W)
    k = min(max(int(channel), 0), len(maps) - 1)
    cell = int(np.clip(width // int(np.ceil(np.sqrt(len(maps)))), 24, 112))
    grid = map_grid(maps, shared_scale=shared_scale, cell=cell)
    one = maps[k]  # (H, W)
    big = map_grid(one[None], cell=448)
    return LayerView(
        maps, k, grid, big, float(one.min()), float(one.max()), shape_text(act.shape), bool(maps.min() < 0)
    )


@dataclass
class KernelView:
    """The first conv layer's kernels on the first input channel, drawn 8 a row, each on its own scale."""

    layer: str  # the conv layer's name, e.g. "conv1"
    count: int  # C_out: how many kernels
    size: int  # k: each kernel is k × k
    grid: np.ndarray  # (rows·(p+2) - 2, cols·(p+2) - 2, 3) uint8: kernels of p = k·⌊64/k⌋ pixels, 2 apart


def kernel_view(model: nn.Module) -> KernelView | None:
    """`first_kernels` drawn as the page shows them (white is 0), or None for a model without a conv layer."""
    if (found := first_kernels(model)) is None:
        return None
    layer, weight = found  # (C_out, k, k)
    grid = map_grid(weight, shared_scale=False, cell=64, columns=min(8, len(weight)))
    return KernelView(layer, len(weight), weight.shape[-1], grid)


def png_data_url(image: np.ndarray) -> str:
    """A uint8 image (H, W) or (H, W, 3) as a `data:image/png;base64,...` URL (for chart tooltips)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --- 3. whole layers over many images, and their 2-D maps ---------------------------------------


def layer_features(
    model: nn.Module,
    images: torch.Tensor,
    layers: list[str],
    batch_size: int = 500,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """uint8 images (N, 28, 28) -> {layer: flattened outputs (N, D) float32}, computed in batches."""
    if not layers:
        raise UserError("Choose at least one layer.", "请至少选择一层。")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    for start in range(0, len(images), batch_size):
        x = model_input(images[start : start + batch_size], device)
        acts = activations(model, x, layers)
        for name in layers:
            parts[name].append(acts[name].flatten(1).float().cpu().numpy())
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def embed(
    features: np.ndarray | torch.Tensor,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30.0,
    pca_dims: int = PCA_DIMS_BEFORE_TSNE,
    max_iter: int = 500,
    threads: int = 1,
) -> np.ndarray:
    """Features (N, D) -> 2-D coordinates (N, 2) float32 by PCA or t-SNE; the same seed gives the same map.

    PCA keeps the two directions of largest variance (a linear projection). t-SNE keeps each
    point's neighbours close (non-linear); it first reduces to `pca_dims` dimensions by PCA and
    starts from the PCA layout (init="pca"), which makes it faster and more stable. It runs on
    `threads` threads: one by default, because on a busy shared machine OpenMP threads that wait
    for each other made t-SNE 5-10× slower (bench/embeddings.py measures both).
    """
    from sklearn.decomposition import PCA  # sklearn is heavy: import on first use

    x = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else np.asarray(features)
    x = x.reshape(len(x), -1).astype(np.float32)
    n, d = x.shape
    if method not in METHODS:
        raise UserError(
            f"Unknown method '{method}'; choose one of {', '.join(METHODS)}.",
            f"未知的降维方法“{method}”；可选：{', '.join(METHODS)}。",
        )
    if n < 3:
        raise UserError("An embedding needs at least 3 points.", "降维至少需要 3 个点。")
    if method == "pca":
        if d < 2:
            return np.column_stack([x[:, 0], np.zeros(n, np.float32)])
        return PCA(n_components=2, random_state=seed).fit_transform(x).astype(np.float32)
    if not 1 <= perplexity < n:
        raise UserError(
            f"The perplexity (about how many neighbours each point keeps) must be between 1 and the number "
            f"of points minus one ({n - 1}); it is {perplexity:g}.",
            f"困惑度（每个点大约保留多少个近邻）必须在 1 到点数减一（{n - 1}）之间；当前为 {perplexity:g}。",
        )
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        if d > pca_dims:
            x = PCA(n_components=min(pca_dims, n), random_state=seed).fit_transform(x)
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            random_state=seed,
            max_iter=max_iter,
            learning_rate="auto",
        )
        return tsne.fit_transform(x).astype(np.float32)


def embedding_table(
    model: nn.Module,
    data,
    layers: list[str],
    n: int,
    method: str = "both",
    perplexity: float = 30.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Maps of whole layers for the first n test images -> columns: index, digit, image (PNG data URL for
    tooltips), and x{i}_{m}, y{i}_{m} for layer i and method m ("pca", "tsne"; "both" gives both)."""
    images = data.test_x[:n]  # (n, 28, 28) uint8
    feats = layer_features(model, images, list(layers))
    table: dict[str, Any] = {
        "index": np.arange(n),
        "digit": [str(int(d)) for d in data.test_y[:n]],
        "image": [png_data_url(img) for img in images.numpy()],
    }
    for row in embedding_columns(layers, method):
        for layer, m, x, y in row:
            xy = embed(feats[layer], m, seed=seed, perplexity=perplexity)  # (n, 2)
            table[x], table[y] = xy[:, 0], xy[:, 1]
    return table


def embed_sizes(limit: int | None = None) -> tuple[int, int, int, int]:
    """How many test images a map may use under a server cap (None: MAX_EMBED_POINTS): (smallest, largest,
    step, default)."""
    limit = LIMITS.max_embed_points if limit is None else limit
    top = min(5000, limit)  # t-SNE of 5,000 points takes about a minute on one core
    return min(500, top), top, 100 if top > 500 else 1, min(1000, top)


def embedding_columns(layers: Sequence[str], method: str = "both") -> list[list[tuple[str, str, str, str]]]:
    """Where `embedding_table` puts each map, one row per method: (layer, method, x column, y column)."""
    methods = METHODS if method == "both" else (method,)
    return [[(layer, m, f"x{i}_{m}", f"y{i}_{m}") for i, layer in enumerate(layers)] for m in methods]


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the model's class, weights and buffers: the cache key for its embeddings."""
    digest = hashlib.sha256(type(model).__name__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
