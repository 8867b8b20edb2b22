"""No lost work: killing the server while it writes a checkpoint or cache leaves the previous good file.

A child process (forked, so it shares the already imported torch) writes a large checkpoint or the
dataset cache again and again through the app's own writers (core.storage.atomic_write_bytes,
core.checkpoint.save_checkpoint_file, core.data.save_npz_atomic); the parent SIGKILLs it in the
middle of a write, then loads the file.
Two kinds of kill:
- exactly between "all bytes written" and "renamed into place" (the child signals from inside
  os.fsync), the moment a non-atomic writer would leave half a file;
- at random moments of the write loop.
A control run with a naive `open(path, "wb").write(...)` writer shows the test can fail.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save

from core.checkpoint import load_checkpoint_file, save_checkpoint_file
from core.data import save_npz_atomic
from core.models import build_model
from core.storage import atomic_write_bytes

FORK = mp.get_context("fork")


def _weights(version: int, size_mb: int) -> dict[str, np.ndarray]:
    n = size_mb * 2**20 // 4
    return {
        "conv.weight": np.full(n // 2, version, np.float32),
        "fc.weight": np.full(n - n // 2, version, np.float32),
    }


def _writer(path: str, mode: str, pause: float, size_mb: int, conn, model) -> None:
    """The child: write version 1, 2, 3, ... forever, reporting each step through `conn`."""
    real_fsync = os.fsync

    def fsync_then_pause(fd: int) -> None:  # all bytes are in the temporary file, not yet renamed
        real_fsync(fd)
        conn.send(("IN_WRITE", version))
        time.sleep(pause)

    def naive_write(p: str, data: bytes) -> None:  # the control: what atomic_write_bytes prevents
        with open(p, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            conn.send(("IN_WRITE", version))
            time.sleep(pause)
            f.write(data[len(data) // 2 :])

    if pause > 0 and mode != "naive":
        os.fsync = fsync_then_pause
    torch.set_num_threads(1)
    version = 0
    while True:
        version += 1
        if mode == "checkpoint":
            atomic_write_bytes(path, save(_weights(version, size_mb)))
        elif mode == "model":  # the trainer's own writer: core.checkpoint.save_checkpoint_file
            for p in model.parameters():  # numpy, not torch ops: libgomp's thread pool is not fork-safe
                p.data = torch.from_numpy(np.full(tuple(p.shape), version, np.float32))
            save_checkpoint_file(path, model, {"version": version})
        elif mode == "cache":
            side = size_mb * 2**20 // 784
            save_npz_atomic(
                Path(path),
                {"train_x": np.full((side, 28, 28), version % 256, np.uint8), "version": np.array(version)},
            )
        else:
            naive_write(path, save(_weights(version, size_mb)))
        conn.send(("WROTE", version))


class Child:
    def __init__(self, path: Path, mode: str, pause: float = 0.0, size_mb: int = 16):
        self.conn, theirs = FORK.Pipe(duplex=False)
        model = build_model("convnet3") if mode == "model" else None  # built here: fork copies it
        self.proc = FORK.Process(
            target=_writer, args=(str(path), mode, pause, size_mb, theirs, model), daemon=True
        )
        self.proc.start()

    def wait_for(self, word: str, deadline_s: float = 60) -> int:
        """Block until the child reports `word`; returns the version it was writing."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.conn.poll(0.5):
                got, version = self.conn.recv()
                if got == word:
                    return version
            assert self.proc.is_alive(), f"the writer died on its own (exit code {self.proc.exitcode})"
        raise AssertionError(f"no {word!r} from the writer within {deadline_s} s")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(10)
        assert self.proc.exitcode == -signal.SIGKILL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)


def _checkpoint_version(path: Path) -> int:
    """Load the file like the app would; it must be whole and one single version throughout."""
    tensors = load_file(path)
    values = np.unique(np.concatenate([tensors["conv.weight"], tensors["fc.weight"]]))
    assert len(values) == 1, f"a mixture of versions: {values[:5]}"
    return int(values[0])


def _cache_version(path: Path) -> int:
    with np.load(path, allow_pickle=False) as f:  # as core.data._read_npz reads it
        version = int(f["version"])
        assert np.all(f["train_x"] == version % 256), "a mixture of versions"
    return version


def _model_version(path: Path) -> int:
    model, meta = load_checkpoint_file(path)  # exactly what the app does with a saved checkpoint
    values = torch.unique(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert values.tolist() == [meta["version"]], "a mixture of versions"
    return int(meta["version"])


def test_kill_between_write_and_rename_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(save(_weights(0, 16)))  # the student's previous good checkpoint
    previous = 0
    for _ in range(3):
        with Child(path, "checkpoint", pause=30.0) as child:
            child.wait_for("IN_WRITE")  # version 1's bytes are all on disk, under a temporary name
            child.kill()
        assert _checkpoint_version(path) == previous
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p != path)
    # Killed writers leave their temporary files (never read by anyone); the checkpoint is intact.
    assert leftovers and all(n.startswith(".model.safetensors.") and n.endswith(".tmp") for n in leftovers)


@pytest.mark.parametrize("mode", ["checkpoint", "model", "cache"])
def test_kill_at_random_moments_never_leaves_a_broken_file(tmp_path, mode):
    rng = random.Random(0)
    path = tmp_path / ("mnist.npz" if mode == "cache" else "model.safetensors")
    load = {"checkpoint": _checkpoint_version, "model": _model_version, "cache": _cache_version}[mode]
    versions = []
    for _ in range(5):
        with Child(path, mode, size_mb=16) as child:
            first = child.wait_for("WROTE")
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the following writes (~0.1 s each)
            child.kill()
        version = load(path)
        assert version >= first
        versions.append(version)
    print(f"{mode}: versions found after each kill: {versions}")


def test_control_a_naive_writer_killed_mid_write_leaves_a_broken_file(tmp_path):
    """Without the temporary file and rename the same kill destroys the checkpoint: the test can fail."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(save(_weights(0, 8)))
    with Child(path, "naive", pause=30.0, size_mb=8) as child:
        child.wait_for("IN_WRITE")
        child.kill()
    assert path.stat().st_size > 0
    with pytest.raises(Exception):  # noqa: B017 - any loader error is what we want to see here
        _checkpoint_version(path)


def test_atomic_files_get_the_usual_permissions(tmp_path):
    """A cache prepared by one account must be readable by the server's (mkstemp alone gives 0600)."""
    import os
    import stat

    from core.storage import atomic_write_bytes

    old = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "cache.bin", b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
