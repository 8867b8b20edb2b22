# On the GPU machine, in the repository root, carrying .whl and .gpu (see tools/gpu_wheels.sh):
#   source tools/gpu_env.sh && python3 bench/gpu_check.py
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site XDG_CACHE_HOME=$PWD/.gpu/cache MODEL_DIR=$PWD/.gpu/cache/dl-teaching-app \
            FORTUNES_DIR=$PWD/.gpu/fortunes OFFLINE=1 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
