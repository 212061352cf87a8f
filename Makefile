# wakeforge — `make help` lists the targets.
SHELL := /bin/bash
PY_BOOT ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A config file for the wake-train* targets: an openWakeWord-style flat YAML
# (conf/examples/example_config.yaml) or a Hydra experiment file; empty = the defaults.
CONFIG ?=
ARGS ?=
export WANDB_MODE ?= offline
export DVC_NO_ANALYTICS := 1
export HYDRA_FULL_ERROR ?= 0

# Container image (the image targets are the only ones that need Docker).
DOCKER ?= docker
IMAGE_NAME ?= wakeforge-trainer
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE := $(IMAGE_NAME):$(IMAGE_TAG)
# push-wake-trainer-image tags $(IMAGE) as $(REGISTRY)/$(IMAGE_NAME):$(IMAGE_TAG) and pushes it.
REGISTRY ?=
# RUN_IN=docker runs the wake-train* targets inside the image; GPUs are passed when nvidia-smi exists.
RUN_IN ?= local
DOCKER_GPUS ?= $(if $(shell command -v nvidia-smi 2>/dev/null),--gpus all,)

ifeq ($(RUN_IN),docker)
WAKE_PY := $(DOCKER) run --rm $(DOCKER_GPUS) --user "$$(id -u):$$(id -g)" -e WANDB_MODE \
	-v "$(CURDIR)/data:/workspace/data" -v "$(CURDIR)/logs:/workspace/logs" \
	$(if $(CONFIG),-v "$(abspath $(CONFIG)):/workspace/config/$(notdir $(CONFIG)):ro") \
	--entrypoint python $(IMAGE)
CONFIG_ARG := $(if $(CONFIG),'config_file=/workspace/config/$(notdir $(CONFIG))')
WAKE_DEPS :=
else
WAKE_PY := $(PY)
CONFIG_ARG := $(if $(CONFIG),'config_file=$(CONFIG)')
WAKE_DEPS := $(STAMP)
endif

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
	$(PY) -m wakeforge.train $(CONFIG_ARG) $(ARGS)

test: $(STAMP) ## run the fast test suite (unit + one end-to-end smoke run)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP) ## run the slow tests (full-size runs, benchmarks)
	$(PY) -m pytest -q -m slow $(ARGS)

# Real-recording benchmark: SUITE laid out like ../shared/realworld-dev, MODELS = files or names.
SUITE ?= ../shared/realworld-dev
MODELS ?= $(wildcard data/detection/*/*.onnx)
bench-real: $(STAMP) ## score MODELS on the real recordings in SUITE (recall, FA/hour, DET plots)
	@test -n "$(strip $(MODELS))" || { echo "error: no models; train one (make train) or pass MODELS=path/to/model.onnx"; exit 2; }
	$(PY) -m wakeforge.benchmark --suite $(SUITE) --model $(MODELS) $(ARGS)

personalize: $(STAMP) ## adapt MODEL to the household's RECORDINGS (a folder of takes of the phrase)
	@test -n "$(strip $(MODEL))" -a -n "$(strip $(RECORDINGS))" || { echo "error: pass MODEL=path/to/model.onnx RECORDINGS=folder_of_takes/"; exit 2; }
	$(PY) -m wakeforge.personalize --model $(MODEL) --recordings $(RECORDINGS) $(ARGS)

smoke: $(STAMP) ## tiny end-to-end run: synthesise, augment, train, export
	$(PY) -m wakeforge.train experiment=smoke $(ARGS)

# --- the seed tool's targets --------------------------------------------------------------

build-wake-trainer-image: ## build the training image (wakeforge-trainer:VERSION) if it is missing
	@$(DOCKER) image inspect $(IMAGE) >/dev/null 2>&1 && echo "$(IMAGE) exists (make build-wake-trainer-image-force rebuilds it)" \
	|| $(DOCKER) build -t $(IMAGE) .

build-wake-trainer-image-force: ## rebuild the training image from scratch
	$(DOCKER) build --pull --no-cache -t $(IMAGE) .

push-wake-trainer-image: ## push the image to REGISTRY (REGISTRY=ghcr.io/me IMAGE_TAG=0.1.0)
	@test -n "$(REGISTRY)" || { echo "error: set REGISTRY, e.g. make push-wake-trainer-image REGISTRY=ghcr.io/me"; exit 2; }
	$(DOCKER) tag $(IMAGE) $(REGISTRY)/$(IMAGE)
	$(DOCKER) push $(REGISTRY)/$(IMAGE)

extract-background-audio: $(STAMP) ## Parquet background audio -> data/training-data/background_clips/wav
	$(PY) -m wakeforge.augment.extract_background $(ARGS)

wake-train: $(WAKE_DEPS) ## all stages: generate -> augment -> train -> export (CONFIG=my_model.yaml)
	$(WAKE_PY) -m wakeforge.train $(CONFIG_ARG) $(ARGS)

wake-train-generate: $(WAKE_DEPS) ## stage 1: synthesise clips (CONFIG=my_model.yaml)
	$(WAKE_PY) -m wakeforge.generate $(CONFIG_ARG) $(ARGS)

wake-train-augment: $(WAKE_DEPS) ## stage 2: augment clips, compute features (CONFIG=my_model.yaml)
	$(WAKE_PY) -m wakeforge.augment $(CONFIG_ARG) $(ARGS)

wake-train-train: $(WAKE_DEPS) ## stage 3: train, export ONNX/TFLite (CONFIG=my_model.yaml)
	$(WAKE_PY) -m wakeforge.train 'stages=[train]' $(CONFIG_ARG) $(ARGS)

# --- DVC, linting --------------------------------------------------------------------------

params: $(STAMP) ## compose DVC's params.yaml from conf/ (+ CONFIG, ARGS overrides)
	$(PY) -m wakeforge.compat params $(CONFIG_ARG) $(ARGS)

params.yaml: # composed once when missing (make params recomposes it)
	$(PY) -m wakeforge.compat params $(CONFIG_ARG)

pipeline: $(STAMP) params.yaml ## DVC: rerun only the stages whose code, params or inputs changed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro $(ARGS)

lint-docker: $(STAMP) ## lint the Dockerfile with hadolint
	$(VENV)/bin/hadolint Dockerfile

.PHONY: help venv train test test-slow smoke bench-real personalize build-wake-trainer-image build-wake-trainer-image-force \
	push-wake-trainer-image extract-background-audio wake-train wake-train-generate \
	wake-train-augment wake-train-train params pipeline lint-docker
