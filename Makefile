# The user's verbs (DESIGN §1). Every target installs what it needs first, pinned.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MLOPS := $(VENV)/bin/mlops
# The XGBoost 3.0-5 image's Python 3.10 and packages: the local mode trains and serves in it.
CONTAINER_VENV := .venv-container
CDK := node_modules/.bin/cdk
# Node 20 works for synth; silence jsii's end-of-life banner (the workflows use Node 22).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true
export CDK_CLI_TELEMETRY := false
CDK_FLAGS ?=
PYTEST_FLAGS ?=

.PHONY: install container-env demo test lint synth diff deploy destroy test-endpoint monitor bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

container-env: $(CONTAINER_VENV)/.installed

$(CONTAINER_VENV)/.installed: container/requirements.txt scripts/container_env.sh
	bash scripts/container_env.sh

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: install container-env
	$(MLOPS) demo

test: install container-env lint
	$(PY) -m pytest $(PYTEST_FLAGS)

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

synth: install
	$(CDK) synth --quiet $(CDK_FLAGS)

diff: install
	$(CDK) diff $(CDK_FLAGS)

deploy: install
	$(CDK) deploy --all --require-approval never $(CDK_FLAGS)

destroy: install
	$(CDK) destroy --all --force $(CDK_FLAGS)

test-endpoint: install
	$(MLOPS) test-endpoint

monitor: install
	$(MLOPS) monitor

bench: install container-env
	$(PY) bench/inference_bench.py
	$(PY) bench/drift_bench.py

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache demo-output
