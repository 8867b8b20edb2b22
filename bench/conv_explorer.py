"""Photo mode, per interaction: the server-side work on a 512×512 RGB photo, beside F.conv2d on it.

Goal: median ≤ 50 ms on 2 CPU cores. Run: .venv/bin/python bench/conv_explorer.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core import conv  # noqa: E402

GOAL_MS = 50.0
REPEATS = 21


def median_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(512, 512, 3), dtype=np.uint8)  # (H, W, 3)
    x = torch.from_numpy(np.ascontiguousarray(photo.transpose(2, 0, 1), dtype=np.float32))[
        None
    ]  # (1, 3, H, W)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 512×512 RGB, median of {REPEATS}")
    print(f"{'case':44s} {'ours (ms)':>10s} {'F.conv2d (ms)':>14s}")
    worst = 0.0
    cases = [
        ("gaussian3", 1, 1, "none"),
        ("sobel_x", 1, 1, "none"),
        ("gaussian5", 2, 1, "none"),
        ("edge", 1, 2, "max"),
        ("sharpen", 0, 1, "avg"),
    ]
    for name, pad, stride, pool in cases:
        k = conv.named_kernel(name)
        ours = median_ms(
            lambda k=k, pad=pad, stride=stride, pool=pool: conv.explore_photo(
                photo, k, pad, stride, 1, colour=True, pool=pool
            )
        )
        w = torch.from_numpy(np.repeat(k[None, None], 3, axis=1).astype(np.float32))  # (1, 3, kh, kw)
        ref = median_ms(lambda w=w, pad=pad, stride=stride: F.conv2d(x, w, padding=pad, stride=stride))
        worst = max(worst, ours)
        label = f"{name} {k.shape[0]}×{k.shape[1]}, pad {pad}, stride {stride}, pool {pool}"
        print(f"{label:44s} {ours:10.1f} {ref:14.1f}")
    print(
        f"worst median per interaction: {worst:.1f} ms (goal ≤ {GOAL_MS:.0f} ms): "
        f"{'met' if worst <= GOAL_MS else 'NOT met'}"
    )
    print(
        "ours = conv.explore_photo: 3 channels convolved, summed, pooled, turned into 9 display images;"
        " F.conv2d = the convolution alone (no display images)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
