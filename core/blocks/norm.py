"""Normalization (seed 001's BN-vs-LN question; seed 002's batch-norm and dropout slides) against torch.nn.

BatchNorm2d, LayerNorm, InstanceNorm2d and GroupNorm all compute y = (x − mean) / √(var + ε) · γ + β;
they differ only in WHICH elements of an (N, C, H, W) batch share one mean and variance
(Wu & He 2018, "Group Normalization", figure 2):

    BatchNorm2d     per channel c, over (N, H, W)     - needs a batch; running stats for eval
    LayerNorm       per sample n, over (C, H, W)      - one sample is enough
    InstanceNorm2d  per (n, c), over (H, W)
    GroupNorm(G)    per (n, group of C/G channels), over (C/G, H, W)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from core.blocks.threads import single_threaded
from core.errors import UserError

KINDS = ("batch", "layer", "instance", "group")
EPS = 1e-5  # torch.nn's default ε for all four
MAX_SENTENCES = 12  # one heatmap row each


def check_groups(channels: int, groups: int) -> None:
    if groups < 1 or channels % groups:
        raise UserError(
            f"GroupNorm needs the number of groups to divide the channels: {groups} does not divide "
            f"{channels}.",
            f"GroupNorm 要求组数能整除通道数：{groups} 不能整除 {channels}。",
        )


def shares_statistics(
    kind: str, shape: tuple[int, int, int, int], element: tuple[int, int, int, int], groups: int = 2
) -> torch.Tensor:
    """(N, C, H, W) bool: True where an element is normalized with the same mean and variance as `element`."""
    N, C, H, W = shape
    n, c, _, _ = element
    same_n = torch.arange(N).view(N, 1, 1, 1) == n  # (N, 1, 1, 1)
    same_c = torch.arange(C).view(1, C, 1, 1) == c  # (1, C, 1, 1)
    everywhere = torch.ones(N, C, H, W, dtype=torch.bool)
    if kind == "batch":
        return everywhere & same_c  # one channel, all samples and positions
    if kind == "layer":
        return everywhere & same_n  # one sample, all channels and positions
    if kind == "instance":
        return everywhere & same_n & same_c  # one sample, one channel
    if kind == "group":
        check_groups(C, groups)
        size = C // groups
        same_g = (torch.arange(C) // size).view(1, C, 1, 1) == c // size
        return everywhere & same_n & same_g  # one sample, one group of channels
    raise ValueError(kind)


def torch_module(kind: str, shape: tuple[int, int, int, int], groups: int = 2) -> nn.Module:
    """The torch.nn module for `kind` at its defaults (γ = 1, β = 0), in training mode."""
    _, C, H, W = shape
    if kind == "batch":
        return nn.BatchNorm2d(C)
    if kind == "layer":
        return nn.LayerNorm([C, H, W])
    if kind == "instance":
        return nn.InstanceNorm2d(C)
    check_groups(C, groups)
    return nn.GroupNorm(groups, C)


def example_batch(shape: tuple[int, int, int, int], seed: int = 0) -> torch.Tensor:
    """A seeded (N, C, H, W) batch whose channels have different means and spreads (as real features do)."""
    N, C, H, W = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, C, H, W, generator=g)
    scale = torch.linspace(0.5, 2.0, C).view(1, C, 1, 1)
    shift = torch.arange(C, dtype=torch.float32).view(1, C, 1, 1)
    return (x * scale + shift).round(decimals=1)  # one decimal: numbers a student can read


@dataclass
class ElementResult:
    kind: str
    x: torch.Tensor  # (N, C, H, W) the batch
    mask: torch.Tensor  # (N, C, H, W) bool, shares statistics with the element
    value: float  # x at the element
    count: int  # how many elements share the statistics
    mean: float
    var: float  # biased, as every normalization layer uses
    by_hand: float  # (value − mean) / √(var + ε)
    by_torch: float  # the torch.nn module's output at the element


@single_threaded
def normalize_element(
    kind: str,
    shape: tuple[int, int, int, int] = (4, 6, 2, 2),
    element: tuple[int, int, int, int] = (0, 0, 0, 0),
    groups: int = 2,
    seed: int = 0,
) -> ElementResult:
    """The page's one call: the element's group, its mean and variance by hand, torch.nn's output there."""
    N, C, H, W = shape
    if kind == "batch" and N * H * W == 1:
        raise UserError(
            "BatchNorm in training mode with one sample of 1×1 has one value per channel: its variance is "
            "0 and the output would be 0 for every input. PyTorch refuses it; take a larger batch.",
            "训练模式下的 BatchNorm 若批里只有一个 1×1 样本，每个通道只有一个值：方差为 0，输出恒为 0。"
            "PyTorch 会拒绝；请用更大的批。",
        )
    if not all(0 <= i < s for i, s in zip(element, shape, strict=True)):
        raise UserError("The chosen element is outside the batch.", "所选元素不在这一批数据里。")
    x = example_batch(shape, seed)
    mask = shares_statistics(kind, shape, element, groups)
    group = x[mask]
    mean, var = group.mean(), group.var(unbiased=False)
    value = x[element]
    with torch.no_grad():
        y = torch_module(kind, shape, groups).train()(x)
    by_hand = (value - mean) / torch.sqrt(var + EPS)
    return ElementResult(
        kind,
        x,
        mask,
        float(value),
        int(mask.sum()),
        float(mean),
        float(var),
        float(by_hand),
        float(y[element]),
    )


