"""Train and evaluate an MNIST model, fast, with progress leaving through callbacks (no UI in here).

Why it is fast (compare with pytorch/examples' mnist, see bench/train_mnist.py):
- the dataset sits on the device once per process as uint8 (47 MB for MNIST) and is normalized on
  the fly, batch by batch; no Dataset/DataLoader, no PIL, no per-sample Python work;
- a batch is an index slice of one seeded `torch.randperm` per epoch;
- losses and accuracies are summed on the device and read back every `log_every` steps, not per batch;
- channels_last weights (oneDNN on the CPU, cuDNN on CUDA); on CUDA also bf16/fp16 autocast and
  cudnn.benchmark. Autocast covers the model's forward only (`MixedPrecision`): the objective gets
  fp32 outputs and computes its loss in fp32, so any loss that runs on the CPU runs on CUDA (BCE too);
- on CUDA, a step's forward and backward are one CUDA graph (`GraphedStep`: one launch instead of
  ~40 small kernels, which is what limits a small CNN on a big GPU) and Adam/AdamW run fused.

    model = build_model("two_layer_cnn")
    history = fit(model, data.load("mnist"), TrainConfig(epochs=1), on_step=print)
    evaluate(model, data.load("mnist"))   # {"loss": 0.04, "acc": 0.987}

`objective(model, x, y) -> (loss, metrics)` is the one thing that knows the task: the default is
classification; the VAE page passes its own (reconstruction + KL), and reuses the rest.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import load_checkpoint, save_checkpoint
from core.data import Dataset, normalize
from core.device import pick_device
from core.errors import UserError
from core.limits import LIMITS
from core.models import build_model, build_seeded, count_parameters, model_options, summarize

OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd_momentum", "adam", "adamw")
SCHEDULES: tuple[str, ...] = ("onecycle", "constant")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")

# (model, x uint8 (B, 28, 28) on the device, y (B,)) -> (scalar loss, {metric name: scalar tensor})
Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]
Callback = Callable[[dict[str, float]], None]


@dataclass
class TrainConfig:
    model: str = (
        "two_layer_cnn"  # a name from core.models.MODEL_NAMES (fit itself trains the model passed in)
    )
    optimizer: str = "adam"  # sgd | sgd_momentum | adam | adamw
    lr: float = 3e-3  # the peak learning rate when schedule="onecycle"
    momentum: float = 0.9  # used by sgd_momentum only
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 1
    train_subset: int = 60_000  # train on the first N training images
    schedule: str = "onecycle"  # constant | onecycle (warm up, then anneal: Smith & Topin 2017)
    seed: int = 0  # batch order and dropout masks; weights are seeded by whoever builds the model
    device: str = "auto"  # auto | cpu | cuda | mps
    eval_every: int = 0  # evaluate the test set every N steps (0: only at the end of each epoch)
    eval_subset: int = 10_000  # test images used for the evaluations during training
    log_every: int = 10  # steps between progress reports (one host sync each)
    precision: str = "auto"  # auto (bf16/fp16 autocast on CUDA, fp32 elsewhere) | fp32 | bf16 | fp16
    final_eval: bool = True  # evaluate after the last (or stopped) epoch; off when the caller tests itself
    cuda_graph: bool = True  # on CUDA, replay each full batch's forward + backward as one CUDA graph


@dataclass
class History:
    """What happened during `fit`: every report as plain floats, ready for a chart or a table."""

    config: dict[str, Any]
    steps: list[dict[str, float]] = field(default_factory=list)  # step, epoch, loss, <metrics>, lr, time
    epochs: list[dict[str, float]] = field(default_factory=list)  # epoch, loss, <metrics>, test_*, time
    evals: list[dict[str, float]] = field(default_factory=list)  # step, epoch, test_loss, test_<metrics>
    elapsed: float = 0.0  # seconds of training (evaluations excluded)
    wall: float = 0.0  # seconds from start to end, evaluations included
    stopped: bool = False  # True when should_stop ended the run early
    images: int = 0  # training images seen
    device: str = "cpu"
    cuda_graph: bool = False  # True when full batches ran as a CUDA graph

    @property
    def images_per_second(self) -> float:
        return self.images / self.elapsed if self.elapsed > 0 else 0.0


def classification_objective(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cross-entropy on x uint8 (B, 28, 28) normalized with MNIST's mean/std; metrics {"acc"} (scalar)."""
    logits = model(normalize(x))  # (B, 10)
    loss = F.cross_entropy(logits.float(), y)
    acc = (logits.argmax(dim=1) == y).float().mean()
    return loss, {"acc": acc}


