"""One intra-op thread for the small tensors of these pages (OpenMP's setting is per thread).

On the shared 2-core machine two OpenMP threads over tiny tensors spin-wait for each other: measured
block_flow 270 ms wall with 2 threads, 19 ms with 1; 60 experiment steps 175 s against 16 s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import torch

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one intra-op thread (this thread only), then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_threaded(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: `fn` runs inside `one_thread()`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_thread():
            return fn(*args, **kwargs)

    return wrapper
