"""Seed 001's ResNet-18, `BasicBlock.forward` completed as torchvision does it; stage tables by torchinfo.

The seed's code, completed (the two `...`):

    out = self.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    if self.downsample is not None:
        identity = self.downsample(x)
    out = out + identity          # the skip connection
    out = self.relu(out)

Two deliberate differences from the seed's listing, both to match `torchvision.models.resnet18`
exactly (so every count on the page equals PyTorch's): the stem convolution has `bias=False` (the
seed's `nn.Conv2d(3, 64, 7, stride=2, padding=3)` has a bias: 64 more parameters), and
`stem_stride` lets the stem be the stride-1 variant that seed 004's 64×64 numbers come from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from core.blocks.threads import single_threaded
from core.errors import UserError

INPUT_SIZES = (224, 64, 32, 28)  # the sizes a student picks (ImageNet, Tiny-ImageNet, CIFAR, MNIST)
CLASSES = (1000, 10)
TORCHVISION_PARAMS_1000 = 11_689_512  # torchvision.models.resnet18() (tests recompute it)

# Seed 004 (lab report, torchsummary at 3×64×64): the sizes it lists, in its own order.
SEED_004 = (
    ("input", (3, 64, 64)),
    ("conv1", (64, 64, 64)),
    ("maxpool", (64, 32, 32)),
    ("layer1", (64, 32, 32)),
    ("layer2", (128, 16, 16)),
    ("layer3", (256, 8, 8)),
    ("layer4", (512, 4, 4)),
    ("avgpool", (512, 1, 1)),
)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN, plus the input added back: (B, Cin, H, W) -> (B, Cout, H/s, W/s)."""

    expansion = 1

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, downsample: nn.Module | None = None
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample  # 1×1 conv + BN when the shape changes
        self.skip = True  # the page's "skip connection off" switch (False: a plain two-conv block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))  # (B, Cout, H/s, W/s)
        out = self.bn2(self.conv2(out))  # (B, Cout, H/s, W/s)  F(x)
        if self.downsample is not None:
            identity = self.downsample(x)  # (B, Cout, H/s, W/s)
        if self.skip:
            out = out + identity  # F(x) + x: the gradient has a path that skips both convolutions
        out = self.relu(out)
        return out


