"""Train the VAE with the course's `fit`, cache its checkpoints on disk, and decode what the page shows.

    model, history = train_vae(data.load("mnist"), VAEConfig(z_dim=2), TrainConfig(epochs=1))
    images = sample(model, 16, seed=0)                          # (16, 28, 28) in [0, 1]
    strip = interpolate_images(model, x0, x1, steps=8)          # (8, 28, 28), x0/x1 uint8 (28, 28)
    gif = frames_to_gif(strip)                                  # animated GIF bytes

Images go in as uint8 (…, 28, 28) like the rest of the app and come out as floats in [0, 1].
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from core.checkpoint import read_metadata
from core.data import Dataset
from core.errors import UserError
from core.models.vae import VAE, VAEConfig, interpolate, vae_loss
from core.storage import atomic_write_bytes, cache_dir
from core.train import History, TrainConfig, fit

MODEL_NAME = "vae"
# What `make prepare` trains, so the page opens instantly in class: (dataset, z_dim, β).
DEFAULT_CHECKPOINTS: tuple[tuple[str, int, float], ...] = (("mnist", 2, 1.0), ("mnist", 20, 1.0))
# The training settings of pytorch/examples' vae/main.py: Adam 1e-3, batch 128, constant rate.
DEFAULT_TRAIN = TrainConfig(
    model=MODEL_NAME, optimizer="adam", lr=1e-3, batch_size=128, epochs=1, schedule="constant", log_every=10
)


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
        recon, mu, logvar = model(target)
        with torch.autocast(x.device.type, enabled=False):  # BCE is unsafe under fp16/bf16 autocast
            losses = vae_loss(recon.float(), target, mu.float(), logvar.float(), beta=beta)
        return losses.total, {"recon": losses.reconstruction, "kl": losses.kl}

    return objective


def train_vae(
    data: Dataset,
    vae_config: VAEConfig | None = None,
    config: TrainConfig = DEFAULT_TRAIN,
    beta: float = 1.0,
    on_step: Callable[[dict[str, float]], None] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[VAE, History]:
    """A fresh VAE (weights from config.seed) on data.train_x (N, 28, 28) -> (CPU eval model, History).

    History records carry "loss" (recon + β·KL), "recon" and "kl" per image, and their "test_" versions.
    """
    vae_config = vae_config or VAEConfig()
    state = torch.random.get_rng_state()
    torch.manual_seed(config.seed)
    try:
        model = VAE(vae_config.z_dim, vae_config.hidden, vae_config.channels)
    finally:
        torch.random.set_rng_state(state)
    config = replace(config, model=MODEL_NAME)
    history = fit(
        model,
        data,
        config,
        on_step=on_step,
        on_epoch=on_epoch,
        should_stop=should_stop,
        objective=vae_objective(beta),
    )
    return model.cpu().eval(), history


# --- checkpoints: safetensors (never pickle), cached on disk with atomic writes ---------------------


def save_vae(model: VAE, meta: dict[str, Any] | None = None) -> bytes:
    """The VAE's weights as safetensors bytes; JSON metadata holds "model": "vae", its options and `meta`."""
    meta = {**(meta or {}), "model": MODEL_NAME, "options": model.config.options()}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return st_save(state, metadata={k: json.dumps(v, ensure_ascii=False) for k, v in meta.items()})


def load_vae(data: bytes) -> tuple[VAE, dict[str, Any]]:
    """Rebuild a VAE from `save_vae` bytes -> (eval-mode model on CPU, meta); anything else -> UserError."""
    meta = read_metadata(data)  # refuses pickles and truncated headers with a teaching sentence
    options = meta.get("options")
    if meta.get("model") != MODEL_NAME or not isinstance(options, dict):
        raise UserError(
            "This weights file does not hold a VAE from this app.", "这个权重文件里不是本应用保存的 VAE。"
        )
    try:
        state = st_load(data)
        model = VAE(**options)
        model.load_state_dict(state, strict=True)
    except (SafetensorError, ValueError, RuntimeError, TypeError) as err:
        raise UserError(
            f"The VAE weights are damaged or do not fit the architecture {options}.",
            f"VAE 权重已损坏，或与网络结构 {options} 不匹配。",
        ) from err
    return model.eval(), meta


def checkpoint_path(dataset: str, z_dim: int, beta: float = 1.0) -> Path:
    """Where the cached VAE for (dataset, z, β) lives: cache_dir("vae")/<dataset>_z<z>_beta<β>.safetensors."""
    return cache_dir("vae") / f"{dataset}_z{int(z_dim)}_beta{float(beta):g}.safetensors"


def save_cached(model: VAE, dataset: str, beta: float, meta: dict[str, Any] | None = None) -> Path:
    """Write the checkpoint for (dataset, model.z_dim, β) atomically (never half a file); returns its path."""
    meta = {**(meta or {}), "dataset": dataset, "beta": float(beta)}
    return atomic_write_bytes(checkpoint_path(dataset, model.z_dim, beta), save_vae(model, meta))


def load_cached(dataset: str, z_dim: int, beta: float = 1.0) -> tuple[VAE, dict[str, Any]] | None:
    """The cached VAE for (dataset, z, β), or None when there is none (a damaged file also counts as none)."""
    path = checkpoint_path(dataset, z_dim, beta)
    if not path.exists():
        return None
    try:
        return load_vae(path.read_bytes())
    except (UserError, OSError):
        return None


def prepare_defaults(epochs: int = 2, log: Callable[[str], None] = print) -> str:
    """Train and cache DEFAULT_CHECKPOINTS that are missing (`make prepare`); returns a summary line."""
    from core.data import load

    done = []
    for dataset, z_dim, beta in DEFAULT_CHECKPOINTS:
        cached = load_cached(dataset, z_dim, beta)
        if cached is not None and cached[1].get("images", 0) >= epochs * 60_000:  # not a quick classroom run
            done.append(f"{dataset} z={z_dim}: cached")
            continue
        data = load(dataset)
        model, history = train_vae(
            data,
            VAEConfig(z_dim=z_dim),
            replace(DEFAULT_TRAIN, epochs=epochs),
            beta=beta,
            on_epoch=lambda r, z=z_dim: log(
                f"  vae z={z} epoch {r['epoch']:.0f}: test loss {r['test_loss']:.1f}"
            ),
        )
        final = history.epochs[-1]
        save_cached(
            model,
            dataset,
            beta,
            {
                "epochs": epochs,
                "images": history.images,
                "test_loss": final["test_loss"],
                "test_recon": final["test_recon"],
                "test_kl": final["test_kl"],
            },
        )
        done.append(f"{dataset} z={z_dim}: test loss {final['test_loss']:.1f} nats ({history.elapsed:.0f} s)")
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
    """images (N, 28, 28) in [0, 1] -> one uint8 (H, W) mosaic, `cols` per row, `pad` black pixels between."""
    n = images.shape[0]
    rows = -(-n // cols)
    h, w = images.shape[-2:]
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.uint8)
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = (
            pixels[i]
        )
    return out.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else out


def frames_to_gif(frames: torch.Tensor, scale: int = 4, duration_ms: int = 120, bounce: bool = True) -> bytes:
    """frames (T, 28, 28) in [0, 1] -> an animated, looping GIF (there and back when `bounce`)."""
    from PIL import Image

    pixels = (frames.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    order = list(range(len(pixels))) + (list(range(len(pixels) - 2, 0, -1)) if bounce else [])
    images = [Image.fromarray(pixels[i]).resize((28 * scale, 28 * scale), Image.NEAREST) for i in order]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buf.getvalue()
