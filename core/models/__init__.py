"""The course's MNIST models, one class each, written so that a forward hook sees every step.

Every model takes a normalized batch (B, 1, 28, 28) and returns logits (B, 10). `forward` is one
layer a line and every step (ReLU, pooling, flatten) is a named submodule, never an `F.*` call, so
the feature-map viewer can hook any of them by the name `named_modules()` gives.

    model = build_model("two_layer_cnn", dropout=0.3)
    rows = summarize(model, (1, 28, 28))       # like torchsummary: layer, type, output shape, params
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from core.errors import UserError


def _norm2d(channels: int, batch_norm: bool) -> nn.Module:
    """BatchNorm2d when asked for, else a no-op placeholder (keeps the layer names stable)."""
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class MLP(nn.Module):
    """Slides 002's fully connected net on MNIST: 784 → 256 → 10."""

    def __init__(self, hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.relu1 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)  # (B, 784)
        x = self.fc1(x)  # (B, 256)
        x = self.relu1(x)
        x = self.dropout(x)
        return self.fc2(x)  # (B, 10)


class TwoLayerCNN(nn.Module):
    """Homework 000's 2-layer CNN. Shape walk: 28 → conv 26 → pool 13 → conv 11 → pool 5; 64·5·5 = 1600."""

    def __init__(self, dropout: float = 0.3, batch_norm: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)  # no padding: 28 → 26
        self.bn1 = _norm2d(32, batch_norm)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 26 → 13
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)  # 13 → 11
        self.bn2 = _norm2d(64, batch_norm)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 11 → 5 (floor)
        self.flatten = nn.Flatten()
        self.dropout1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.relu3 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 32, 26, 26)
        x = self.bn1(x)
        x = self.relu1(x)
        x = self.pool1(x)  # (B, 32, 13, 13)
        x = self.conv2(x)  # (B, 64, 11, 11)
        x = self.bn2(x)
        x = self.relu2(x)
        x = self.pool2(x)  # (B, 64, 5, 5)
        x = self.flatten(x)  # (B, 1600)
        x = self.dropout1(x)
        x = self.fc1(x)  # (B, 128)
        x = self.relu3(x)
        x = self.dropout2(x)
        return self.fc2(x)  # (B, 10)


class ConvNet3(nn.Module):
    """Lab 001's ConvNet: 3 × [conv 3×3 pad 1, ReLU, max-pool 2], 32/64/128 channels, fc 1152 → 256 → 10."""

    def __init__(self, dropout: float = 0.5, batch_norm: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.bn1 = _norm2d(32, batch_norm)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 28 → 14
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.bn2 = _norm2d(64, batch_norm)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 14 → 7
        self.conv3 = nn.Conv2d(64, 128, kernel_size=3, padding=1)
        self.bn3 = _norm2d(128, batch_norm)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)  # 7 → 3 (floor)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(128 * 3 * 3, 256)
        self.relu4 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 32, 28, 28)
        x = self.bn1(x)
        x = self.relu1(x)
        x = self.pool1(x)  # (B, 32, 14, 14)
        x = self.conv2(x)  # (B, 64, 14, 14)
        x = self.bn2(x)
        x = self.relu2(x)
        x = self.pool2(x)  # (B, 64, 7, 7)
        x = self.conv3(x)  # (B, 128, 7, 7)
        x = self.bn3(x)
        x = self.relu3(x)
        x = self.pool3(x)  # (B, 128, 3, 3)
        x = self.flatten(x)  # (B, 1152)
        x = self.fc1(x)  # (B, 256)
        x = self.relu4(x)
        x = self.dropout(x)
        return self.fc2(x)  # (B, 10)


