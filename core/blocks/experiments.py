"""The two live experiments, run as background jobs (core.jobs.BackgroundJob): each under a minute on a CPU.

1. Why residual connections matter: a deep plain MLP against the same depth with skips, on real MNIST
   (14×14). At initialization the plain net's gradients vanish layer by layer toward the input; the
   residual net's do not. Its loss falls; the plain net's stays at ln 10 ≈ 2.30 (chance).
2. Seed 001's BN-vs-LN question for images: the same small CNN on MNIST with BatchNorm, LayerNorm, none.

Both train their models side by side, step by step, so the curves grow together and Stop keeps all.
The work functions follow `core.jobs.Work`: `fn(report, should_stop)` after binding data and config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.blocks.threads import one_thread
from core.data import Dataset, normalize
from core.errors import UserError

Report = Callable[[dict], None]
StopFlag = Callable[[], bool]
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 digits
DEPTHS = (10, 20, 30, 40)
NORMS = ("bn", "ln", "none")


def mnist_subset(ds: Dataset, n: int, pool: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n seeded training images with MNIST's mean and std: (n, 1, 28/pool, 28/pool) float and (n,) labels."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds.train_x), generator=g)[:n]
    x = normalize(ds.train_x[idx])  # (n, 1, 28, 28)
    if pool > 1:
        x = F.avg_pool2d(x, pool)  # (n, 1, 28/pool, 28/pool)
    return x, ds.train_y[idx]


# --- 1. plain vs residual ---------------------------------------------------------------------------


class DeepMLP(nn.Module):
    """stem -> `depth` hidden Linear layers (plain: h = W·relu(h); residual: h = h + W·relu(h)) -> head."""

    def __init__(self, depth: int, width: int, residual: bool, inputs: int = 196, classes: int = 10):
        super().__init__()
        self.residual = residual
        self.stem = nn.Linear(inputs, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))  # (B, width)
        for layer in self.hidden:
            h = h + layer(F.relu(h)) if self.residual else layer(F.relu(h))  # (B, width)
        return self.head(F.relu(h))  # (B, classes)


@dataclass
class ResidualConfig:
    depth: int = 30  # hidden layers in both nets
    width: int = 64
    steps: int = 300
    batch_size: int = 64
    lr: float = 0.05  # SGD with momentum 0.9, the same for both nets
    train_subset: int = 4096
    log_every: int = 10
    seed: int = 0


@dataclass
class ResidualResult:
    config: ResidualConfig
    grad_norms: dict[str, list[float]]  # "plain"/"residual" -> ‖∂loss/∂W_i‖ for hidden layer i = 1..depth
    curves: list[dict] = field(default_factory=list)  # {"step", "plain", "residual"} mean loss per window


def layer_grad_norms(model: DeepMLP, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """‖∂loss/∂W_i‖ of every hidden layer for one batch, at the model's current weights."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    norms = [float(layer.weight.grad.norm()) for layer in model.hidden]
    model.zero_grad()
    return norms


def residual_experiment(
    ds: Dataset, config: ResidualConfig, report: Report, should_stop: StopFlag
) -> ResidualResult:
    """Gradient norms at initialization, then both nets trained side by side on the same batches."""
    if config.depth < 1 or config.steps < 1:
        raise UserError("Depth and steps must be at least 1.", "深度和步数至少为 1。")
    x, y = mnist_subset(ds, config.train_subset, pool=2, seed=config.seed)  # (n, 1, 14, 14)
    models = {}
    for name in ("plain", "residual"):
        torch.manual_seed(config.seed)  # the same initial weights for both: only the skips differ
        models[name] = DeepMLP(config.depth, config.width, residual=name == "residual")
    probe = slice(0, 256)
    opts = {n: torch.optim.SGD(m.parameters(), lr=config.lr, momentum=0.9) for n, m in models.items()}
    with one_thread():
        result = ResidualResult(
            config, {n: layer_grad_norms(m, x[probe], y[probe]) for n, m in models.items()}
        )
        _train_side_by_side(models, opts, x, y, config, result.curves, report, should_stop)
    return result


