"""Atomic writes: a checkpoint or cache file is either the old good one or the new good one, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; give the file the mode a plain open() would
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cache_dir(*parts: str) -> Path:
    """A folder under the app's cache (MODEL_DIR, else ~/.cache/dl-teaching-app/<parts>)."""
    base = os.environ.get("MODEL_DIR")
    root = (
        Path(base).expanduser()
        if base
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dl-teaching-app"
    )
    return root.joinpath(*parts)
