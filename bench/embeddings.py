"""How long a t-SNE map of one layer takes, beside plain scikit-learn t-SNE on the raw features.

Goal (issue #5): t-SNE of 2,000 points in at most 10 s on 2 cores. The features are real: the
`pool2` layer (32·7·7 = 1568 values per image) of the slides' CNN for the first N MNIST test images,
after a short real training run (so the classes are there to be found).

- ours:      core.features.embed(method="tsne"): PCA to 50 dims, init="pca", 500 iterations, 1 thread
- ours, all threads: the same on every core (fast on an idle machine, slow on a busy shared one)
- reference: sklearn.manifold.TSNE(init="pca") on the raw 1568-dim features, its defaults (1000 iterations)

Quality check beside the times: the accuracy of a 5-nearest-neighbour vote in the 2-D map (how well
the map keeps the digits apart), which should not drop for the faster settings.

    .venv/bin/python bench/embeddings.py            # N=2000
    .venv/bin/python bench/embeddings.py --n 1000 --train 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def knn_accuracy(xy: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN vote accuracy in the 2-D map."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k + 1).fit(xy, labels)
    idx = knn.kneighbors(xy, return_distance=False)[:, 1:]  # drop the point itself
    votes = np.array([np.bincount(labels[row], minlength=10).argmax() for row in idx])
    return float((votes == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="test images to embed")
    parser.add_argument("--train", type=int, default=5000, help="training images for the model")
    parser.add_argument("--perplexity", type=float, default=30.0)
    args = parser.parse_args()

    import torch
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    from core import data, features
    from core.models import build_seeded
    from core.train import TrainConfig, fit

    mnist = data.load("mnist")
    model = build_seeded("slides_cnn", 0)
    config = TrainConfig(model="slides_cnn", epochs=1, train_subset=args.train, batch_size=64, device="cpu")
    fit(model, mnist, config)
    model.eval()
    start = time.perf_counter()
    feats = features.layer_features(model, mnist.test_x[: args.n], ["pool2"])["pool2"]
    extract_s = time.perf_counter() - start
    labels = mnist.test_y[: args.n].numpy()
    cores = os.cpu_count() or 1
    print(
        f"features: pool2 of slides_cnn, {feats.shape[0]} × {feats.shape[1]} in {extract_s:.2f} s; "
        f"{cores} cores, {torch.get_num_threads()} torch threads; load average {os.getloadavg()[0]:.1f}"
    )

    rows = []
    start = time.perf_counter()
    xy = features.embed(feats, "pca")
    rows.append(("ours: PCA", time.perf_counter() - start, knn_accuracy(xy, labels)))
    for threads in (1, cores):
        start = time.perf_counter()
        xy = features.embed(feats, "tsne", perplexity=args.perplexity, threads=threads)
        seconds = time.perf_counter() - start
        rows.append((f"ours: t-SNE, {threads} thread(s)", seconds, knn_accuracy(xy, labels)))
    start = time.perf_counter()
    with threadpool_limits(cores):
        xy = TSNE(n_components=2, perplexity=args.perplexity, init="pca", random_state=0).fit_transform(feats)
    seconds = time.perf_counter() - start
    rows.append(("reference: sklearn TSNE on raw features", seconds, knn_accuracy(xy, labels)))

    print(f"\n{'method':44s} {'seconds':>8s} {'5-NN acc in 2-D':>16s}")
    for name, seconds, acc in rows:
        print(f"{name:44s} {seconds:8.2f} {acc:16.3f}")
    best = min(s for name, s, _ in rows if name.startswith("ours: t-SNE"))
    ref = rows[-1][1]
    print(
        f"\nt-SNE of {args.n} points: {best:.1f} s (goal ≤ 10 s on an idle 2-core machine), "
        f"{ref / best:.1f}× faster than the reference"
    )


if __name__ == "__main__":
    main()