class BNCNN(nn.Module):
    """Project report 003's MyNet (3 conv + BatchNorm, 2 pools, fc 512), on 28×28 inputs instead of 32×32."""

    def __init__(self, batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.bn1 = _norm2d(16, batch_norm)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 28 → 14
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn2 = _norm2d(32, batch_norm)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 14 → 7
        self.conv3 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.bn3 = _norm2d(64, batch_norm)
        self.relu3 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64 * 7 * 7, 512)  # the report's 64·8·8 at 32×32 becomes 64·7·7 at 28×28
        self.bn4 = nn.BatchNorm1d(512) if batch_norm else nn.Identity()
        self.relu4 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 16, 28, 28)
        x = self.bn1(x)
        x = self.relu1(x)
        x = self.pool1(x)  # (B, 16, 14, 14)
        x = self.conv2(x)  # (B, 32, 14, 14)
        x = self.bn2(x)
        x = self.relu2(x)
        x = self.pool2(x)  # (B, 32, 7, 7)
        x = self.conv3(x)  # (B, 64, 7, 7)
        x = self.bn3(x)
        x = self.relu3(x)
        x = self.flatten(x)  # (B, 3136)
        x = self.fc1(x)  # (B, 512)
        x = self.bn4(x)
        x = self.relu4(x)
        x = self.dropout(x)
        return self.fc2(x)  # (B, 10)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) on 28×28: conv 6@5×5 pad 2, pool, conv 16@5×5, pool, fc 120, 84, 10."""

    def __init__(self, batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)  # pad 2 turns 28×28 into LeNet's 32×32
        self.bn1 = _norm2d(6, batch_norm)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 28 → 14
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)  # 14 → 10
        self.bn2 = _norm2d(16, batch_norm)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 10 → 5
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 6, 28, 28)
        x = self.bn1(x)
        x = self.relu1(x)
        x = self.pool1(x)  # (B, 6, 14, 14)
        x = self.conv2(x)  # (B, 16, 10, 10)
        x = self.bn2(x)
        x = self.relu2(x)
        x = self.pool2(x)  # (B, 16, 5, 5)
        x = self.flatten(x)  # (B, 400)
        x = self.fc1(x)  # (B, 120)
        x = self.relu3(x)
        x = self.fc2(x)  # (B, 84)
        x = self.relu4(x)
        x = self.dropout(x)
        return self.fc3(x)  # (B, 10)


class SlidesCNN(nn.Module):
    """Slides 002, example 7: conv 16@5×5 pad 2, ReLU, pool, conv 32@5×5 pad 2, ReLU, pool, out 1568 → 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 16, 28, 28)
        x = self.relu1(x)
        x = self.pool1(x)  # (B, 16, 14, 14)
        x = self.conv2(x)  # (B, 32, 14, 14)
        x = self.relu2(x)
        x = self.pool2(x)  # (B, 32, 7, 7)
        x = self.flatten(x)  # (B, 1568)
        return self.out(x)  # (B, 10)


class BasicBlock(nn.Module):
    """Lab 001's ResNet BasicBlock: conv-BN-ReLU-conv-BN, plus the (projected) input, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, batch_norm: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=not batch_norm)
        self.bn1 = _norm2d(out_channels, batch_norm)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=not batch_norm)
        self.bn2 = _norm2d(out_channels, batch_norm)
        self.downsample: nn.Module = nn.Identity()  # maps the input when the size or channels change
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=not batch_norm),
                _norm2d(out_channels, batch_norm),
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (B, C_out, H/stride, W/stride)
        out = self.bn1(out)
        out = self.relu1(out)
        out = self.conv2(out)
        out = self.bn2(out)
        identity = self.downsample(x)  # the input, projected when the size or channels change
        out = out + identity  # the residual connection
        return self.relu2(out)


class ResNetSmall(nn.Module):
    """A small ResNet from the lab's BasicBlock: stem 16, stages 16/32/64 (28 → 28 → 14 → 7), global pool."""

    def __init__(self, batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1, bias=not batch_norm)
        self.bn1 = _norm2d(16, batch_norm)
        self.relu = nn.ReLU()
        self.layer1 = BasicBlock(16, 16, stride=1, batch_norm=batch_norm)
        self.layer2 = BasicBlock(16, 32, stride=2, batch_norm=batch_norm)
        self.layer3 = BasicBlock(32, 64, stride=2, batch_norm=batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, 16, 28, 28)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.layer1(x)  # (B, 16, 28, 28)
        x = self.layer2(x)  # (B, 32, 14, 14)
        x = self.layer3(x)  # (B, 64, 7, 7)
        x = self.avgpool(x)  # (B, 64, 1, 1)
        x = self.flatten(x)  # (B, 64)
        x = self.dropout(x)
        return self.fc(x)  # (B, 10)


