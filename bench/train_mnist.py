"""Benchmark: core.train vs a reference loop written the way pytorch/examples' mnist does it.

Both train the same model (two_layer_cnn, same initial weights) on full MNIST. Printed for both:
images per second, and the training wall time until test accuracy first reaches 98.5% (checked every
1/10 epoch on the full test set; evaluation time is not counted for either).

    .venv/bin/python bench/train_mnist.py            # full run (minutes on a CPU)
    .venv/bin/python bench/train_mnist.py --dry-run  # a few batches of each, to check it runs
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import data as core_data  # noqa: E402
from core.device import describe, pick_device  # noqa: E402
from core.models import build_seeded  # noqa: E402
from core.train import TrainConfig, cadence, evaluate, fit, option_defaults, train_run  # noqa: E402

TARGET = 0.985


class PILMNIST(torch.utils.data.Dataset):
    """torchvision.datasets.MNIST's behaviour: one PIL image per item, transformed on access."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        from PIL import Image

        self.images = [Image.fromarray(x.numpy(), mode="L") for x in images]
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.labels[i]


def reference(ds: core_data.Dataset, device: torch.device, max_epochs: int, dry_run: bool) -> dict:
    """pytorch/examples mnist: DataLoader of PIL images, ToTensor + Normalize, batch 64, Adam 1e-3."""
    from torchvision import transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = PILMNIST(ds.train_x, ds.train_y, transform)
    test = PILMNIST(ds.test_x, ds.test_y, transform)
    loader = torch.utils.data.DataLoader(
        train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    test_loader = torch.utils.data.DataLoader(test, batch_size=1000)
    model = build_seeded("two_layer_cnn", 0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    check_every = max(1, len(loader) // 10)
    trained, images, reached, acc = 0.0, 0, None, 0.0
    for _epoch in range(max_epochs):
        model.train()
        start = time.perf_counter()
        for i, (x, y) in enumerate(loader):
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            images += len(x)
            if (i + 1) % check_every == 0 or dry_run:
                trained += time.perf_counter() - start
                acc = test_accuracy(model, test_loader, device, limit_batches=1 if dry_run else None)
                model.train()
                if acc >= TARGET and reached is None:
                    reached = trained
                start = time.perf_counter()
            if reached is not None or (dry_run and i >= 4):
                break
        trained += time.perf_counter() - start
        if reached is not None or dry_run:
            break
    return {"images_per_s": images / trained, "time_to_target": reached, "last_acc": acc}


@torch.no_grad()
def test_accuracy(model, loader, device, limit_batches=None) -> float:
    model.eval()
    correct = total = 0
    for i, (x, y) in enumerate(loader):
        pred = model(x.to(device)).argmax(1).cpu()
        correct += int((pred == y).sum())
        total += len(y)
        if limit_batches and i + 1 >= limit_batches:
            break
    return correct / total


def ours(ds: core_data.Dataset, device: torch.device, max_epochs: int, dry_run: bool) -> dict:
    """core.train with the page's default settings (Adam, OneCycle, lr 3e-3, batch 128).

    Its recipe is one epoch (OneCycle anneals over the run, so a longer run reaches 98.5% later);
    the reference keeps going up to --max-epochs until it gets there.
    """
    config = TrainConfig(
        device=device.type,
        epochs=1 if dry_run else min(max_epochs, 1),
        train_subset=1280 if dry_run else 60_000,
    )
    steps_per_epoch = config.train_subset // config.batch_size
    config.eval_every = max(1, steps_per_epoch // 10)
    config.log_every = config.eval_every
    config.eval_subset = 1000 if dry_run else 10_000
    model = build_seeded("two_layer_cnn", 0)
    history = fit(model, ds, config)
    reached = next((r["time"] for r in history.steps if r.get("test_acc", 0) >= TARGET), None)
    return {
        "images_per_s": history.images_per_second,
        "time_to_target": reached,
        "last_acc": evaluate(model, ds)["acc"] if not dry_run else history.epochs[-1]["test_acc"],
    }


RECIPES = (  # (batch, peak lr, epochs): Adam + OneCycle, two_layer_cnn as on the page
    (128, 3e-3, 2),
    (256, 5e-3, 2),
    (256, 1e-2, 3),
    (512, 1e-2, 2),
    (512, 1e-2, 3),
    (1024, 2e-2, 4),
)


def time_to(
    ds: core_data.Dataset, config: TrainConfig, target: float, seed: int
) -> tuple[float | None, float, bool]:
    """(training seconds until the full test set first reaches `target`, final accuracy, CUDA graph used)."""
    per_epoch = config.train_subset // config.batch_size
    config = replace(config, seed=seed, eval_every=max(1, per_epoch // 10), eval_subset=10_000)
    config.log_every = config.eval_every
    history = fit(build_seeded("two_layer_cnn", seed), ds, config)
    points = [*history.steps, *history.epochs]
    reached = min((r["time"] for r in points if r.get("test_acc", 0) >= target), default=None)
    return reached, history.epochs[-1]["test_acc"], history.cuda_graph


def gpu_lines(ds: core_data.Dataset, seeds: int) -> None:
    """The GPU goals: 99.0% in <= 0.5 s of training (recipes swept), the page's default run <= 2 s."""
    print(
        "GPU recipes to 99.0% (training time; the full test set checked every 1/10 epoch; "
        f"seeds 0-{seeds - 1}):"
    )
    best = None
    for batch, lr, epochs in RECIPES:
        config = TrainConfig(device="cuda", batch_size=batch, lr=lr, epochs=epochs)
        results = [time_to(ds, config, 0.99, seed) for seed in range(seeds)]
        times = [r[0] for r in results]
        accs = ", ".join(f"{r[1]:.2%}" for r in results)
        shown = ", ".join(f"{t:.2f} s" if t is not None else "not reached" for t in times)
        print(f"  batch {batch:4d} lr {lr:g} {epochs} epochs: {shown}   final {accs}   graph {results[0][2]}")
        if all(t is not None for t in times):
            worst = max(times)
            if best is None or worst < best[0]:
                best = (worst, batch, lr, epochs)
    if best is None:
        print("GPU goal (99.0% in <= 0.5 s): no recipe reached 99.0% on every seed")
    else:
        verdict = "met" if best[0] <= 0.5 else "not met"
        print(
            f"GPU goal (99.0% in <= 0.5 s): {best[0]:.2f} s, slowest seed of the best recipe "
            f"(batch {best[1]}, lr {best[2]:g}, {best[3]} epochs): {verdict}"
        )
    # the page's default run, as the Train button runs it: progress reports, test points, full test set
    for graph in (True, False):
        config = cadence(TrainConfig(device="cuda", cuda_graph=graph))
        start = time.perf_counter()
        run = train_run(1, ds, config, option_defaults("two_layer_cnn"), report=lambda r: None)
        wall = time.perf_counter() - start
        label = "page default run" + ("" if graph else " without the CUDA graph (reference)")
        print(
            f"{label}: {wall:.2f} s from click to scored, evaluation included; "
            f"test accuracy {run.test_acc:.2%}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per GPU recipe")
    parser.add_argument("--dry-run", action="store_true", help="a few batches of each, to check it runs")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    info = describe(device)
    print(f"device: {info.kind} ({info.name}); torch {torch.__version__}, {torch.get_num_threads()} threads")
    ds = core_data.load("mnist")
    if device.type == "cuda":  # both sides warmed up first: CUDA context, cuDNN autotuning, allocations
        ours(ds, device, 1, dry_run=True)
        reference(ds, device, 1, dry_run=True)
    results = {}
    for name, fn in (("core.train", ours), ("reference (pytorch/examples style)", reference)):
        results[name] = fn(ds, device, args.max_epochs, args.dry_run)
        r = results[name]
        reached = f"{r['time_to_target']:.2f} s" if r["time_to_target"] is not None else "not reached"
        print(
            f"{name:36s} {r['images_per_s']:8,.0f} images/s   time to {TARGET:.1%}: {reached:>12s}   "
            f"final test accuracy {r['last_acc']:.2%}",
            flush=True,
        )
    a, b = results["core.train"], results["reference (pytorch/examples style)"]
    print(f"throughput ratio (core.train / reference): {a['images_per_s'] / b['images_per_s']:.1f}x")
    if a["time_to_target"] and b["time_to_target"]:
        print(
            f"time-to-{TARGET:.1%} ratio (reference / core.train): "
            f"{b['time_to_target'] / a['time_to_target']:.1f}x"
            f"  (goal: >= 3x on 2 CPU cores, >= 10x on a GPU)"
        )
    if device.type != "cuda":
        print("GPU goal (two_layer_cnn to 99.0% in <= 0.5 s of training): not measured, no CUDA device here.")
    elif not args.dry_run:
        gpu_lines(ds, args.seeds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