classification_objective.graphable = True  # type: ignore[attr-defined]  # no host syncs, fixed shapes


# --- the dataset on the device, once per process ------------------------------------------------

_device_data: dict[tuple[int, str], tuple[torch.Tensor, ...]] = {}
_device_lock = threading.Lock()


def on_device(
    data: Dataset, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train_x, train_y, test_x, test_y) of `data` on `device`, copied once per process and shared."""
    if device.type == "cpu":
        return data.train_x, data.train_y, data.test_x, data.test_y
    key = (id(data.train_x), str(device))
    with _device_lock:
        if key not in _device_data:
            _device_data[key] = tuple(
                t.to(device, non_blocking=False)
                for t in (data.train_x, data.train_y, data.test_x, data.test_y)
            )
        return _device_data[key]  # type: ignore[return-value]


# --- training -------------------------------------------------------------------------------------


def check_config(config: TrainConfig) -> None:
    """Raise UserError for settings a student can get wrong (and LIMITS a host has set)."""

    def bad(en: str, zh: str) -> None:
        raise UserError(en, zh)

    if config.optimizer not in OPTIMIZERS:
        bad(
            f"Unknown optimizer '{config.optimizer}'; choose one of {', '.join(OPTIMIZERS)}.",
            f"未知的优化器“{config.optimizer}”；可选：{'、'.join(OPTIMIZERS)}。",
        )
    if config.schedule not in SCHEDULES:
        bad(
            f"Unknown learning-rate schedule '{config.schedule}'; choose one of {', '.join(SCHEDULES)}.",
            f"未知的学习率调度“{config.schedule}”；可选：{'、'.join(SCHEDULES)}。",
        )
    if not (config.lr > 0 and math.isfinite(config.lr)):
        bad(
            f"The learning rate must be a positive number; got {config.lr}.",
            f"学习率必须是正数，现在是 {config.lr}。",
        )
    if config.batch_size < 2:
        bad(
            "The batch size must be at least 2 (batch norm needs two images to compute a variance).",
            "批大小至少为 2（批归一化需要至少两张图片来计算方差）。",
        )
    if not 1 <= config.epochs <= LIMITS.max_epochs:
        bad(
            f"Epochs must be between 1 and {LIMITS.max_epochs} on this server; got {config.epochs}.",
            f"本服务器的训练轮数必须在 1 到 {LIMITS.max_epochs} 之间，现在是 {config.epochs}。",
        )
    if not config.batch_size <= config.train_subset <= LIMITS.max_train_subset:
        bad(
            f"The training subset must hold between one batch ({config.batch_size}) and "
            f"{LIMITS.max_train_subset} images; got {config.train_subset}.",
            f"训练子集的图片数必须在一个批次（{config.batch_size}）与 {LIMITS.max_train_subset} 之间，"
            f"现在是 {config.train_subset}。",
        )


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named in `config` over the model's parameters."""
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd_momentum":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    fused = next(model.parameters()).is_cuda  # one kernel for the whole update instead of ~10 per step
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device` (None: plain fp32)."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class MixedPrecision(nn.Module):
    """`model` whose forward runs under autocast and hands back fp32 tensors.

    Only the network runs in bf16/fp16; the objective's own arithmetic (the loss) stays fp32 outside
    autocast. So an objective written for the CPU works unchanged on CUDA, including ones that call
    ops autocast refuses, like F.binary_cross_entropy. Attributes of the model (encode, decode, ...)
    are reached through the wrapper; calling them directly runs them in fp32.
    """

    def __init__(self, model: nn.Module, device_type: str, dtype: torch.dtype):
        super().__init__()
        self.model, self.device_type, self.dtype = model, device_type, dtype

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        # no weight-cast cache: each weight is used once per forward, and CUDA graphs require it off
        with torch.autocast(self.device_type, dtype=self.dtype, cache_enabled=False):
            out = self.model(*args, **kwargs)
        return _to_fp32(out)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.model, name)


def _to_fp32(out: Any) -> Any:
    """Floating tensors in `out` (a tensor, tuple, list or dict of them) cast to fp32."""
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (tuple, list)):
        return type(out)(_to_fp32(o) for o in out)
    if isinstance(out, dict):
        return {k: _to_fp32(v) for k, v in out.items()}
    return out


def with_precision(model: nn.Module, precision: str, device: torch.device) -> nn.Module:
    """`model` itself for fp32, else wrapped in `MixedPrecision` (same weights, forward under autocast)."""
    if precision not in PRECISIONS:
        raise UserError(
            f"Unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}.",
            f"未知的精度“{precision}”；可选：{'、'.join(PRECISIONS)}。",
        )
    dtype = autocast_dtype(precision, device)
    return model if dtype is None else MixedPrecision(model, device.type, dtype)


class GraphedStep:
    """A training step's forward + backward at a fixed batch size, captured once as a CUDA graph.

    `step(train_x, train_y, idx)` gathers the batch into the graph's own input tensors and replays the
    graph: the parameters' .grad tensors are refilled in place (the optimizer then runs outside the
    graph, so the learning-rate schedule needs no recapture). Returns (loss, metrics) as fresh tensors.
    Capturing needs a few warm-up passes; the model's buffers (BatchNorm statistics) are put back.
    """

    def __init__(
        self, model: nn.Module, net: nn.Module, objective: Objective, x: torch.Tensor, y: torch.Tensor
    ):
        self.x, self.y = x.clone(), y.clone()  # the graph's own input: x (B, 28, 28) uint8, y (B,)
        buffers = [(b, b.clone()) for b in model.buffers()]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the main stream (cuDNN picks its algorithms here)
            for _ in range(3):
                model.zero_grad(set_to_none=True)
                loss, _ = objective(net, self.x, self.y)
                loss.backward()
        torch.cuda.current_stream().wait_stream(side)
        model.zero_grad(set_to_none=True)  # the graph allocates .grad itself, from its own pool
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss, self.metrics = objective(net, self.x, self.y)
            self.loss.backward()
        for b, saved in buffers:
            b.copy_(saved)

    def step(
        self, train_x: torch.Tensor, train_y: torch.Tensor, idx: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        torch.index_select(train_x, 0, idx, out=self.x)
        torch.index_select(train_y, 0, idx, out=self.y)
        self.graph.replay()
        return self.loss.detach().clone(), {k: v.detach().clone() for k, v in self.metrics.items()}


def graphed_step(
    model: nn.Module,
    net: nn.Module,
    objective: Objective,
    config: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
) -> GraphedStep | None:
    """A `GraphedStep` where CUDA graphs apply (CUDA, no fp16 loss scaling, a graph-safe objective)."""
    usable = (
        config.cuda_graph
        and x.is_cuda
        and getattr(objective, "graphable", False)
        and autocast_dtype(config.precision, x.device) != torch.float16
        and len(x) >= 2
    )
    if not usable:
        return None
    try:
        return GraphedStep(model, net, objective, x, y)
    except RuntimeError:  # a capture the driver refuses: train eagerly, as on the CPU
        model.zero_grad(set_to_none=True)
        return None


def steps_per_epoch(train_subset: int, batch_size: int) -> int:
    """Batches in one epoch: full batches, plus the remainder when it holds at least 2 images."""
    return train_subset // batch_size + (1 if train_subset % batch_size >= 2 else 0)


def cadence(config: TrainConfig) -> TrainConfig:
    """`config` with the live page's rhythm: ~100 progress reports, a few cheap test points per epoch."""
    # test points use a test subset that costs a small fraction of the training; the final figure is
    # measured on all 10,000 test images by `train_run`
    device = pick_device(config.device)
    steps = max(1, steps_per_epoch(config.train_subset, config.batch_size)) * max(1, config.epochs)
    points = (5 if config.train_subset >= 10_000 else 2) * max(1, config.epochs)
    return replace(
        config,
        log_every=max(1, min(20, steps // 100)),
        eval_every=max(1, steps // points),
        eval_subset=10_000 if device.type == "cuda" else min(2_000, max(500, config.train_subset // 10)),
    )


def fit(
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    on_step: Callback | None = None,
    on_epoch: Callback | None = None,
    should_stop: Callable[[], bool] | None = None,
    objective: Objective | None = None,
) -> History:
    """Train `model` in place on data.train_x (N, 28, 28) uint8; returns the History (floats only)."""
    # 1. Check inputs and pick the device
    check_config(config)
    objective = objective or classification_objective
    device = pick_device(config.device)
    train_x, train_y, test_x, test_y = on_device(data, device)
    n = config.train_subset
    train_x, train_y = train_x[:n], train_y[:n]

    # 2. Model, optimizer, schedule
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    # channels_last: cuDNN's fast path, and oneDNN's on the CPU too (two_layer_cnn trains ~35% faster
    # on 2 cores). The model is handed back in the usual layout at the end.
    model.to(device, memory_format=torch.channels_last)
    torch.manual_seed(config.seed)  # dropout masks (the batch order has its own generator below)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(model, config)
    net = with_precision(model, config.precision, device)  # the model, forward under autocast if asked
    per_epoch = steps_per_epoch(n, config.batch_size)
    total_steps = per_epoch * config.epochs
    scheduler = None
    if config.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    scaler = torch.amp.GradScaler(
        device.type, enabled=autocast_dtype(config.precision, device) == torch.float16
    )

    history = History(config=asdict(config), device=str(device))
    start = time.perf_counter()
    eval_seconds = 0.0
    step = 0
    # running sums on the device, read back once per report (no .item() per batch)
    window: dict[str, torch.Tensor] = {}
    window_steps = 0
    epoch_sums: dict[str, torch.Tensor] = {}

    def evaluate_now(epoch_progress: float) -> dict[str, float]:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        metrics = _evaluate_tensors(
            net, test_x[: config.eval_subset], test_y[: config.eval_subset], objective
        )
        net.train()
        eval_seconds += time.perf_counter() - t0
        record = {
            "step": float(step),
            "epoch": epoch_progress,
            **{f"test_{k}": v for k, v in metrics.items()},
        }
        history.evals.append(record)
        return record

    def report(epoch: int, done: int, last: bool) -> None:
        """One progress record: means over the steps since the last one (one sync), maybe a test point."""
        nonlocal window, window_steps
        names = list(window)
        values = torch.stack([window[k] for k in names]).div(window_steps).tolist()  # one sync
        record = {
            "step": float(step),
            "epoch": epoch + done / per_epoch,
            **dict(zip(names, values, strict=False)),
            "lr": float(optimizer.param_groups[0]["lr"]),
            "time": time.perf_counter() - start - eval_seconds,
            "progress": step / total_steps,
            "images": float(history.images),
        }
        window, window_steps = {}, 0
        if config.eval_every and step % config.eval_every == 0 and not last:
            record.update({k: v for k, v in evaluate_now(record["epoch"]).items() if k.startswith("test_")})
        history.steps.append(record)
        if on_step is not None:
            on_step(record)

    # 3. The training loop (on CUDA, full batches replay one captured graph: forward + backward)
    net.train()
    size = min(config.batch_size, n)
    graph = graphed_step(model, net, objective, config, train_x[:size], train_y[:size])
    history.cuda_graph = graph is not None
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator).to(device)
        epoch_sums = {}
        for i in range(per_epoch):
            if should_stop is not None and should_stop():
                history.stopped = True
                if window_steps:  # steps since the last report are reported too: a stop keeps them
                    report(epoch, i, last=False)
                break
            idx = order[i * config.batch_size : (i + 1) * config.batch_size]
            if graph is not None and len(idx) == size:
                loss, metrics = graph.step(train_x, train_y, idx)  # .grad refilled in place
            else:
                x, y = train_x[idx], train_y[idx]  # (B, 28, 28) uint8, (B,)
                loss, metrics = objective(net, x, y)  # the forward in mixed precision, the loss in fp32
                optimizer.zero_grad(set_to_none=graph is None)  # keep the graph's .grad tensors
                scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            step += 1
            history.images += len(idx)
            for k, v in (("loss", loss), *metrics.items()):
                v = v.detach().float()
                window[k] = window[k] + v if k in window else v
                epoch_sums[k] = epoch_sums[k] + v if k in epoch_sums else v
            window_steps += 1
            if step % config.log_every == 0 or i == per_epoch - 1:
                report(epoch, i + 1, last=i == per_epoch - 1)

        # 4. End of the epoch (or of a stopped run): evaluate, report
        seen = i + (0 if history.stopped else 1)
        if seen == 0 and history.stopped:
            break
        names = list(epoch_sums)
        values = torch.stack([epoch_sums[k] for k in names]).div(seen).tolist()
        progress = epoch + seen / per_epoch
        final = history.stopped or epoch == config.epochs - 1
        test = evaluate_now(progress) if config.final_eval or not final else {}
        record = {
            "epoch": progress,
            **dict(zip(names, values, strict=False)),
            **{k: v for k, v in test.items() if k.startswith("test_")},
            "time": time.perf_counter() - start - eval_seconds,
        }
        history.epochs.append(record)
        if test and history.steps and history.steps[-1]["step"] == step:  # the last step gets the test point
            history.steps[-1].update({k: v for k, v in test.items() if k.startswith("test_")})
        if on_epoch is not None:
            on_epoch(record)
        if history.stopped:
            break

    if device.type == "cuda":
        torch.cuda.synchronize()
    history.wall = time.perf_counter() - start
    model.to(memory_format=torch.contiguous_format)
    history.elapsed = history.wall - eval_seconds
    model.zero_grad(set_to_none=True)  # frees the graph's gradient memory too
    model.eval()
    return history


# --- evaluation -----------------------------------------------------------------------------------


@torch.no_grad()
def _evaluate_tensors(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, objective: Objective, batch_size: int = 1000
) -> dict[str, float]:
    """Mean loss and metrics over x (N, 28, 28) uint8 on the model's device, weighted by batch size."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        loss, metrics = objective(model, xb, yb)
        for k, v in (("loss", loss), *metrics.items()):
            v = v.detach().float() * len(xb)
            sums[k] = sums[k] + v if k in sums else v
    names = list(sums)
    values = torch.stack([sums[k] for k in names]).div(len(x)).tolist()
    return dict(zip(names, values, strict=False))


def evaluate(
    model: nn.Module,
    data: Dataset,
    objective: Objective | None = None,
    split: str = "test",
    limit: int | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> dict[str, float]:
    """Mean loss and metrics (e.g. {"loss", "acc"}) of `model` on the `split` ("test"|"train") images."""
    if split not in ("test", "train"):
        raise UserError(
            f"Unknown split '{split}'; use 'test' or 'train'.",
            f"未知的数据划分“{split}”；请用 test 或 train。",
        )
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    train_x, train_y, test_x, test_y = on_device(data, dev)
    x, y = (test_x, test_y) if split == "test" else (train_x, train_y)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    model.to(dev)
    was_training = model.training
    try:
        net = with_precision(model, precision, dev)
        return _evaluate_tensors(net, x, y, objective or classification_objective)
    finally:
        model.train(was_training)


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class probabilities (N, 10) on the CPU for x uint8 (N, 28, 28) (or (28, 28) for one image)."""
    x = torch.as_tensor(x)  # a numpy digit (the canvas) works too
    if x.dim() == 2:
        x = x.unsqueeze(0)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = [
            F.softmax(model(normalize(x[i : i + batch_size].to(dev))).float(), dim=1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """(classes, classes) int64 counts; row = true label, column = predicted label."""
    flat = y_true.long() * classes + y_pred.long()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def per_class_accuracy(matrix: torch.Tensor) -> torch.Tensor:
    """(classes,) accuracy per true class from a confusion matrix (diagonal / row sums)."""
    return matrix.diagonal().float() / matrix.sum(dim=1).clamp(min=1).float()


def misclassified(probs: torch.Tensor, y_true: torch.Tensor, k: int = 24) -> list[dict[str, float]]:
    """The `k` most confidently wrong predictions from probs (N, 10): index, true, predicted, confidence."""
    conf, pred = probs.max(dim=1)
    wrong = (pred != y_true).nonzero().flatten()
    top = wrong[conf[wrong].argsort(descending=True)][:k]
    return [
        {"index": int(i), "true": int(y_true[i]), "predicted": int(pred[i]), "confidence": float(conf[i])}
        for i in top
    ]


# --- a run as the trainer page keeps it -------------------------------------------------------------


@dataclass
class Run:
    """A trained model with what the page shows about it: config, History, test-set probabilities."""

    id: int
    model: nn.Module  # on the CPU, eval mode
    config: TrainConfig
    options: dict[str, Any]  # the model's options (dropout, batch_norm)
    probs: torch.Tensor  # (10000, 10) class probabilities on the test set
    test_acc: float  # on all 10,000 test images
    history: History | None = None  # None for weights loaded from a file
    init_seed: int | None = None  # the seed of the initial weights (None: loaded from a file)

    @property
    def label(self) -> str:
        return run_label(self.id, self.config)

    @property
    def stopped(self) -> bool:
        return self.history is not None and self.history.stopped

    @property
    def summary(self) -> dict[str, Any]:
        """What a finished run reports: test acc, epochs reached, training seconds, images/s, device (loaded
        from a file: its model and test acc)."""
        h = self.history
        if h is None:
            return {"model": self.config.model, "acc": self.test_acc}
        epoch = h.steps[-1]["epoch"] if h.steps else 0.0
        return {
            "acc": self.test_acc,
            "epoch": epoch,
            "time": h.elapsed,
            "ips": h.images_per_second,
            "device": h.device.upper(),
        }

    @property
    def meta(self) -> dict[str, Any]:
        """What the feature-map viewer reads of the trainer's latest run (session key `train.model_meta`)."""
        return {"name": self.config.model, "options": self.options, "test_acc": self.test_acc}


def run_label(run_id: int, config: TrainConfig) -> str:
    """How charts and tables name a run: "#2 two_layer_cnn · adam · lr 0.003"."""
    return f"#{run_id} {config.model} · {config.optimizer} · lr {config.lr:g}"


# The trainer page's short setting names (its URL keys, "train.<name>") -> TrainConfig fields.
PAGE_SETTINGS = {
    "arch": "model",
    "optimizer": "optimizer",
    "lr": "lr",
    "wd": "weight_decay",
    "batch": "batch_size",
    "epochs": "epochs",
    "subset": "train_subset",
    "schedule": "schedule",
}


def config_from_settings(settings: dict[str, Any], **fixed: Any) -> TrainConfig:
    """The page's settings by short name (PAGE_SETTINGS) -> a TrainConfig; each value cast to its type."""
    base = TrainConfig()
    values = {field: type(getattr(base, field))(settings[name]) for name, field in PAGE_SETTINGS.items()}
    return TrainConfig(**values, **fixed)


def page_run(settings: dict[str, Any], **fixed: Any) -> tuple[TrainConfig, dict[str, Any]]:
    """Train's click: the page's settings by short name (PAGE_SETTINGS, dropout, bn) -> (the run's checked
    TrainConfig at the live page's `cadence`, the model's options); UserError for a mistake (0 epochs...)."""
    config = config_from_settings(settings, **fixed)
    check_config(config)
    return cadence(config), options_for(config.model, settings["dropout"], settings["bn"])


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from a saved dict (a checkpoint's metadata); unknown keys are ignored."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})


def score_run(
    run_id: int,
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    options: dict[str, Any],
    history: History | None = None,
    init_seed: int | None = None,
) -> Run:
    """Probabilities on all test images -> a Run; the History's last point gets this exact test figure."""
    probs = predict_proba(model, data.test_x)  # (10000, 10)
    acc = float((probs.argmax(1) == data.test_y).float().mean())
    loss = float(F.nll_loss(probs.clamp_min(1e-12).log(), data.test_y))  # = cross-entropy of the logits
    if history is not None and history.steps:
        for record in (history.steps[-1], history.epochs[-1] if history.epochs else {}):
            record.update({"test_loss": loss, "test_acc": acc})
    return Run(run_id, model.cpu().eval(), config, dict(options), probs, acc, history, init_seed)


def train_run(
    run_id: int,
    data: Dataset,
    config: TrainConfig,
    options: dict[str, Any],
    same_init: bool = True,
    report: Callback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Run | None:
    """The trainer page's Train button: seeded model, `fit`, then the full test set (None: stopped at once).

    Initial weights come from config.seed (`same_init`: every run starts from the same point) or from
    config.seed + 1000·run_id. The full-test evaluation replaces fit's final one, so Stop answers fast.
    """
    init_seed = config.seed if same_init else config.seed + 1000 * run_id
    model = build_seeded(config.model, init_seed, **options)
    history = fit(model, data, replace(config, final_eval=False), on_step=report, should_stop=should_stop)
    if not history.steps:
        return None
    return score_run(run_id, model, data, config, options, history, init_seed)


def curve_points(runs: list[tuple[str, list[dict[str, float]]]]) -> list[dict[str, Any]]:
    """Long-format points {run, epoch, metric (loss|acc), split (train|test), value} from History steps."""
    keys = (
        ("loss", "train", "loss"),
        ("loss", "test", "test_loss"),
        ("acc", "train", "acc"),
        ("acc", "test", "test_acc"),
    )
    return [
        {"run": label, "epoch": r["epoch"], "metric": metric, "split": split, "value": r[key]}
        for label, steps in runs
        for r in steps
        for metric, split, key in keys
        if key in r
    ]


def cell_examples(
    probs: torch.Tensor, y_true: torch.Tensor, true: int, predicted: int, k: int = 16
) -> list[int]:
    """Indices of test images of digit `true` predicted as `predicted`, most confident first (at most k)."""
    pred = probs.argmax(dim=1)
    idx = ((y_true == true) & (pred == predicted)).nonzero().flatten()
    return idx[probs[idx, predicted].argsort(descending=True)][:k].tolist()


# --- what the trainer page offers and keeps (a notebook can use the same choices) -------------------

LRS: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
BATCH_SIZES: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
WEIGHT_DECAYS: tuple[float, ...] = (0.0, 1e-4, 5e-4, 1e-3, 1e-2)
MAX_RUNS = 4  # runs kept side by side; the oldest leaves


def subset_choices(limit: int | None = None) -> list[int]:
    """Training-subset sizes offered, up to `limit` (default: this server's LIMITS.max_train_subset)."""
    limit = LIMITS.max_train_subset if limit is None else limit
    return [n for n in (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000) if n <= limit]


def model_class(name: str) -> type[nn.Module]:
    """The class of course model `name` (what the page shows the source of), built on the meta device: no
    weights, and no draw from the global RNG, whose stream a running job's dropout masks are reading."""
    with torch.device("meta"):
        return type(build_model(name))


def layer_table(model: str, options: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The layer table shown before training: rows {layer, type, output_shape "8×26×26", params}, and the
    model's parameter count."""
    net = build_model(model, **options)
    rows = [{**r, "output_shape": "×".join(map(str, r["output_shape"]))} for r in summarize(net, (1, 28, 28))]
    return rows, count_parameters(net)


def option_defaults(model: str) -> dict[str, Any]:
    """The dropout and batch-norm settings a model starts from (0.0 and False where it has no such option)."""
    opts = model_options(model)
    return {"dropout": float(opts.get("dropout", 0.0)), "batch_norm": bool(opts.get("batch_norm", False))}


def options_for(model: str, dropout: float, batch_norm: bool) -> dict[str, Any]:
    """The page's dropout and batch-norm settings, keeping only the options `model` accepts."""
    allowed = model_options(model)
    return {
        k: v for k, v in {"dropout": float(dropout), "batch_norm": bool(batch_norm)}.items() if k in allowed
    }


def keep_run(runs: list[Run], run: Run, max_runs: int = MAX_RUNS) -> list[Run]:
    """`runs` with `run` appended, the oldest dropped beyond `max_runs`."""
    return [*runs, run][-max_runs:]


def digit_reader(runs: list[Run], new: Run, reader: int | None) -> int:
    """The run that reads drawn digits once `new` joined `runs`: `new`, except that a stopped run takes over
    only when it is picked (while the `reader` it would replace is still in `runs`)."""
    return reader if new.stopped and reader in [r.id for r in runs] else new.id


def find_run(runs: list[Run], run_id: int | None) -> Run | None:
    """The run numbered `run_id`, else the newest (a choice whose run has left the table), None if no run."""
    return next((r for r in runs if r.id == run_id), runs[-1] if runs else None)


def run_row(run: Run) -> dict[str, Any]:
    """One row of the run table: settings, images seen, test accuracy, training seconds ("—": loaded)."""
    c, h = run.config, run.history
    return {
        "run": f"#{run.id}",
        "model": c.model,
        "optimizer": c.optimizer,
        "lr": c.lr,
        "batch": c.batch_size,
        "epochs": c.epochs,
        "images": h.images if h else "—",
        "test_acc": f"{run.test_acc:.2%}",
        "time": round(h.elapsed, 1) if h else "—",
    }


def acc_floor(values: Any) -> float:
    """Bottom of an accuracy curve's axis: 2 points under the lowest value, never below 0."""
    return max(0.0, float(min(values)) - 0.02)


def run_checkpoint(run: Run) -> bytes:
    """The run's weights as safetensors, with its test accuracy and TrainConfig (read by `load_run`)."""
    return save_checkpoint(run.model, {"test_acc": run.test_acc, "config": asdict(run.config)})


def load_run(run_id: int, blob: bytes, data: Dataset) -> Run:
    """A Run from a safetensors checkpoint (never unpickled), scored on all test images of `data`."""
    model, meta = load_checkpoint(blob)
    config = config_from_dict({**(meta.get("config") or {}), "model": meta["model"]})
    return score_run(run_id, model, data, config, meta.get("options", {}))


@dataclass
class Diagnosis:
    """What the error drill-down charts show of one run, as plain numbers."""

    matrix: torch.Tensor  # (10, 10) int64 counts: row = true digit, column = predicted
    per_class: torch.Tensor  # (10,) accuracy per true digit
    floor: float  # bottom of the per-digit axis: 0, or just under the worst digit of a good model


def diagnose(probs: torch.Tensor, y_true: torch.Tensor) -> Diagnosis:
    """probs (N, 10) -> confusion matrix, accuracy per digit and where the per-digit axis starts."""
    matrix = confusion_matrix(y_true, probs.argmax(1))
    per_class = per_class_accuracy(matrix)
    worst = float(per_class.min())  # a good model zooms in: worst 0.985 -> the axis starts at 0.97
    return Diagnosis(matrix, per_class, 0.0 if worst < 0.9 else (int(worst * 100) - 1) / 100)


def gallery(
    probs: torch.Tensor, data: Dataset, cell: tuple[int, int] | None = None, k: int = 16
) -> list[dict[str, Any]]:
    """The k test images of `data` the drill-down shows: the (true, predicted) `cell`'s, else the most
    confident mistakes (probs (N, 10) on its test set).

    Each as {index, true, pred, conf (of pred), p_true}: what its caption says; and its image (28, 28) uint8.
    """
    y_true = data.test_y
    if cell is not None:
        shown = cell_examples(probs, y_true, *cell, k=k)
    else:
        shown = [w["index"] for w in misclassified(probs, y_true, k=k)]
    pred, conf = probs.argmax(1), probs.max(1).values
    return [
        {
            "index": i,
            "true": int(y_true[i]),
            "pred": int(pred[i]),
            "conf": float(conf[i]),
            "p_true": float(probs[i, y_true[i]]),
            "image": data.test_x[i].numpy(),
        }
        for i in shown
    ]