_ZOO: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "two_layer_cnn": TwoLayerCNN,
    "convnet3": ConvNet3,
    "bn_cnn": BNCNN,
    "lenet5": LeNet5,
    "slides_cnn": SlidesCNN,
    "resnet_small": ResNetSmall,
}
MODEL_NAMES: tuple[str, ...] = tuple(_ZOO)
# Every name build_model and core/checkpoint.py know: the classifiers above, and the VAE page's
# model (core/models/vae.py), which is not a classifier and so is not offered where MODEL_NAMES is.
ALL_MODELS: tuple[str, ...] = (*MODEL_NAMES, "vae")


def model_options(name: str) -> dict[str, Any]:
    """The options `build_model(name, ...)` accepts, with their defaults (e.g. {"dropout": 0.3, ...})."""
    cls = _model_class(name)
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k != "self"}


def _model_class(name: str) -> type[nn.Module]:
    if name == "vae":
        from core.models.vae import VAE  # imported here: core.models.vae imports nothing from this file

        return VAE
    if name not in _ZOO:
        raise UserError(
            f"Unknown model '{name}'; choose one of: {', '.join(MODEL_NAMES)}.",
            f"未知的模型“{name}”；可选：{'、'.join(MODEL_NAMES)}。",
        )
    return _ZOO[name]


def build_model(name: str, **options: Any) -> nn.Module:
    """A fresh model `name` (input (B, 1, 28, 28), logits (B, 10)); options e.g. dropout, batch_norm."""
    cls = _model_class(name)
    allowed = model_options(name)
    for key, value in options.items():
        if key not in allowed:
            raise UserError(
                f"The model '{name}' has no option '{key}'; its options are: {', '.join(allowed) or 'none'}.",
                f"模型“{name}”没有选项“{key}”；它的选项有：{'、'.join(allowed) or '无'}。",
            )
        if key == "dropout" and not (isinstance(value, (int, float)) and 0.0 <= float(value) < 1.0):
            raise UserError(
                f"Dropout p must be in [0, 1); got {value}.",
                f"Dropout 的概率 p 必须在 [0, 1) 之间，现在是 {value}。",
            )
    model = cls(**options)
    model.name = name  # type: ignore[assignment]  # lets checkpoints and pages say what they hold
    model.options = {**allowed, **options}  # type: ignore[assignment]
    return model


def build_seeded(name: str, seed: int, **options: Any) -> nn.Module:
    """`build_model` with initial weights drawn from `seed` only: the same seed gives the same weights."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return build_model(name, **options)
    finally:
        torch.random.set_rng_state(state)  # leave the caller's random stream untouched


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summarize(model: nn.Module, input_shape: tuple[int, ...] = (1, 28, 28)) -> list[dict[str, Any]]:
    """torchsummary-like rows per leaf layer, in call order: layer, type, output_shape (no batch), params.

    Built on torchinfo (its forward hooks and parameter counts); `layer` is the `named_modules()` name
    that the feature-map viewer hooks (e.g. "layer2.downsample.0").
    """
    import torchinfo  # imported here: only the layer table needs it

    names = {id(m): n for n, m in model.named_modules()}
    device = next(model.parameters()).device
    # eval: BatchNorm1d cannot run a batch of one in training mode; torchinfo restores the mode
    info = torchinfo.summary(
        model, input_size=(2, *input_shape), device=device, mode="eval", verbose=0, depth=99
    )
    return [
        {
            "layer": names[id(layer.module)],
            "type": layer.class_name,
            "output_shape": tuple(layer.output_size[1:]),
            "params": layer.num_params,
        }
        for layer in info.summary_list
        if layer.depth > 0 and not layer.children and not isinstance(layer.module, nn.Identity)
    ]
