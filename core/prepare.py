"""`make prepare`: fill the caches before class, so the lesson needs no network.

Each page that needs something cached adds a step to STEPS (a name and a function). A step that
cannot run here (no network for a download, say) prints why and the rest go on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def _datasets() -> str:
    from core import data

    lines = []
    for name in data.NAMES:
        ds = data.load(name)
        lines.append(
            f"{name}: {tuple(ds.train_x.shape)} train, {tuple(ds.test_x.shape)} test, from {ds.source}"
        )
    return "; ".join(lines) + f" (cache: {data.data_dir()})"


def _vae_checkpoints() -> str:
    import os

    from core import vae_training

    # The page's default (z = 8) and the latent-plane model (z = 2), 5 epochs each on all of MNIST
    # (~105 nats; about 4 minutes each on 2 CPU cores, seconds on a GPU). A better cached one is kept.
    epochs = int(os.environ.get("VAE_PREPARE_EPOCHS", vae_training.PREPARE_EPOCHS))
    return vae_training.prepare_defaults(epochs=epochs)


def _feature_model() -> str:
    from core import features
    from core.checkpoint import read_metadata

    # The feature-map page's quick default (slides_cnn, seed 0), so the page opens with a trained model.
    path = features.quick_path("slides_cnn", 0)
    if not path.exists():
        features.quick_work("slides_cnn", 0)(lambda record: None, lambda: False)
    return f"slides_cnn: test accuracy {read_metadata(path.read_bytes())['test_acc']:.1%} ({path})"


def _sd_weights() -> str:
    from core import diffusion

    # Stable Diffusion 1.5's diffusers files (~5 GB) into the Hugging Face cache; SD_MODEL picks another.
    return diffusion.download_weights()


def _ddpm_checkpoint() -> str:
    from core import ddpm

    # The MNIST diffusion page's default model (class-conditional DDPM): minutes on 2 cores, seconds on a GPU.
    return ddpm.prepare_default()


STEPS: list[tuple[str, Callable[[], str]]] = [
    ("datasets", _datasets),
    ("vae checkpoints", _vae_checkpoints),
    ("feature-map quick model", _feature_model),
    ("stable diffusion weights", _sd_weights),
    ("mnist diffusion checkpoint", _ddpm_checkpoint),
]


def main() -> int:
    failed = 0
    for name, step in STEPS:
        start = time.monotonic()
        try:
            print(f"[prepare] {name}: {step()} ({time.monotonic() - start:.1f} s)")
        except Exception as err:  # report and carry on: one missing piece should not stop the rest
            failed += 1
            print(f"[prepare] {name}: NOT READY: {err}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
