"""Train the VAE with the course's `fit`, keep the best checkpoint per setting, decode what the page shows.

    model, history = train_vae(data.load("mnist"), VAEConfig(z_dim=8), replace(DEFAULT_TRAIN, epochs=1))
    images = sample(model, 16, seed=0)                          # (16, 28, 28) in [0, 1]
    strip = interpolate_images(model, x0, x1, steps=8)          # (8, 28, 28), x0/x1 uint8 (28, 28)
    gif = frames_to_gif(strip)                                  # animated GIF bytes

Images go in as uint8 (…, 28, 28) like the rest of the app and come out as floats in [0, 1].
Checkpoints are core/checkpoint.py's safetensors files (model "vae"), one per (dataset, z, β) in
cache_dir("vae"); a run replaces the cached one only when its test loss is lower (`keep_if_better`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from math import isqrt
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.checkpoint import load_checkpoint_file, save_checkpoint_file
from core.data import Dataset
from core.errors import UserError
from core.images import mosaic, zoom
from core.limits import LIMITS
from core.models import build_seeded
from core.models.vae import VAE, VAEConfig, interpolate, vae_loss
from core.storage import cache_dir
from core.train import History, TrainConfig, fit

MODEL_NAME = "vae"
# The page's choices. z = 2 draws the latent plane; z = 8 is the default: with z = 2 a short run
# squeezes 1, 7 and 9 into one cloud and decodes blobs (issue #12), with z = 8 digits stay apart.
Z_CHOICES = (2, 4, 8, 16, 20, 32)
BETA_CHOICES = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
SUBSETS = tuple(s for s in (2_000, 5_000, 10_000, 20_000, 60_000) if s <= LIMITS.max_train_subset) or (
    LIMITS.max_train_subset,
)
DEFAULT_DATASET, DEFAULT_BETA = "mnist", 1.0
DEFAULT_VAE = VAEConfig(z_dim=8)
# pytorch/examples' vae/main.py: Adam 1e-3, batch 128, constant rate. One epoch over all 60 000 images
# is the in-class run (about 40 s on 2 idle CPU cores, seconds on a GPU); every run is tested on the
# same 10 000 test images, so test losses of two runs compare (`keep_if_better`).
DEFAULT_TRAIN = TrainConfig(
    model=MODEL_NAME,
    optimizer="adam",
    lr=1e-3,
    batch_size=128,
    epochs=1,
    train_subset=SUBSETS[-1],
    schedule="constant",
    log_every=10,
    eval_subset=10_000,
)
# What `make prepare` trains (dataset, z, β), so the page opens instantly with a good model, and for
# how many epochs (VAE_PREPARE_EPOCHS): 5 epochs reach about 105 nats (docs/vae.md).
DEFAULT_CHECKPOINTS: tuple[tuple[str, int, float], ...] = (("mnist", 8, 1.0), ("mnist", 2, 1.0))
PREPARE_EPOCHS = 5


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 28, 28) -> float (..., 1, 28, 28) in [0, 1]: the pixel probabilities BCE compares with."""
    return (x.float() / 255.0).unsqueeze(-3)