@dataclass
class RunningStats:
    momentum: float
    batch_means: list[float]  # each batch's mean (channel 0)
    batch_vars: list[float]  # each batch's unbiased variance (what the running estimate uses)
    running_means: list[float]  # after each step
    running_vars: list[float]
    train_out: torch.Tensor  # (N,) channel 0 of the last batch normalized with its own statistics
    eval_out: torch.Tensor  # (N,) the same batch normalized with the running statistics


@single_threaded
@torch.no_grad()
def running_stats(
    momentum: float = 0.1,
    steps: int = 20,
    batch: int = 8,
    true_mean: float = 3.0,
    true_std: float = 2.0,
    seed: int = 0,
) -> RunningStats:
    """Feed `steps` batches (N, 1) of N(true_mean, true_std²) into BatchNorm1d; follow its running stats.

    running ← (1 − momentum) · running + momentum · batch statistic   (variance: unbiased, N − 1)
    """
    if batch < 2:
        raise UserError(
            "A batch of one in training mode has no spread to measure: BatchNorm's variance of a single "
            "value is 0 (PyTorch raises 'Expected more than 1 value per channel when training'). Use at "
            "least 2 samples, or eval mode, which uses the running statistics instead.",
            "训练模式下只有一个样本的批没有可测的离散程度：单个值的方差为 0（PyTorch 会报错 "
            "“Expected more than 1 value per channel when training”）。请至少用 2 个样本，或改用 eval 模式"
            "（它用的是滑动平均统计量）。",
        )
    if not 0.0 <= momentum <= 1.0:
        raise UserError("Momentum is a fraction between 0 and 1.", "动量是 0 到 1 之间的比例。")
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm1d(1, momentum=momentum).train()
    result = RunningStats(momentum, [], [], [], [], torch.empty(0), torch.empty(0))
    x = torch.empty(0)
    for _ in range(steps):
        x = torch.randn(batch, 1, generator=g) * true_std + true_mean  # (N, 1)
        result.batch_means.append(float(x.mean()))
        result.batch_vars.append(float(x.var(unbiased=True)))
        train_out = bn(x)  # normalized with this batch's mean and biased variance; updates the running stats
        result.running_means.append(float(bn.running_mean[0]))
        result.running_vars.append(float(bn.running_var[0]))
    result.train_out = train_out[:, 0]
    result.eval_out = bn.eval()(x)[:, 0]  # (x − running_mean) / √(running_var + ε)
    return result


