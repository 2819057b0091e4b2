# driftgate: two commands to start (`make demo`, `make test`); `make install` is the shared first step.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,22
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo lint test synth bench clean

install: $(VENV)/.installed node_modules/.installed

# Pinned Python dependencies, then our package in editable mode. Re-runs only when the lock or
# pyproject changes. uv (from PyPI, pinned) installs the lock: about 10 s against pip's 90 s. uv does
# not read pip's configuration, so pip's find-links (where a machine keeps wheels such as torch
# 2.13.0's CPU build) are handed to it; without them torch comes from PyPI like any other package.
UV_VERSION := 0.13.9
FIND_LINKS = $(strip $(PIP_FIND_LINKS) $(shell $(PY) -m pip config get global.find-links 2>/dev/null))
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PY) $(addprefix --find-links ,$(FIND_LINKS)) -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The CDK CLI, pinned in package-lock.json, installed into the repo (never globally).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(VENV)/bin/driftgate demo

# Lint and import order (ruff) on all our Python, types (mypy) on what is deployed: functions/,
# finetune/ and infra/. Settings in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check functions finetune infra driftgate benchmarks tests
	$(VENV)/bin/mypy

# Two workers (CI has two cores); a test module stays on one worker, as its fixtures expect.
TEST_WORKERS ?= 2
# One BLAS/OpenMP thread per worker and per training job it starts: two workers already fill two
# cores, and oversubscribed OpenMP threads spin instead of working.
test: install lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

synth: install
	npx cdk synth --quiet

# The drift benchmark compares with Alibi Detect and Evidently, installed only here, in a venv of
# their own (alibi-detect pins numpy<2 and is under the Business Source License).
BENCH_VENV := .bench-venv
$(BENCH_VENV)/.installed: benchmarks/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet torch==2.13.0
	$(BENCH_VENV)/bin/pip install --quiet -r benchmarks/requirements-peers.txt
	touch $@

bench: install $(BENCH_VENV)/.installed
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) node_modules cdk.out .driftgate .mypy_cache .ruff_cache
