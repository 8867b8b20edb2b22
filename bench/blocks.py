"""Building-block pages, per interaction: the core call each control triggers, beside the bare PyTorch
work it wraps, measured in the same run. Also the two live experiments (goal: under a minute on a CPU).

Goal: every interaction ≤ 300 ms on the 2-core machine (median wall time; CPU time printed too, since the
machine is shared). Run: .venv/bin/python bench/blocks.py [--no-experiments]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.blocks import attention, experiments, norm, resnet  # noqa: E402

GOAL_MS = 300.0
REPEATS = 7


def timed(fn: Callable[[], object], repeats: int = REPEATS, warm: bool = True) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `fn()` (after one warm-up call unless `warm` is False)."""
    if warm:
        fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; median of {REPEATS}"
    )
    x224 = torch.randn(1, 3, 224, 224)
    ref_net = resnet.resnet18().eval()
    block = resnet.BasicBlock(64, 128, 2, resnet.make_downsample(64, 128, 2)).eval()
    xb = torch.randn(1, 64, 32, 32)
    xa = attention.embed(attention.tokenize("我爱深度学习"), 8)
    sha = attention.SingleHeadSelfAttention(8)
    xn = norm.example_batch((4, 6, 2, 2))
    cases = [
        ("residual: stride / skip (block_flow)", lambda: resnet.block_flow(64, 128, 2, 32, True),
         "BasicBlock forward", lambda: block(xb)),
        ("residual: size 224 table (stage_table), uncached", lambda: resnet.stage_table(224, 1000, 2),
         "resnet18 forward at 224", lambda: ref_net(x224)),
        ("residual: size 64 table (stage_table), uncached", lambda: resnet.stage_table(64, 10, 1),
         "resnet18 forward at 224", lambda: ref_net(x224)),
        ("attention: any control (attention.run)",
         lambda: attention.run("我爱深度学习", "char", 8, 2, True, True),
         "F.scaled_dot_product_attention", lambda: F.scaled_dot_product_attention(xa, xa, xa)),
        ("attention: 32 tokens, d 32, 8 heads", lambda: attention.run("字" * 32, "char", 32, 8, True, False),
         "single-head module forward", lambda: sha(xa)),
        ("attention: √d section (scaling_effect)", lambda: attention.scaling_effect(),
         "softmax of 64×8×8 scores", lambda: F.softmax(torch.randn(64, 8, 8), -1)),
        ("norm: kind / element (normalize_element)",
         lambda: norm.normalize_element("group", (4, 6, 2, 2), (1, 2, 0, 0), 3),
         "nn.GroupNorm forward", lambda: nn.GroupNorm(3, 6)(xn)),
        ("norm: momentum / batch (running_stats)", lambda: norm.running_stats(0.1, 20, 32),
         "20 BatchNorm1d forwards", lambda: [nn.BatchNorm1d(1)(torch.randn(32, 1)) for _ in range(20)]),
        ("norm: sentences (padding_effect)", lambda: norm.padding_effect((6, 2, 6)),
         "BatchNorm1d + LayerNorm forward",
         lambda: (nn.BatchNorm1d(8)(torch.randn(18, 8)), nn.LayerNorm(8)(torch.randn(18, 8)))),
        ("norm: p / new mask (dropout)", lambda: norm.dropout(0.5, 10, 1),
         "nn.Dropout on 100,000", lambda: nn.Dropout(0.5)(torch.ones(100_000))),
    ]  # fmt: skip
    print(f"{'interaction':52s} {'wall ms':>8s} {'cpu ms':>7s}   {'reference':34s} {'wall ms':>8s}")
    worst = 0.0
    with torch.no_grad():
        for name, fn, ref_name, ref in cases:
            wall, cpu = timed(fn, repeats=3 if "uncached" in name else REPEATS)
            ref_wall, _ = timed(ref)
            worst = max(worst, wall)
            print(f"{name:52s} {wall:8.1f} {cpu:7.1f}   {ref_name:34s} {ref_wall:8.1f}")
    print(
        f"worst median per interaction: {worst:.1f} ms (goal ≤ {GOAL_MS:.0f} ms): "
        f"{'met' if worst <= GOAL_MS else 'NOT met'}. The pages cache stage tables per (size, classes, stem) "
        "with st.cache_data, so only the first visit of a combination pays the uncached figure."
    )
    if "--no-experiments" in sys.argv:
        return 0
    from core import data

    ds = data.load("mnist")
    for name, run in (
        ("plain vs residual (300 steps, 2 nets)", lambda: experiments.residual_experiment(
            ds, experiments.ResidualConfig(), lambda r: None, lambda: False)),
        ("BN / LN / none CNN (150 steps, 3 nets)", lambda: experiments.norm_experiment(
            ds, experiments.NormConfig(), lambda r: None, lambda: False)),
    ):  # fmt: skip
        wall, cpu = timed(run, repeats=1, warm=False)
        print(f"experiment {name:42s} {wall / 1000:7.1f} s wall, {cpu / 1000:6.1f} s cpu (goal < 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