def vae_objective(
    beta: float = 1.0,
) -> Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """The `objective` for core.train.fit: x uint8 (B, 28, 28) -> (recon + β·KL, {"recon", "kl"})."""
    if not 0.0 <= float(beta) <= 100.0:
        raise UserError(
            f"β (the KL weight) must be between 0 and 100 (got {beta}).",
            f"β（KL 项的权重）必须在 0 到 100 之间（当前为 {beta}）。",
        )

    def objective(
        model: nn.Module, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        target = to_unit(x)  # (B, 1, 28, 28)
        recon, mu, logvar = model(target)  # fp32: fit runs only the network under autocast
        losses = vae_loss(recon, target, mu, logvar, beta=beta)
        return losses.total, {"recon": losses.reconstruction, "kl": losses.kl}

    return objective


def train_vae(
    data: Dataset,
    vae_config: VAEConfig = DEFAULT_VAE,
    config: TrainConfig = DEFAULT_TRAIN,
    beta: float = DEFAULT_BETA,
    on_step: Callable[[dict[str, float]], None] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[VAE, History]:
    """A fresh VAE (weights from config.seed) on data.train_x (N, 28, 28) -> (CPU eval model, History).

    History records carry "loss" (recon + β·KL), "recon" and "kl" per image, and their "test_" versions.
    """
    model = build_seeded(MODEL_NAME, config.seed, **vae_config.options())
    history = fit(
        model,
        data,
        replace(config, model=MODEL_NAME),
        on_step=on_step,
        on_epoch=on_epoch,
        should_stop=should_stop,
        objective=vae_objective(beta),
    )
    return model.cpu().eval(), history


def summary(model: VAE, history: History, dataset: str, beta: float) -> dict[str, Any]:
    """What a checkpoint and the page say about a run: dataset, β, epochs, images and the last test losses."""
    final = history.epochs[-1] if history.epochs else {}
    return {
        "dataset": dataset,
        "z": model.z_dim,
        "beta": float(beta),
        "epochs": round(float(final.get("epoch", 0.0)), 2),
        "images": history.images,
        "seconds": round(history.elapsed, 1),
        "stopped": history.stopped,
        **{k: float(final.get(k, float("nan"))) for k in ("test_loss", "test_recon", "test_kl")},
    }


def train_work(
    data: Dataset, z_dim: int, beta: float, epochs: int, images: int, seed: int = 0, device: str = "auto"
) -> Callable[[Callable[[dict[str, Any]], None], Callable[[], bool]], tuple[VAE, dict[str, Any]] | None]:
    """The page's background job (a core.jobs.Work): train, report every step and epoch, keep the best.

    Step records go to `report` as they come; each epoch's test losses follow as a record with
    "test_recon" and "test_kl" at that step. The work returns (model, summary + "cached": True when
    it became the cached checkpoint, "best_loss": the cached checkpoint's test loss), or None when
    stopped before its first step.
    """
    vae_config = replace(DEFAULT_VAE, z_dim=int(z_dim))
    config = replace(
        DEFAULT_TRAIN, epochs=int(epochs), train_subset=int(images), seed=int(seed), device=device
    )

    def work(
        report: Callable[[dict[str, Any]], None], should_stop: Callable[[], bool]
    ) -> tuple[VAE, dict[str, Any]] | None:
        last = {"step": 0.0, "progress": 0.0}

        def on_step(record: dict[str, float]) -> None:
            last.update(step=record["step"], progress=record["progress"])
            report(dict(record))  # a copy: fit adds the epoch's test losses to its last step record later

        def on_epoch(r: dict[str, float]) -> None:
            report({**last, "epoch": r["epoch"], "test_recon": r["test_recon"], "test_kl": r["test_kl"]})

        model, history = train_vae(data, vae_config, config, beta, on_step, on_epoch, should_stop)
        if not history.epochs:  # stopped before the first step: nothing learned, nothing to keep
            return None
        meta = summary(model, history, data.name, beta)
        meta["cached"], meta["best_loss"] = keep_if_better(model, meta)
        return model, meta

    return work


# --- checkpoints: core/checkpoint.py's safetensors files, the best run per setting -----------------


def checkpoint_path(dataset: str, z_dim: int, beta: float = 1.0) -> Path:
    """Where the cached VAE for (dataset, z, β) lives: cache_dir("vae")/<dataset>_z<z>_beta<β>.safetensors."""
    return cache_dir("vae") / f"{dataset}_z{int(z_dim)}_beta{float(beta):g}.safetensors"


def load_cached(dataset: str, z_dim: int, beta: float = 1.0) -> tuple[VAE, dict[str, Any]] | None:
    """The cached VAE for (dataset, z, β), or None when there is none (a damaged file also counts as none)."""
    path = checkpoint_path(dataset, z_dim, beta)
    if not path.exists():
        return None
    try:
        model, meta = load_checkpoint_file(path, models=(MODEL_NAME,))
    except (UserError, OSError):
        return None
    unknown = dict.fromkeys(("epochs", "test_loss", "test_recon", "test_kl"), float("nan"))
    return (model, {**unknown, **meta}) if meta.get("model") == MODEL_NAME else None


def save_cached(model: VAE, meta: dict[str, Any]) -> Path:
    """Write the checkpoint for (meta["dataset"], model.z_dim, meta["beta"]) atomically; returns its path."""
    path = checkpoint_path(meta["dataset"], model.z_dim, meta["beta"])
    return save_checkpoint_file(path, model, meta)


def keep_if_better(model: VAE, meta: dict[str, Any]) -> tuple[bool, float]:
    """Cache this run when there is no checkpoint for its setting or its test loss is lower.

    Returns (kept, the cached checkpoint's test loss now).
    A quick classroom run (fewer images, a stopped run) never replaces the better model that
    `make prepare` or an earlier student left: the next session starts from the best one.
    """
    cached = load_cached(meta["dataset"], model.z_dim, meta["beta"])
    old = float(cached[1].get("test_loss", float("inf"))) if cached is not None else float("inf")
    new = float(meta.get("test_loss", float("nan")))
    if not new < old:  # also refuses NaN
        return False, old
    save_cached(model, meta)
    return True, new


def prepare_defaults(epochs: int = PREPARE_EPOCHS, log: Callable[[str], None] = print) -> str:
    """`make prepare`: train DEFAULT_CHECKPOINTS for `epochs` on all training images, keep each if better."""
    from core.data import load

    done = []
    for dataset, z_dim, beta in DEFAULT_CHECKPOINTS:
        cached = load_cached(dataset, z_dim, beta)
        if cached is not None and cached[1].get("images", 0) >= epochs * 60_000:
            done.append(f"{dataset} z={z_dim}: cached ({cached[1].get('test_loss', float('nan')):.1f} nats)")
            continue
        model, history = train_vae(
            load(dataset),
            replace(DEFAULT_VAE, z_dim=z_dim),
            replace(DEFAULT_TRAIN, epochs=epochs),
            beta=beta,
            on_epoch=lambda r, z=z_dim: log(
                f"  vae z={z} epoch {r['epoch']:.0f}: test loss {r['test_loss']:.1f}"
            ),
        )
        meta = summary(model, history, dataset, beta)
        kept = "kept" if keep_if_better(model, meta)[0] else "a better one was cached already"
        done.append(
            f"{dataset} z={z_dim}: test loss {meta['test_loss']:.1f} nats ({meta['seconds']:.0f} s, {kept})"
        )
    return "; ".join(done) + f" (cache: {cache_dir('vae')})"


# --- what the page shows -----------------------------------------------------------------------------


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def decode(model: VAE, z: torch.Tensor) -> torch.Tensor:
    """z (N, z_dim) -> images (N, 28, 28) in [0, 1], on the CPU."""
    model.eval()
    return model.decode(z.to(_device_of(model)).float()).squeeze(1).cpu()


@torch.no_grad()
def sample(model: VAE, n: int, seed: int = 0) -> torch.Tensor:
    """n draws z ~ N(0, I) (seeded, the same on every device), decoded -> (n, 28, 28) in [0, 1]."""
    if not 1 <= int(n) <= 400:
        raise UserError(
            f"Ask for between 1 and 400 samples (got {n}).", f"采样数量须在 1 到 400 之间（当前为 {n}）。"
        )
    z = torch.randn(int(n), model.z_dim, generator=torch.Generator().manual_seed(int(seed)))
    return decode(model, z)


@torch.no_grad()
def encode_means(model: VAE, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """x uint8 (N, 28, 28) or (28, 28) -> μ (N, z_dim) on the CPU (the encoder's mean, no sampling)."""
    if x.dim() == 2:
        x = x.unsqueeze(0)
    model.eval()
    dev = _device_of(model)
    return torch.cat(
        [model.encode(to_unit(x[i : i + batch_size]).to(dev))[0].cpu() for i in range(0, len(x), batch_size)]
    )


@torch.no_grad()
def reconstruct(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """x uint8 (N, 28, 28) -> decode(μ(x)) (N, 28, 28) in [0, 1] (the mean reconstruction, no sampling)."""
    return decode(model, encode_means(model, x))


@torch.no_grad()
def interpolate_images(
    model: VAE, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8, method: str = "linear"
) -> torch.Tensor:
    """Two digits uint8 (28, 28) -> (steps, 28, 28) decodings along the path between their latent means."""
    z = encode_means(model, torch.stack([x0, x1]))  # (2, z_dim)
    return decode(model, interpolate(z[0], z[1], steps, method))


def slider_start(model: VAE, digit: torch.Tensor | None = None) -> list[float]:
    """Where the latent sliders start: z = 0, or μ of a digit uint8 (28, 28), clamped to ±3, 0.1 steps."""
    mu = torch.zeros(model.z_dim) if digit is None else encode_means(model, digit)[0]
    return [round(v, 1) for v in mu.clamp(-3, 3).tolist()]


@torch.no_grad()
def latent_points(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """x uint8 (N, 28, 28) -> (N, 2): μ itself for z = 2, else μ on its two principal components."""
    mu = encode_means(model, x)  # (N, z)
    if mu.shape[1] <= 2:
        return mu
    centred = mu - mu.mean(dim=0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)  # rows of v: principal directions
    return centred @ v[:2].T  # (N, 2)


def latent_table(model: VAE, data: Dataset, n: int | None = None) -> dict[str, Any]:
    """The first n test images' latent positions (`latent_points`) -> columns z1, z2 and class (its name).

    n=None: the page's 2,000 points, or fewer under the server's cap (MAX_EMBED_POINTS).
    """
    n = min(2_000, LIMITS.max_embed_points) if n is None else n
    xy = latent_points(model, data.test_x[:n]).numpy()  # (n, 2)
    return {"z1": xy[:, 0], "z2": xy[:, 1], "class": [data.classes[int(c)] for c in data.test_y[:n]]}


def random_test_images(data: Dataset, n: int = 16, seed: int = 0) -> torch.Tensor:
    """n test images uint8 (n, 28, 28) in a seeded random order: the same seed, the same images."""
    order = torch.randperm(len(data.test_x), generator=torch.Generator().manual_seed(int(seed)))
    return data.test_x[order[:n]]


def manifold_values(n: int = 15, edge: float = 0.05) -> torch.Tensor:
    """(n,) latent values at evenly spaced quantiles edge..1-edge of N(0, 1) (Kingma & Welling, figure 4)."""
    if not 2 <= int(n) <= 30:
        raise UserError(
            f"The manifold grid side must be between 2 and 30 (got {n}).",
            f"流形网格的边长须在 2 到 30 之间（当前为 {n}）。",
        )
    return torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(edge, 1 - edge, int(n)))


@torch.no_grad()
def latent_manifold(model: VAE, n: int = 15, edge: float = 0.05) -> torch.Tensor:
    """For z = 2: decodings over an n×n grid of latent values -> (n, n, 28, 28); z₂ grows upwards."""
    if model.z_dim != 2:
        raise UserError(
            f"The manifold is drawn for a 2-dimensional latent space; this model has z = {model.z_dim}.",
            f"流形图只适用于 2 维潜变量空间；这个模型的 z = {model.z_dim}。",
        )
    v = manifold_values(n, edge)
    z2, z1 = torch.meshgrid(v.flip(0), v, indexing="ij")  # z₂ grows upwards, like a plot's y axis
    z = torch.stack([z1.flatten(), z2.flatten()], dim=1)  # (n·n, 2)
    return decode(model, z).reshape(int(n), int(n), 28, 28)


# --- pictures ----------------------------------------------------------------------------------------


def image_grid(images: torch.Tensor, cols: int, pad: int = 2, scale: int = 1) -> np.ndarray:
    """images (N, 28, 28) in [0, 1] -> one uint8 mosaic, `cols` per row, `pad` black pixels apart, zoomed."""
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()  # (N, 28, 28)
    return zoom(mosaic(pixels, cols, gap=pad), scale)


def sample_grid(samples: torch.Tensor) -> np.ndarray:
    """n samples (n, 28, 28) in [0, 1] -> a square mosaic, √n a row; 36 or fewer get 4× pixels, more 3×."""
    return image_grid(samples, isqrt(len(samples)), scale=3 if len(samples) > 36 else 4)


def frames_to_gif(frames: torch.Tensor, scale: int = 4, duration_ms: int = 120, bounce: bool = True) -> bytes:
    """frames (T, 28, 28) in [0, 1] -> an animated, looping GIF (there and back when `bounce`)."""
    from PIL import Image

    pixels = (frames.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    order = list(range(len(pixels))) + (list(range(len(pixels) - 2, 0, -1)) if bounce else [])
    images = [Image.fromarray(pixels[i]).resize((28 * scale, 28 * scale), Image.NEAREST) for i in order]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buf.getvalue()