def make_downsample(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """The seed's 1×1 projection (conv stride s + BN), or None when the shapes already match."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResNet(nn.Module):
    """Seed 001's ResNet: stem, four stages of BasicBlocks, pool, fc. (B, 3, H, W) -> (B, classes)."""

    def __init__(self, layers: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 1000, stem_stride: int = 2):
        super().__init__()
        self.in_channels = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=stem_stride, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * BasicBlock.expansion, num_classes)

    def _make_layer(self, out_channels: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = make_downsample(self.in_channels, out_channels, stride)
        layers = [BasicBlock(self.in_channels, out_channels, stride, downsample)]  # the first block strides
        self.in_channels = out_channels
        layers += [BasicBlock(out_channels, out_channels) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4) with the stride-2 stem
        x = self.layer1(x)  # (B, 64, ., .)
        x = self.layer2(x)  # (B, 128, ., .)  halved
        x = self.layer3(x)  # (B, 256, ., .)  halved
        x = self.layer4(x)  # (B, 512, ., .)  halved
        x = torch.flatten(self.avgpool(x), 1)  # (B, 512)
        return self.fc(x)  # (B, classes)


def resnet18(num_classes: int = 1000, stem_stride: int = 2) -> ResNet:
    """ResNet-18: stages of (2, 2, 2, 2) BasicBlocks; stem_stride=2 is torchvision's."""
    return ResNet((2, 2, 2, 2), num_classes, stem_stride)


@dataclass(frozen=True)
class StageRow:
    name: str  # conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc
    kind: str  # the module's class name
    shape: tuple[int, ...]  # output shape without the batch dimension
    params: int


@dataclass(frozen=True)
class StageTable:
    rows: tuple[StageRow, ...]
    total_params: int
    input_size: int
    num_classes: int
    stem_stride: int


@single_threaded
def stage_table(input_size: int = 224, num_classes: int = 1000, stem_stride: int = 2) -> StageTable:
    """torchinfo's summary of ResNet-18, one row per top-level module, for a (1, 3, S, S) input."""
    import torchinfo  # a well-kept library does the shape walk (imported here: keep import time low)

    if input_size < 1 or input_size > 1024:
        raise UserError(
            f"Pick an input size between 1 and 1024 pixels, not {input_size}.",
            f"输入尺寸请在 1 到 1024 像素之间（你给的是 {input_size}）。",
        )
    model = resnet18(num_classes, stem_stride).eval()
    try:
        summary = torchinfo.summary(
            model, input_size=(1, 3, input_size, input_size), depth=1, verbose=0, device="cpu"
        )
    except RuntimeError as err:  # torchinfo wraps the shape error of a too-small input
        raise UserError(
            f"A {input_size}×{input_size} image is too small for ResNet-18's five halvings.",
            f"{input_size}×{input_size} 的图像太小，经不起 ResNet-18 的五次减半。",
        ) from err
    rows = tuple(
        StageRow(layer.var_name, layer.class_name, tuple(layer.output_size[1:]), int(layer.num_params))
        for layer in summary.summary_list
        if layer.depth == 1
    )
    return StageTable(rows, int(summary.total_params), input_size, num_classes, stem_stride)


def seed_004_comparison(tables: dict[int, StageTable] | None = None) -> list[dict[str, object]]:
    """Seed 004's sizes beside ResNet-18 at 3×64×64 with torchvision's stride-2 stem and a stride-1 stem.

    `tables` maps stem stride -> stage_table(64, ., stride) when the caller has them already (a cache).
    """
    tables = tables or {s: stage_table(64, 1000, s) for s in (2, 1)}
    shapes = {s: {r.name: r.shape for r in tables[s].rows} for s in (2, 1)}
    rows = []
    for name, reported in SEED_004:
        by_stride = {s: (3, 64, 64) if name == "input" else shapes[s][name] for s in (2, 1)}
        rows.append({"layer": name, "report": reported, "stride2": by_stride[2], "stride1": by_stride[1]})
    return rows


@dataclass(frozen=True)
class FlowStep:
    path: str  # "main" | "shortcut" | "merge"
    name: str  # conv1, bn1, relu, conv2, bn2, downsample.0 (1×1 conv), downsample.1 (BN), add, relu
    shape: tuple[int, ...]  # (C, H, W) after this step
    params: int


@dataclass(frozen=True)
class BlockFlow:
    steps: tuple[FlowStep, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    input_grad_norm: float  # ‖∂ sum(out) / ∂x‖ for one random input at initialization


@single_threaded
def block_flow(
    in_channels: int = 64,
    out_channels: int = 64,
    stride: int = 1,
    size: int = 32,
    skip: bool = True,
    seed: int = 0,
) -> BlockFlow:
    """Run one BasicBlock on a seeded (1, Cin, size, size) input and record each step's shape."""
    if size < 2:
        raise UserError("The input must be at least 2×2 pixels.", "输入至少要 2×2 像素。")
    torch.manual_seed(seed)
    block = BasicBlock(
        in_channels,
        out_channels,
        stride,
        make_downsample(in_channels, out_channels, stride) if skip else None,
    )
    block.skip = skip
    block.eval()  # BN with its initial running stats (mean 0, var 1): a batch of one is fine
    x = torch.randn(1, in_channels, size, size, requires_grad=True)
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, n=n: shapes.__setitem__(n, tuple(out.shape[1:])))
        for n, m in block.named_modules()
        if n and n != "downsample" and n != "relu"
    ]
    with torch.enable_grad():  # the input gradient is part of the answer, even under a caller's no_grad
        out = block(x)
        for h in hooks:
            h.remove()
        out.sum().backward()
    params = {n: sum(p.numel() for p in m.parameters(recurse=False)) for n, m in block.named_modules()}
    out_shape = tuple(out.shape[1:])
    steps = [FlowStep("main", n, shapes[n], params[n]) for n in ("conv1", "bn1")]
    steps.append(FlowStep("main", "relu", shapes["bn1"], 0))
    steps += [FlowStep("main", n, shapes[n], params[n]) for n in ("conv2", "bn2")]
    if skip:
        if block.downsample is not None:
            steps += [
                FlowStep("shortcut", f"downsample.{i}", shapes[f"downsample.{i}"], params[f"downsample.{i}"])
                for i in (0, 1)
            ]
        else:
            steps.append(FlowStep("shortcut", "identity", (in_channels, size, size), 0))
        steps.append(FlowStep("merge", "add", out_shape, 0))
    steps.append(FlowStep("merge", "relu", out_shape, 0))
    return BlockFlow(
        tuple(steps),
        (in_channels, size, size),
        out_shape,
        sum(p.numel() for p in block.parameters()),
        float(x.grad.norm()),
    )
