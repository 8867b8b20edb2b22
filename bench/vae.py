"""VAE benchmark: our conv VAE (z = 20) trained through core.train.fit, beside a reference loop written like
pytorch/examples' vae/main.py (its MLP VAE 784-400-20, DataLoader, batch 128, Adam 1e-3), same machine
and run.

Goal (issue #6): test loss ≤ 105 nats per image within 10 epochs on full MNIST; epoch times side by side.

    python bench/vae.py                      # 10 epochs of both on full MNIST
    python bench/vae.py --epochs 2 --subset 20000   # a shorter run (say so when you quote it)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import data as core_data  # noqa: E402
from core import vae_training as vt  # noqa: E402
from core.models.vae import VAEConfig  # noqa: E402
from core.train import evaluate  # noqa: E402

GOAL_NATS = 105.0


# --- the reference, as in pytorch/examples vae/main.py ---------------------------------------------


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def reference_train(model, device, loader, optimizer):
    model.train()
    train_loss = 0.0
    for data, _ in loader:
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = reference_loss(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(loader.dataset)


def reference_test(model, device, loader):
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for data, _ in loader:
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += reference_loss(recon_batch, data, mu, logvar).item()
    return test_loss / len(loader.dataset)


def run_reference(ds, epochs: int, subset: int, device: torch.device, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    # transforms.ToTensor() on MNIST gives (1, 28, 28) floats in [0, 1]: the same tensors, made up front
    train = TensorDataset(ds.train_x[:subset].float().div(255).unsqueeze(1), ds.train_y[:subset])
    test = TensorDataset(ds.test_x.float().div(255).unsqueeze(1), ds.test_y)
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    test_loader = DataLoader(test, batch_size=128, shuffle=False)
    model = ReferenceVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times, test_loss = [], float("nan")
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        reference_train(model, device, train_loader, optimizer)
        times.append(time.perf_counter() - start)
        test_loss = reference_test(model, device, test_loader)
        print(f"  reference epoch {epoch}: test loss {test_loss:.1f} nats, {times[-1]:.1f} s", flush=True)
    return {"test_loss": test_loss, "epoch_s": sum(times) / len(times)}


# --- ours --------------------------------------------------------------------------------------------


def run_ours(ds, epochs: int, subset: int, device: torch.device, seed: int, z: int) -> dict[str, float]:
    # the page's settings (vt.DEFAULT_TRAIN: Adam 1e-3, batch 128, constant rate, as pytorch/examples)
    config = replace(vt.DEFAULT_TRAIN, epochs=epochs, train_subset=subset, seed=seed, device=device.type)
    model, history = vt.train_vae(
        ds,
        VAEConfig(z_dim=z),
        config,
        on_epoch=lambda r: print(
            f"  ours epoch {r['epoch']:.0f}: test loss {r['test_loss']:.1f} nats "
            f"(recon {r['test_recon']:.1f} + KL {r['test_kl']:.1f}), "
            f"{r['time']:.1f} s cumulative",
            flush=True,
        ),
    )
    final = evaluate(model, ds, objective=vt.vae_objective(1.0), device=device)
    return {
        "test_loss": final["loss"],
        "recon": final["recon"],
        "kl": final["kl"],
        "epoch_s": history.elapsed / max(1, len(history.epochs)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--subset", type=int, default=60_000, help="training images per epoch")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--z", type=int, default=20, help="latent size (the page's default is 8)")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()

    from core.device import describe, pick_device

    device = pick_device(args.device)
    ds = core_data.load("mnist")
    print(
        f"VAE benchmark: z = {args.z}, {args.epochs} epoch(s) on {args.subset} MNIST training images, "
        f"test on 10000; device {describe(device).name}; torch {torch.__version__}"
    )
    ours = run_ours(ds, args.epochs, args.subset, device, args.seed, args.z)
    ref = None if args.skip_reference else run_reference(ds, args.epochs, args.subset, device, args.seed)

    print()
    print(f"{'':34s}{'test loss (nats/image)':>24s}{'s per epoch':>14s}")
    print(f"{'ours: conv VAE via core.train.fit':34s}{ours['test_loss']:>24.1f}{ours['epoch_s']:>14.1f}")
    if ref:
        print(f"{'reference: pytorch/examples MLP':34s}{ref['test_loss']:>24.1f}{ref['epoch_s']:>14.1f}")
    verdict = "MET" if ours["test_loss"] <= GOAL_NATS else "not met"
    shorter = "" if (args.epochs, args.subset) == (10, 60_000) else " (a shorter run than the goal's)"
    print(f"ours = reconstruction {ours['recon']:.1f} + KL {ours['kl']:.1f}")
    print(f"goal: ≤ {GOAL_NATS:.0f} nats within 10 epochs on full MNIST: {verdict}{shorter}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
