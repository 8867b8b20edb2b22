"""Backpropagation by hand: seed 002's two-layer regression, its gradients, mini-batches and saving.

The homework (lecture slides 002): `torch.manual_seed(1)`, 100 points x on [-1, 1], y = x² + 0.2·rand,
a net `Net(1, 10, 1)` and, in the homework's notation,

    h = X W1 + b1,   h_sigmoid = sigmoid(h),   Y_pred = h_sigmoid W2 + b2,   f = ||Y - Y_pred||²_F

`gradients` is the chain rule written out by hand; the tests hold it against autograd, central finite
differences and `torch.optim.SGD`. From a notebook:

    x, y = make_data()                          # (100, 1) each, the seed's exact numbers
    params = params_of(seed_net(10))            # W1 (1, 10), b1 (10,), W2 (10, 1), b2 (1,), float64
    grads = gradients(params, x.double(), y.double())
    run = train(TrainConfig(lr=0.002, steps=2000), params, x.double(), y.double())
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import pickletools
import queue
import resource
import secrets
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import Tensor, nn

from core.errors import UserError

SEED = 1  # torch.manual_seed(1) # reproducible
N_POINTS = 100  # torch.linspace(-1, 1, 100)
BIG_N = 10_000_000  # the mini-batch slide's torch.linspace(-1, 1, 10000000)
NAMES = ("W1", "b1", "W2", "b2")
Params = dict[str, Tensor]
Report = Callable[[dict[str, Any]], None]

SEED_CODE = """torch.manual_seed(1)  # reproducible
x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)  # (100, 1)
y = x.pow(2) + 0.2 * torch.rand(x.size())  # (100, 1)
net = Net(n_feature=1, n_hidden={hidden}, n_output=1)"""

# The homework's forward pass, then the chain rule backwards, one step a line (G is N×O, ⊙ elementwise).
DERIVATION = r"""\begin{aligned}
h &= XW_1 + b_1, \qquad h_{\text{sigmoid}} = \sigma(h) \\
Y_{\text{pred}} &= h_{\text{sigmoid}}W_2 + b_2, \qquad f = \lVert Y - Y_{\text{pred}} \rVert_F^2 \\
G := \frac{\partial f}{\partial Y_{\text{pred}}} &= -2\,(Y - Y_{\text{pred}}) = 2\,(Y_{\text{pred}} - Y) \\
\frac{\partial f}{\partial W_2} &= h_{\text{sigmoid}}^{\top}\, G \\
\frac{\partial f}{\partial b_2} &= \mathbf{1}^{\top} G = \textstyle\sum_{n=1}^{N} G_{n,:} \\
\frac{\partial f}{\partial h_{\text{sigmoid}}} &= G\, W_2^{\top} \\
\frac{\partial f}{\partial h} &= \frac{\partial f}{\partial h_{\text{sigmoid}}} \odot \sigma'(h)
  = (G W_2^{\top}) \odot \sigma(h) \odot (1 - \sigma(h)) \\
