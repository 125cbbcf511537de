# The user's verbs. Every target installs what it needs first, from lock files:
# uv.lock (the project, its dev tools, checkov and Evidently) and package-lock.json (the CDK CLI).
# Only Python (3.11-3.13, PYTHON=...) and Node are needed to start; uv itself comes from PyPI.
SHELL := /bin/bash
PYTHON ?= python3
PYTHON_TAG := $(subst /,_,$(PYTHON))
VENV := .venv
PY := $(VENV)/bin/python
MLOPS := $(VENV)/bin/mlops
# The XGBoost 3.0-5 image's Python 3.10 and packages: the local mode trains and serves in it.
CONTAINER_VENV := .venv-container
CDK := node_modules/.bin/cdk
UV_VERSION := 0.13.8
UV_HOME := .uv
export UV := $(CURDIR)/$(UV_HOME)/bin/uv
# uv.lock holds the tool environments as conflicting workspace members, a preview feature of uv
# (pinned above, so its behaviour cannot change under us).
export UV_PREVIEW_FEATURES := package-conflicts
export CDK_DISABLE_VERSION_CHECK := true
export CDK_CLI_TELEMETRY := false
CDK_FLAGS ?=
# Two workers: the suite is mostly waiting on subprocesses (synth, training, the model container).
PYTEST_FLAGS ?= -n 2

.PHONY: install container-env demo test lint synth diff deploy destroy test-endpoint monitor bench clean

install: $(VENV)/.installed-$(PYTHON_TAG) node_modules/.installed

$(UV):
	@echo "installing uv $(UV_VERSION) into $(UV_HOME)/"
	python3 -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --disable-pip-version-check --progress-bar on uv==$(UV_VERSION)

# The stamp names the interpreter asked for: `make test PYTHON=python3.13` rebuilds the environment.
$(VENV)/.installed-$(PYTHON_TAG): pyproject.toml uv.lock tools/checkov/pyproject.toml tools/evidently/pyproject.toml | $(UV)
	$(UV) sync --locked --python "$$(scripts/find_python.sh $(PYTHON))"
	@rm -f $(VENV)/.installed-*
	@touch $@

container-env: $(CONTAINER_VENV)/.installed

$(CONTAINER_VENV)/.installed: container/requirements.txt scripts/container_env.sh | $(UV)
	bash scripts/container_env.sh

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
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
	$(PY) bench/dataset_bench.py

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache demo-output
