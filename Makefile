# wakeforge — `make help` lists the targets.
SHELL := /bin/bash
PY_BOOT ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?=
ARGS ?=
export WANDB_MODE ?= offline
export DVC_NO_ANALYTICS := 1
export HYDRA_FULL_ERROR ?= 0

.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-32s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PY_BOOT) >/dev/null || { echo "error: $(PY_BOOT) not found; install Python 3.11 or pass PY_BOOT=/path/to/python3.11"; exit 2; }
	$(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP) ## create .venv from requirements.txt and install wakeforge (editable)

train: $(STAMP) ## train the default phrase ("hey jarvis") offline with embedded defaults
	$(PY) -m wakeforge.train $(ARGS)

test: $(STAMP) ## run the fast test suite (unit + one end-to-end smoke run)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP) ## run the slow tests (full-size runs, benchmarks)
	$(PY) -m pytest -q -m slow $(ARGS)

smoke: $(STAMP) ## tiny end-to-end run: synthesise, augment, train, export
	$(PY) -m wakeforge.train experiment=smoke $(ARGS)

.PHONY: help venv train test test-slow smoke