def sentence_batch(
    lengths: tuple[int, ...], dim: int = 8, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded token features of sentences of `lengths`, zero-padded: x (B, T, D), mask (B, T) True = real."""
    if not lengths or min(lengths) < 1:
        raise UserError("Every sentence needs at least one token.", "每个句子至少要有一个词元。")
    if len(lengths) > MAX_SENTENCES:
        raise UserError(
            f"{len(lengths)} sentences are more than this example draws; use at most {MAX_SENTENCES}.",
            f"{len(lengths)} 个句子超出了本例能画的数量；最多用 {MAX_SENTENCES} 个。",
        )
    g = torch.Generator().manual_seed(seed)
    B, T = len(lengths), max(lengths)
    x = torch.zeros(B, T, dim)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, dim, generator=g) * 1.5 + 2.0  # real tokens: mean 2, std 1.5
        mask[i, :n] = True
    return x, mask


@dataclass
class PaddingResult:
    lengths: tuple[int, ...]
    bn_mean_padded: torch.Tensor  # (D,) BatchNorm's per-feature mean over all B×T positions, pads included
    bn_mean_real: torch.Tensor  # (D,) the same over real tokens only
    bn_var_padded: torch.Tensor
    bn_var_real: torch.Tensor
    bn_shift: (
        float  # max |BN(sentence 0 in the padded batch) − BN(sentence 0 normalized over real tokens only)|
    )
    ln_shift: float  # max |LN(sentence 0 in the padded batch) − LN(sentence 0 alone)| (0 up to rounding)
    bn_token: torch.Tensor  # (D,) sentence 0, token 0 after BN in the padded batch
    bn_token_real: torch.Tensor  # after BN with the real-token statistics
    ln_token: torch.Tensor  # (D,) after LN (the same in both)


@single_threaded
@torch.no_grad()
def padding_effect(lengths: tuple[int, ...] = (2, 5, 9), dim: int = 8, seed: int = 0) -> PaddingResult:
    """BatchNorm1d over a padded (B, T, D) batch mixes the padding's zeros into its statistics; LN not."""
    x, mask = sentence_batch(lengths, dim, seed)  # (B, T, D), (B, T)
    bn = nn.BatchNorm1d(dim).train()
    y_bn = bn(x.transpose(1, 2)).transpose(1, 2)  # BN1d wants (B, D, T): statistics over B×T per feature
    real = x[mask]  # (tokens, D) the real tokens only
    bn_real = nn.BatchNorm1d(dim).train()(real)  # (tokens, D) BN over real tokens: what the data says
    ln = nn.LayerNorm(dim)
    y_ln = ln(x)  # statistics per token over D: pads cannot reach a real token
    n0 = lengths[0]
    alone = ln(x[0, :n0])  # sentence 0 with no padding at all
    flat = x.reshape(-1, dim)
    return PaddingResult(
        lengths,
        flat.mean(0),
        real.mean(0),
        flat.var(0, unbiased=False),
        real.var(0, unbiased=False),
        float((y_bn[0, :n0] - bn_real[:n0]).abs().max()),
        float((y_ln[0, :n0] - alone).abs().max()),
        y_bn[0, 0],
        bn_real[0],
        y_ln[0, 0],
    )


@dataclass
class DropoutResult:
    p: float
    x: torch.Tensor  # (n,)
    mask: torch.Tensor  # (n,) 1 = kept
    by_hand: torch.Tensor  # x · mask / (1 − p)
    by_torch: torch.Tensor  # nn.Dropout(p) in training mode, same random state
    eval_out: torch.Tensor  # nn.Dropout(p).eval(): the identity
    kept_share: float  # share of kept elements in a large sample (≈ 1 − p)
    mean_ratio: float  # mean(dropout(ones)) over a large sample (≈ 1: the expectation is kept)


@single_threaded
@torch.no_grad()
def dropout(p: float = 0.5, n: int = 10, seed: int = 0) -> DropoutResult:
    """Seed 002's slide: zero each element with probability p, scale the rest by 1/(1 − p); eval: identity."""
    if not 0.0 <= p < 1.0:
        raise UserError(
            f"p = {p:g} would drop every element (and 1/(1 − p) divides by zero); choose p in [0, 1).",
            f"p = {p:g} 会丢掉所有元素（1/(1 − p) 也会除以零）；请在 [0, 1) 中选 p。",
        )
    x = torch.arange(1, n + 1, dtype=torch.float32)  # 1, 2, …, n: easy to follow
    torch.manual_seed(seed)
    mask = torch.empty_like(x).bernoulli_(1 - p)  # the draw nn.Dropout makes on the CPU
    by_hand = x * mask.div(1 - p)
    torch.manual_seed(seed)
    layer = nn.Dropout(p).train()
    by_torch = layer(x)
    big = layer(torch.ones(100_000))
    return DropoutResult(
        p, x, mask, by_hand, by_torch, layer.eval()(x), float((big != 0).float().mean()), float(big.mean())
    )