\frac{\partial f}{\partial W_1} &= X^{\top} \frac{\partial f}{\partial h} \\
\frac{\partial f}{\partial b_1} &= \mathbf{1}^{\top} \frac{\partial f}{\partial h}
\end{aligned}"""


def derivation(reduction: str = "sum") -> str:
    """The LaTeX of DERIVATION for the sum (the homework's f) or for the mean over the N·O entries."""
    if reduction == "sum":
        return DERIVATION
    return DERIVATION.replace(r"f = \lVert", r"f = \tfrac{1}{N}\lVert").replace(
        r"&= -2\,(Y - Y_{\text{pred}}) = 2\,(Y_{\text{pred}} - Y)",
        r"&= -\tfrac{2}{N}\,(Y - Y_{\text{pred}}) = \tfrac{2}{N}\,(Y_{\text{pred}} - Y)",
    )


MINIBATCH_FORMULA = (
    r"\nabla f_{\mathcal{B}}(\boldsymbol{x}) = \frac{1}{|\mathcal{B}|} \sum_{i \in \mathcal{B}} "
    r"\nabla f_i(\boldsymbol{x}), \qquad \boldsymbol{x} \leftarrow \boldsymbol{x} - \eta\, "
    r"\nabla f_{\mathcal{B}}(\boldsymbol{x})"
)

SAVE_CODE = """# 1. the whole net: a pickle of the object
torch.save(net, 'net_all.pkl')
# 2. only the parameters (still a pickle file)
torch.save(net.state_dict(), 'net_params.pkl')
# here: safetensors, raw numbers and a JSON header
from safetensors.torch import save_file, load_file
save_file(net.state_dict(), 'net.safetensors')
net3 = Net(n_feature=1, n_hidden=10, n_output=1)
net3.load_state_dict(load_file('net.safetensors'))"""


# --- 1. the data and the net (the seed's code) ---------------------------------------------------


def make_data(n: int = N_POINTS, seed: int = SEED) -> tuple[Tensor, Tensor]:
    """The seed's data: x (n, 1) evenly spaced on [-1, 1], y = x² + 0.2·U(0, 1) (n, 1), float32."""
    gen = torch.Generator().manual_seed(seed)  # the same numbers as torch.manual_seed(seed), no global state
    x = torch.unsqueeze(torch.linspace(-1, 1, n), dim=1)  # (n, 1)
    y = x.pow(2) + 0.2 * torch.rand(x.size(), generator=gen)  # (n, 1)
    return x, y


class Net(nn.Module):
    """The seed's Net(n_feature, n_hidden, n_output): Linear -> sigmoid -> Linear; x (N, F) -> (N, O)."""

    def __init__(self, n_feature: int = 1, n_hidden: int = 10, n_output: int = 1):
        super().__init__()
        self.hidden = nn.Linear(n_feature, n_hidden)  # h = X W1 + b1 (weight is W1ᵀ)
        self.predict = nn.Linear(n_hidden, n_output)  # Y_pred = h_sigmoid W2 + b2 (weight is W2ᵀ)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.sigmoid(self.hidden(x))  # (N, H): h_sigmoid
        return self.predict(x)  # (N, O)


def seed_net(n_hidden: int = 10, seed: int = SEED) -> Net:
    """Net(1, n_hidden, 1) initialised exactly as in the seed's script (after its data drew its noise)."""
    with torch.random.fork_rng(devices=[]):  # leave the process's global generator as it was
        torch.manual_seed(seed)
        torch.rand(N_POINTS, 1)  # the seed drew y's noise first
        return Net(1, n_hidden, 1)


def params_of(net: Net, dtype: torch.dtype = torch.float64) -> Params:
    """The net's weights in the homework's notation: W1 (F, H), b1 (H,), W2 (H, O), b2 (O,)."""
    return {
        "W1": net.hidden.weight.detach().T.to(dtype).clone(),
        "b1": net.hidden.bias.detach().to(dtype).clone(),
        "W2": net.predict.weight.detach().T.to(dtype).clone(),
        "b2": net.predict.bias.detach().to(dtype).clone(),
    }


def net_of(params: Params) -> Net:
    """A Net holding `params` (same dtype), e.g. to save it or to compare with torch.optim.SGD."""
    (n_feature, n_hidden), n_output = params["W1"].shape, params["W2"].shape[1]
    net = Net(n_feature, n_hidden, n_output).to(params["W1"].dtype)
    with torch.no_grad():
        net.hidden.weight.copy_(params["W1"].T)
        net.hidden.bias.copy_(params["b1"])
        net.predict.weight.copy_(params["W2"].T)
        net.predict.bias.copy_(params["b2"])
    return net


# --- 2. the forward pass and the gradients by hand -------------------------------------------------


def forward(p: Params, x: Tensor) -> tuple[Tensor, Tensor]:
    """x (N, F) -> (h_sigmoid (N, H), Y_pred (N, O)), the homework's forward pass."""
    h = x @ p["W1"] + p["b1"]  # (N, H)
    s = torch.sigmoid(h)  # (N, H): h_sigmoid
    return s, s @ p["W2"] + p["b2"]  # (N, O)


def loss(p: Params, x: Tensor, y: Tensor, reduction: str = "sum") -> Tensor:
    """f = ||Y − Y_pred||²_F (sum of squares, the homework's f) or its mean over the N·O entries."""
    _, y_pred = forward(p, x)
    squares = (y - y_pred).pow(2)  # (N, O)
    return squares.sum() if reduction == "sum" else squares.mean()


def gradients(p: Params, x: Tensor, y: Tensor, reduction: str = "sum") -> Params:
    """∂f/∂W1 (F, H), ∂f/∂b1 (H,), ∂f/∂W2 (H, O), ∂f/∂b2 (O,): the chain rule, one line per step."""
    s, y_pred = forward(p, x)  # (N, H), (N, O)
    g = 2 * (y_pred - y)  # (N, O): ∂f/∂Y_pred
    if reduction == "mean":
        g = g / y.numel()  # a mean divides every gradient by N·O
    grad_W2 = s.T @ g  # (H, O): ∂f/∂W2 = h_sigmoidᵀ G
    grad_b2 = g.sum(0)  # (O,): ∂f/∂b2 = 1ᵀ G
    grad_s = g @ p["W2"].T  # (N, H): ∂f/∂h_sigmoid = G W2ᵀ
    grad_h = grad_s * s * (1 - s)  # (N, H): σ'(h) = σ(h)(1 − σ(h))
    grad_W1 = x.T @ grad_h  # (F, H): ∂f/∂W1 = Xᵀ ∂f/∂h
    grad_b1 = grad_h.sum(0)  # (H,): ∂f/∂b1 = 1ᵀ ∂f/∂h
    return {"W1": grad_W1, "b1": grad_b1, "W2": grad_W2, "b2": grad_b2}


def autograd_gradients(p: Params, x: Tensor, y: Tensor, reduction: str = "sum") -> Params:
    """The same four gradients from PyTorch's autograd (the reference)."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}
    grads = torch.autograd.grad(loss(leaves, x, y, reduction), [leaves[k] for k in NAMES])
    return dict(zip(NAMES, grads, strict=True))


def finite_difference(
    p: Params, x: Tensor, y: Tensor, name: str, index: int, eps: float = 1e-6, reduction: str = "sum"
) -> float:
    """Central difference (f(θ + ε) − f(θ − ε)) / 2ε for element `index` (flat) of parameter `name`."""
    if name not in NAMES or not 0 <= index < p[name].numel():
        raise UserError(
            f"{name} has {p[name].numel() if name in p else 0} elements: pick an index from 0 to "
            f"{p[name].numel() - 1 if name in p else 0}.",
            f"{name} 共有 {p[name].numel() if name in p else 0} 个元素：请选择 0 到 "
            f"{p[name].numel() - 1 if name in p else 0} 之间的序号。",
        )
    plus = {k: v.clone() for k, v in p.items()}
    minus = {k: v.clone() for k, v in p.items()}
    plus[name].view(-1)[index] += eps
    minus[name].view(-1)[index] -= eps
    return float((loss(plus, x, y, reduction) - loss(minus, x, y, reduction)) / (2 * eps))


def max_difference(a: Params, b: Params) -> float:
    """The largest |a − b| over every element of the four parameters."""
    return max(float((a[k] - b[k]).abs().max()) for k in NAMES)


def max_stable_lr(p: Params, x: Tensor, y: Tensor, reduction: str = "sum") -> float:
    """2 / λ_max of the Hessian of f at `p`: gradient descent near `p` diverges above this rate."""
    shapes = [p[k].shape for k in NAMES]
    sizes = [p[k].numel() for k in NAMES]

    def f_flat(theta: Tensor) -> Tensor:
        parts = torch.split(theta, sizes)
        return loss({k: v.view(s) for k, v, s in zip(NAMES, parts, shapes, strict=True)}, x, y, reduction)

    theta = torch.cat([p[k].reshape(-1) for k in NAMES]).detach()
    hessian = torch.autograd.functional.hessian(f_flat, theta)  # (P, P)
    return float(2 / torch.linalg.eigvalsh(hessian).max())


@dataclass
class GradientCheck:
    hand: Params
    autograd: Params
    max_diff: float  # the largest |hand − autograd| over all elements
    loss: float  # f at these weights (sum or mean)
    sum_over_mean: float  # ‖∂f_sum‖ / ‖∂f_mean‖: N·O, the factor a mean divides every gradient by
    table: list[dict[str, Any]]  # one row per element: parameter, index, hand, autograd, |difference|


def check_gradients(p: Params, x: Tensor, y: Tensor, reduction: str = "sum") -> GradientCheck:
    """Hand-written gradients beside autograd's, with the sum/mean factor, for the page's table."""
    hand, auto = gradients(p, x, y, reduction), autograd_gradients(p, x, y, reduction)
    g_sum, g_mean = gradients(p, x, y, "sum"), gradients(p, x, y, "mean")
    ratio = float(torch.cat([g_sum[k].reshape(-1) for k in NAMES]).norm())
    ratio /= float(torch.cat([g_mean[k].reshape(-1) for k in NAMES]).norm())
    table = [
        {"θ": k, "#": i, "hand": float(a), "autograd": float(b), "|Δ|": float((a - b).abs())}
        for k in NAMES
        for i, (a, b) in enumerate(zip(hand[k].reshape(-1), auto[k].reshape(-1), strict=True))
    ]
    return GradientCheck(
        hand, auto, max_difference(hand, auto), float(loss(p, x, y, reduction)), ratio, table
    )


@dataclass
class ElementCheck:
    name: str
    index: int
    hand: float  # ∂f/∂θ[index] from `gradients`
    numeric: float  # the central finite difference


def check_element(
    p: Params, x: Tensor, y: Tensor, name: str, index: int, eps: float = 1e-6, reduction: str = "sum"
) -> ElementCheck:
    """One element's hand-written gradient beside its central finite difference."""
    numeric = finite_difference(p, x, y, name, index, eps, reduction)
    return ElementCheck(name, index, float(gradients(p, x, y, reduction)[name].reshape(-1)[index]), numeric)


# --- 3. gradient descent: by hand, beside torch.optim.SGD + autograd ------------------------------


@dataclass
class TrainConfig:
    lr: float = 0.002  # the slides' SGD lr 0.2 on a mean loss is 0.002 on the homework's sum of 100 points
    steps: int = 2000  # full-batch steps
    reduction: str = "sum"  # "sum" (the homework's f) or "mean"
    report_every: int = 20  # steps between two progress reports (one redraw each)
    pace_s: float = 0.0  # pause after each report, so a class can watch the line move (0 in notebooks)
    blow_up: float = 1e6  # a loss this many times the first one (or not finite) counts as diverged


@dataclass
class Run:
    hand: Params  # weights after gradient descent with `gradients`
    sgd: Params  # weights after torch.optim.SGD with autograd, from the same start
    records: list[dict[str, float]] = field(default_factory=list)  # step, loss_hand, loss_sgd, diff
    lr: float = 0.0
    diverged_at: int | None = None  # the step at which the loss blew up (weights kept from before it)
    max_diff: float = 0.0  # the largest |θ_hand − θ_sgd| over the trajectory
    seconds: float = 0.0


def gd_step(p: Params, x: Tensor, y: Tensor, lr: float, reduction: str = "sum") -> Params:
    """One step of plain gradient descent with the hand-written gradients: θ ← θ − η ∂f/∂θ."""
    grads = gradients(p, x, y, reduction)
    return {k: p[k] - lr * grads[k] for k in NAMES}


def train(
    config: TrainConfig,
    start: Params,
    x: Tensor,
    y: Tensor,
    report: Report | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Run:
    """`config.steps` steps of hand-written GD and of torch.optim.SGD + autograd, in lockstep."""
    hand = {k: v.clone() for k, v in start.items()}
    net = net_of(start)
    opt = torch.optim.SGD(net.parameters(), lr=config.lr)
    run = Run(hand=hand, sgd=params_of(net, start["W1"].dtype), lr=config.lr)
    first = None
    t0 = time.perf_counter()
    for step in range(1, config.steps + 1):
        if should_stop is not None and should_stop():
            break
        f_hand = float(loss(hand, x, y, config.reduction))
        pred = net(x)  # (N, O)
        f_sgd = (y - pred).pow(2).sum() if config.reduction == "sum" else (y - pred).pow(2).mean()
        first = first if first is not None else f_hand
        if not math.isfinite(f_hand) or f_hand > config.blow_up * max(first, 1e-12):
            run.diverged_at = step - 1
            break
        new_hand = gd_step(hand, x, y, config.lr, config.reduction)
        opt.zero_grad()
        f_sgd.backward()
        opt.step()
        hand, run.hand, run.sgd = new_hand, new_hand, params_of(net, start["W1"].dtype)
        diff = max_difference(hand, run.sgd)
        run.max_diff = max(run.max_diff, diff)
        run.records.append({"step": step, "loss_hand": f_hand, "loss_sgd": f_sgd.item(), "diff": diff})
        if report is not None and (step % config.report_every == 0 or step == config.steps):
            _, line = forward(hand, x)
            report({"progress": step / config.steps, **run.records[-1], "pred": line[:, 0].tolist()})
            if config.pace_s:
                time.sleep(config.pace_s)
    run.seconds = time.perf_counter() - t0
    return run


# --- 4. mini-batches ------------------------------------------------------------------------------


@dataclass
class BatchRun:
    batch_size: int
    records: list[dict[str, float]]  # epoch (fractional), loss of the mini-batch (mean), full loss (mean)
    seconds_per_epoch: float
    params: Params
    diverged: bool = False  # the loss blew up (the run stopped before any NaN)


def minibatch_sgd(
    start: Params, x: Tensor, y: Tensor, batch_size: int, lr: float = 0.2, epochs: int = 50, seed: int = SEED
) -> BatchRun:
    """The slides' mini-batch SGD: shuffle, θ ← θ − η·(1/|B|)Σ_B ∇f_i per batch (mean loss)."""
    n = len(x)
    batch_size = max(1, min(batch_size, n))
    gen = torch.Generator().manual_seed(seed)
    p = {k: v.clone() for k, v in start.items()}
    records, seconds = [], 0.0
    per_epoch = n // batch_size
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)  # (n,)
        t0 = time.perf_counter()
        batch_losses = []
        for b in range(per_epoch):
            idx = order[b * batch_size : (b + 1) * batch_size]  # (B,)
            bx, by = x[idx], y[idx]  # (B, 1) each
            batch_losses.append(float(loss(p, bx, by, "mean")))
            p = gd_step(p, bx, by, lr, "mean")
        seconds += time.perf_counter() - t0
        full = float(loss(p, x, y, "mean"))
        if not all(math.isfinite(v) and v < 1e6 for v in [*batch_losses, full]):
            return BatchRun(batch_size, records, seconds / (epoch + 1), p, diverged=True)
        for b, value in enumerate(batch_losses):
            records.append({"epoch": epoch + (b + 1) / per_epoch, "batch_loss": value, "full_loss": full})
    return BatchRun(batch_size, records, seconds / epochs, p)


@dataclass
class BigConfig:
    n: int = BIG_N  # points, as on the slide
    n_hidden: int = 10  # Net(1, 10, 1)
    batch_sizes: tuple[int, ...] = (100, 10_000, 1_000_000, BIG_N)  # the last one is the full batch
    budget_s: float = 2.0  # at most this long per batch size; a longer epoch is extrapolated
    lr: float = 0.2  # mean loss, as in the slides' mini-batch formula
    timeout_s: float = 90.0  # the measuring process is killed after this


def bytes_needed(config: BigConfig) -> int:
    """A generous estimate of the full-batch run's memory: data (N, 1)×2 and 6 tensors of (N, H), float32."""
    return 4 * config.n * (2 + 6 * config.n_hidden) + 400 * 2**20


def available_bytes() -> int:
    """MemAvailable of this machine (Linux), else a large number."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def _status_bytes(field: str) -> int:
    """VmRSS (resident now) or VmHWM (its peak since the last reset) of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: the peak so far


def _start_memory_window() -> int:
    """Reset the process's peak resident memory to what it holds now (Linux clear_refs 5); returns that."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_bytes("VmRSS")


def _peak_above(start: int) -> int:
    """Peak resident memory since `_start_memory_window` returned `start`, above it, in bytes."""
    return max(0, _status_bytes("VmHWM") - start)


def _measure_in_this_process(config: BigConfig, emit: Callable[[dict[str, Any]], None]) -> None:
    """Time one epoch per batch size on the 10,000,000 points (float32) and note the peak memory."""
    torch.set_num_threads(1)  # a busy shared machine makes multi-threaded small steps erratic
    base = _start_memory_window()
    t0 = time.perf_counter()
    x, y = make_data(config.n)  # (N, 1) each
    start = params_of(seed_net(config.n_hidden), torch.float32)
    emit(
        {
            "stage": "data",
            "seconds": time.perf_counter() - t0,
            "data_bytes": x.nbytes + y.nbytes,
            "peak_bytes": _peak_above(base),
        }
    )
    gen = torch.Generator().manual_seed(SEED)
    for batch_size in sorted(config.batch_sizes):
        per_epoch = config.n // batch_size
        base = _start_memory_window()  # this batch size's own peak (its shuffle included), above the data
        order = torch.randperm(config.n, generator=gen) if batch_size < config.n else None
        p, done, t0 = start, 0, time.perf_counter()  # every batch size starts from the seed's net
        while done < per_epoch and (done == 0 or time.perf_counter() - t0 < config.budget_s):
            if order is None:
                bx, by = x, y
            else:
                idx = order[done * batch_size : (done + 1) * batch_size]  # (B,)
                bx, by = x[idx], y[idx]  # (B, 1) each
            p = gd_step(p, bx, by, config.lr, "mean")
            done += 1
        seconds = time.perf_counter() - t0
        emit(
            {
                "stage": "batch",
                "batch_size": batch_size,
                "batches": done,
                "batches_per_epoch": per_epoch,
                "seconds": seconds,
                "seconds_per_epoch": seconds / done * per_epoch,
                "peak_bytes": _peak_above(base),
                "loss": float(
                    loss(p, x[:: max(1, config.n // 100_000)], y[:: max(1, config.n // 100_000)], "mean")
                ),
            }
        )


def measure_big_data(config: BigConfig, report: Report, should_stop: Callable[[], bool]) -> list[dict]:
    """Run `_measure_in_this_process` in a child process (bounded, and its peak memory is its own)."""
    need = bytes_needed(config)
    if need > 0.8 * available_bytes():
        raise UserError(
            f"The full-batch run needs about {need / 2**30:.1f} GB of memory and the machine has only "
            f"{available_bytes() / 2**30:.1f} GB free right now; try again later.",
            f"整批运行大约需要 {need / 2**30:.1f} GB 内存，"
            f"而机器目前只有 {available_bytes() / 2**30:.1f} GB 可用；请稍后再试。",
        )
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen(
        [sys.executable, "-m", "core.backprop", json.dumps(asdict(config))],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),  # one thread: fair between batch sizes, polite on a server
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    rows: list[dict] = []
    steps = 1 + len(config.batch_sizes)
    deadline = time.monotonic() + config.timeout_s
    try:
        report({"progress": 0.0, "stage": "start"})
        while not should_stop() and time.monotonic() < deadline:  # Stop and the time limit end it early
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            rows.append(json.loads(line))
            report({"progress": len(rows) / steps, **rows[-1]})
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    if child.returncode not in (0, -9) and len(rows) < steps:
        raise RuntimeError(f"the measuring process failed: {child.stderr.read()[-500:]}")
    return rows


# --- 5. saving the model: safetensors, and why not pickle ----------------------------------------


def save_net(net: Net) -> bytes:
    """The state_dict as safetensors bytes, the net's sizes in the metadata (no pickle anywhere)."""
    sizes = {
        "n_feature": net.hidden.in_features,
        "n_hidden": net.hidden.out_features,
        "n_output": net.predict.out_features,
    }
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    return st_save(state, metadata={k: str(v) for k, v in sizes.items()})


def _refuse(en: str, zh: str) -> UserError:
    return UserError(
        f"This file cannot be loaded as this page's net: {en}. Upload a .safetensors file saved by the "
        "Download button above; pickled .pt/.pkl files are never opened, because unpickling runs code.",
        f"无法把这个文件加载为本页的网络：{zh}。请上传用上面的下载按钮保存的 .safetensors 文件；"
        "pickle 格式的 .pt/.pkl 文件一律不打开，因为反序列化（unpickle）会执行代码。",
    )


def load_net(data: bytes) -> Net:
    """safetensors bytes from `save_net` -> the Net (eval mode); every other file -> UserError."""
    header_len = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0
    if len(data) == 0:
        raise _refuse("the file is empty", "文件是空的")
    if data[:1] == b"\x80" or data[:4] == b"PK\x03\x04":
        raise _refuse("it is a pickle (torch.save) file", "它是 pickle（torch.save）文件")
    if not (2 <= header_len <= len(data) - 8) or data[8:9] != b"{":
        raise _refuse(
            "it is not a safetensors file, or it is cut off", "它不是 safetensors 文件，或者已被截断"
        )
    try:
        state = st_load(data)
        meta = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
        sizes = {k: int(meta[k]) for k in ("n_feature", "n_hidden", "n_output")}
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise _refuse(
            "its header or its tensors are damaged, or it does not give the net's sizes",
            "它的文件头或张量已损坏，或没有写明网络的尺寸",
        ) from err
    if not (all(1 <= v <= 4096 for v in sizes.values())):
        raise _refuse("the net's sizes in it are out of range", "其中网络的尺寸超出范围")
    dtype = state.get("hidden.weight", torch.zeros(0)).dtype
    if dtype not in (torch.float32, torch.float64):
        raise _refuse(
            f"its weights are {dtype}, not float32 or float64",
            f"其中权重的类型是 {dtype}，不是 float32 或 float64",
        )
    net = Net(**sizes).to(dtype)
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as err:
        raise _refuse(
            f"its tensors do not have the names and shapes of Net({sizes['n_feature']}, "
            f"{sizes['n_hidden']}, {sizes['n_output']})",
            f"其中张量的名字或形状与 Net({sizes['n_feature']}, {sizes['n_hidden']}, "
            f"{sizes['n_output']}) 不符",
        ) from err
    return net.eval()


@dataclass
class ReloadCheck:
    n_hidden: int
    pred: list[float]  # the reloaded net's prediction at every x
    max_diff: float  # the largest |prediction before − after| (inf when the sizes differ)

    @property
    def equal(self) -> bool:
        return self.max_diff == 0.0


def check_reload(data: bytes, net: Net, x: Tensor) -> ReloadCheck:
    """Load uploaded safetensors bytes (never unpickled) and compare its predictions with `net`'s."""
    loaded = load_net(data)
    with torch.no_grad():
        after = loaded(x.to(loaded.hidden.weight.dtype))  # (N, O)
        before = net(x.to(net.hidden.weight.dtype))  # (N, O)
    same = after.shape == before.shape and loaded.hidden.out_features == net.hidden.out_features
    diff = float((after.double() - before.double()).abs().max()) if same else math.inf
    return ReloadCheck(loaded.hidden.out_features, after[:, 0].tolist(), diff)


UNPICKLED: set[str] = set()  # tokens of the demonstration pickles that ran code while loading


def note_unpickling(token: str) -> str:
    """The harmless function the demonstration pickle calls while it is loaded: it records its token."""
    UNPICKLED.add(token)
    return f"this text was returned by code that ran during loading (token {token})"


class Surprise:
    """An object whose pickle says "call core.backprop.note_unpickling(token)" to whoever loads it."""

    def __init__(self, token: str):
        self.token = token

    def __reduce__(self) -> tuple:
        return (note_unpickling, (self.token,))


@dataclass
class PickleDemo:
    token: str
    whole_net_bytes: int  # len(torch.save(net)), the slides' first way (with the surprise inside)
    state_dict_bytes: int  # len(safetensors of the state_dict), the second way
    opcodes: str  # pickletools' listing of the surprise: GLOBAL ... REDUCE is a function call
    ran_with_pickle: bool  # torch.load(weights_only=False) called note_unpickling
    returned: str  # what that call put into the loaded object
    weights_only_error: str  # what torch.load(weights_only=True) said instead


def pickle_demo(net: Net) -> PickleDemo:
    """Build a whole-net torch.save file with a Surprise inside, load it twice (only bytes made here)."""
    token = secrets.token_hex(4)
    buf = io.BytesIO()
    torch.save({"net": net, "note": Surprise(token)}, buf)  # the slides' torch.save(net, 'net_all.pkl')
    data = buf.getvalue()
    listing = io.StringIO()
    pickletools.dis(pickle.dumps(Surprise(token), protocol=2), out=listing)
    loaded = torch.load(io.BytesIO(data), weights_only=False)  # unpickling: runs note_unpickling
    try:
        torch.load(io.BytesIO(data), weights_only=True)
        refused = ""
    except pickle.UnpicklingError as err:
        refused = str(err).strip().splitlines()[0]
    return PickleDemo(
        token=token,
        whole_net_bytes=len(data),
        state_dict_bytes=len(save_net(net)),
        opcodes=listing.getvalue(),
        ran_with_pickle=token in UNPICKLED,
        returned=str(loaded["note"]),
        weights_only_error=refused,
    )


if __name__ == "__main__":  # the child process of measure_big_data: one JSON line per stage
    _measure_in_this_process(
        BigConfig(
            **{**json.loads(sys.argv[1]), "batch_sizes": tuple(json.loads(sys.argv[1])["batch_sizes"])}
        ),
        lambda row: print(json.dumps(row), flush=True),
    )