def _train_side_by_side(
    models: dict[str, nn.Module],
    opts: dict[str, torch.optim.Optimizer],
    x: torch.Tensor,
    y: torch.Tensor,
    config: ResidualConfig | NormConfig,
    curves: list[dict],
    report: Report,
    should_stop: StopFlag,
) -> None:
    """SGD steps on the same seeded batches for every model; the mean loss per `log_every` steps reported."""
    g = torch.Generator().manual_seed(config.seed + 1)
    window: dict[str, list[float]] = {n: [] for n in models}
    for step in range(1, config.steps + 1):
        if should_stop():
            break
        batch = torch.randint(0, len(x), (config.batch_size,), generator=g)
        for name, model in models.items():
            loss = F.cross_entropy(model(x[batch]), y[batch])
            opts[name].zero_grad()
            loss.backward()
            opts[name].step()
            window[name].append(loss.item())
        if step % config.log_every == 0 or step == config.steps:
            row = {"step": step, **{n: sum(v) / len(v) for n, v in window.items()}}
            window = {n: [] for n in models}
            curves.append(row)
            report({"progress": step / config.steps, **row})


# --- 2. BN / LN / none on a small CNN ------------------------------------------------------------------


def norm_layer(kind: str, channels: int) -> nn.Module:
    """bn: BatchNorm2d; ln: GroupNorm(1, C), i.e. LayerNorm over (C, H, W) with per-channel γ, β; none."""
    if kind == "bn":
        return nn.BatchNorm2d(channels)
    if kind == "ln":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(kind)


class SmallCNN(nn.Module):
    """Two conv blocks (conv 3×3 -> norm -> ReLU -> pool) and a linear layer: (B, 1, 28, 28) -> (B, 10)."""

    def __init__(self, norm: str, channels: tuple[int, int] = (8, 16)):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), norm_layer(norm, c1), nn.ReLU(), nn.MaxPool2d(2),  # 14×14
            nn.Conv2d(c1, c2, 3, padding=1), norm_layer(norm, c2), nn.ReLU(), nn.MaxPool2d(2),  # 7×7
        )  # fmt: skip
        self.fc = nn.Linear(c2 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))  # (B, 10)


@dataclass
class NormConfig:
    steps: int = 150
    batch_size: int = 32
    lr: float = 0.02  # plain SGD: where normalization's help shows most
    train_subset: int = 4096
    test_subset: int = 1000
    log_every: int = 10
    seed: int = 0


@dataclass
class NormResult:
    config: NormConfig
    curves: list[dict] = field(default_factory=list)  # {"step", "bn", "ln", "none"} mean loss per window
    test_accuracy: dict[str, float] = field(default_factory=dict)


def norm_experiment(ds: Dataset, config: NormConfig, report: Report, should_stop: StopFlag) -> NormResult:
    """The same small CNN with BN, LN and no normalization, trained side by side on the same batches."""
    x, y = mnist_subset(ds, config.train_subset, seed=config.seed)
    models, opts = {}, {}
    for kind in NORMS:
        torch.manual_seed(config.seed)  # same conv and fc initial weights in all three
        models[kind] = SmallCNN(kind)
        opts[kind] = torch.optim.SGD(models[kind].parameters(), lr=config.lr)
    result = NormResult(config)
    with one_thread():
        _train_side_by_side(models, opts, x, y, config, result.curves, report, should_stop)
    tx = normalize(ds.test_x[: config.test_subset])  # (n, 1, 28, 28)
    with torch.no_grad(), one_thread():
        for kind, model in models.items():
            pred = model.eval()(tx).argmax(1)  # BN uses its running statistics here
            result.test_accuracy[kind] = float((pred == ds.test_y[: config.test_subset]).float().mean())
    return result
