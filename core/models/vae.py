"""The project report's convolutional VAE (seed 003) for 1×28×28 digits, its loss, latent interpolation.

Kingma & Welling, "Auto-Encoding Variational Bayes" (2014): the encoder outputs the mean μ and the
log-variance log σ² of q(z|x); z = μ + σ·ε with ε ~ N(0, I) (the reparameterization trick keeps the
sampling step differentiable); the decoder turns z back into pixel probabilities. The loss is the
negative ELBO: reconstruction (Bernoulli log-likelihood, i.e. binary cross-entropy) + KL(q(z|x) ‖ N(0, I)).

Differences from the report's code: 1 input channel instead of 3 (MNIST), 28×28 instead of 32×32
(so the convs end at 7×7 instead of 8×8), and a ReLU between the two transposed convolutions (the
report's decoder stacked two linear maps there, which adds no expressive power).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError


@dataclass(frozen=True)
class VAEConfig:
    z_dim: int = 20  # size of the latent variable z (2 lets us draw the latent space as a plane)
    hidden: int = 128  # width of the fully connected layer between the convs and μ / log σ²
    channels: tuple[int, int] = (32, 64)  # output channels of the two stride-2 convolutions

    def options(self) -> dict:
        """The constructor's keyword arguments, JSON-friendly (for checkpoints)."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class VAE(nn.Module):
    """Conv encoder → (μ, log σ²) → reparameterize → transposed-conv decoder → sigmoid pixel probabilities."""

    name = "vae"  # what core/checkpoint.py writes in a checkpoint (core.models.build_model("vae", ...))

    def __init__(self, z_dim: int = 20, hidden: int = 128, channels: tuple[int, int] | list[int] = (32, 64)):
        super().__init__()
        if not 1 <= int(z_dim) <= 512:
            raise UserError(
                f"The latent size z must be between 1 and 512 (got {z_dim}).",
                f"潜变量维度 z 必须在 1 到 512 之间（当前为 {z_dim}）。",
            )
        c1, c2 = (int(c) for c in channels)
        self.config = VAEConfig(int(z_dim), int(hidden), (c1, c2))
        self.z_dim = int(z_dim)
        self.options = self.config.options()  # the constructor's arguments, for checkpoints
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=4, stride=2, padding=1),  # (B, c1, 14, 14)
            nn.ReLU(),
            nn.Conv2d(c1, c2, kernel_size=4, stride=2, padding=1),  # (B, c2, 7, 7)
            nn.ReLU(),
            nn.Flatten(),  # (B, c2·7·7)
            nn.Linear(c2 * 7 * 7, hidden),
            nn.ReLU(),
        )
        self.mu = nn.Linear(hidden, z_dim)
        self.logvar = nn.Linear(hidden, z_dim)
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, c2 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (c2, 7, 7)),  # (B, c2, 7, 7)
            nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1),  # (B, c1, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, kernel_size=4, stride=2, padding=1),  # (B, 1, 28, 28)
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) in [0, 1] -> μ (B, z), log σ² (B, z)."""
        h = self.encoder(x)  # (B, hidden)
        return self.mu(h), self.logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """μ, log σ² (B, z) -> z = μ + σ·ε (B, z), ε ~ N(0, I); gradients flow to μ and σ."""
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim) -> pixel probabilities (B, 1, 28, 28)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) -> reconstruction (B, 1, 28, 28), μ (B, z), log σ² (B, z)."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


class VAELoss(NamedTuple):
    total: torch.Tensor  # reconstruction + β·KL, mean over the batch (nats per image)
    reconstruction: torch.Tensor  # BCE summed over the 784 pixels, mean over the batch
    kl: torch.Tensor  # KL(q(z|x) ‖ N(0, I)) summed over z, mean over the batch


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """μ, log σ² (B, z) -> KL(N(μ, σ²) ‖ N(0, I)) per image (B,), closed form (Kingma & Welling, app. B)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def vae_loss(
    recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float = 1.0
) -> VAELoss:
    """recon, x (B, 1, 28, 28) in [0, 1]; μ, log σ² (B, z) -> total, reconstruction, KL per image."""
    if recon.shape != x.shape:
        raise UserError(
            f"Reconstruction shape {tuple(recon.shape)} differs from the input's {tuple(x.shape)}.",
            f"重构图像的形状 {tuple(recon.shape)} 与输入的形状 {tuple(x.shape)} 不同。",
        )
    batch = x.shape[0]
    # Bernoulli likelihood of each pixel: BCE summed over pixels = -log p(x|z) in nats.
    reconstruction = F.binary_cross_entropy(recon, x, reduction="sum") / batch
    kl = kl_divergence(mu, logvar).mean()
    return VAELoss(reconstruction + beta * kl, reconstruction, kl)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """z0, z1 (z,) -> (steps, z) from z0 to z1 (both included exactly), linear or spherical (slerp).

    Slerp follows the great circle between the two directions (Shoemake 1985; White 2016, "Sampling
    generative networks"): under a Gaussian prior, points on the straight line between two samples
    have a smaller norm than typical samples, while slerp keeps them at a typical radius.
    """
    if method not in ("linear", "slerp"):
        raise UserError(
            f"Unknown interpolation '{method}': use 'linear' or 'slerp'.",
            f"未知的插值方式“{method}”：请用 linear（线性）或 slerp（球面）。",
        )
    if int(steps) < 2:
        raise UserError(
            "Interpolation needs at least 2 steps (the two endpoints).", "插值至少需要 2 步（两个端点）。"
        )
    if z0.shape != z1.shape or z0.dim() != 1:
        raise UserError(
            f"Both latents must be vectors of the same size (got {tuple(z0.shape)} and {tuple(z1.shape)}).",
            f"两个潜变量必须是同样长度的向量（当前为 {tuple(z0.shape)} 和 {tuple(z1.shape)}）。",
        )
    t = torch.linspace(0.0, 1.0, int(steps), dtype=z0.dtype, device=z0.device).unsqueeze(1)  # (steps, 1)
    out = (1 - t) * z0 + t * z1  # (steps, z)
    if method == "slerp":
        cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
        omega = torch.arccos(cos.clamp(-1.0, 1.0))
        # Nearly parallel (or a zero vector): the great circle is the straight line.
        if z0.norm() > 1e-8 and z1.norm() > 1e-8 and math.sin(float(omega)) > 1e-6:
            out = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    out[0], out[-1] = z0, z1  # exact endpoints, not 1e-7 away from them
    return out
