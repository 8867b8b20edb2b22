"""Regenerate the bundled input: `python assets/sd/make_sketch.py` (drawn by code, so license-clean)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from core.diffusion import make_mountain_sketch  # noqa: E402

if __name__ == "__main__":
    make_mountain_sketch().save(HERE / "mountain_sketch.png", optimize=True)
    print(HERE / "mountain_sketch.png")
