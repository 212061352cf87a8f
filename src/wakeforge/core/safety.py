"""Checks that make a config (or a config file from someone else) safe to run.

Called by :func:`wakeforge.pipeline.preflight.check_config` (so by ``python -m wakeforge.check`` and the first
step of every stage) and by :func:`wakeforge.core.hydra_cli.precheck_overrides`, which runs before Hydra
starts the job (before it configures logging or creates the run folder):

* **instantiation targets**: every ``_target_`` in the config, and the ``()``/``class`` factories
  of Hydra's logging config, must name a *class* under an allowed prefix
  (:data:`ALLOWED_TARGETS`). A config file with ``_target_: shutil.copyfile`` (or
  ``builtins.open``, ``os.system``, ...) is refused with one line naming the key, before
  anything is imported from it or run.
* **names that become paths**: ``model_name`` must be one safe path component (letters, digits,
  ``_``, ``-``, ``.``; not ``..``), so clips, features, checkpoints, model files and logs stay
  under ``output_dir`` and ``paths.log_dir``.
* **writable output folders**: each folder a stage writes to is probed by creating (and
  removing) a temporary file in it or in its nearest existing parent, which catches read-only
  mounts, immutable folders and a path under a file, also for ``root``.
* **usable RIRs**: an ``augmentation.rir_paths`` folder whose files all fail to decode is
  found before stage 1 starts, as for background folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

#: Prefixes a ``_target_`` may start with (it must also name a class, not a function).
ALLOWED_TARGETS = (
    "wakeforge.",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
    "lightning.pytorch.Trainer",
    "lightning.pytorch.trainer.Trainer",
    "lightning.pytorch.trainer.trainer.Trainer",
    # Hydra's own plugins (launchers, sweepers) and the Optuna samplers the sweeper builds.
    "hydra._internal.core_plugins.",
    "hydra_plugins.",
    "optuna.samplers.",
    "optuna.pruners.",
)
#: Prefixes of the handler/formatter/filter classes in ``hydra.job_logging``/``hydra_logging``.
ALLOWED_LOGGING = ("logging.", "colorlog.", "hydra.", "wakeforge.utils.console.")
#: Keys of Python's ``logging.config.dictConfig`` that name a callable.
LOGGING_FACTORY_KEYS = ("()", "class")

#: A name used as one path component: starts with a letter or digit, then letters, digits, _ . -
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
#: Files probed per RIR folder before it counts as unusable (the first usable one ends the probe).
RIR_PROBE_FILES = 50


def _walk(node: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """``(dotted key, parent node, key)`` of every entry below ``node`` (no interpolation resolved)."""
    if isinstance(node, DictConfig):
        for k in node.keys():
            child = node._get_node(k)
            path = f"{prefix}{k}"
            yield path, node, k
            if isinstance(child, (DictConfig, ListConfig)):
                yield from _walk(child, path + ".")
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            child = node._get_node(i)
            path = f"{prefix}{i}"
            yield path, node, i
            if isinstance(child, (DictConfig, ListConfig)):
                yield from _walk(child, path + ".")


def _value(parent: Any, key: Any) -> tuple[bool, Any]:
    try:
        return True, parent[key]
    except Exception:  # an interpolation that cannot resolve here: the other checks report it
        return False, None


def _is_class(dotted: str) -> bool:
    """Whether an allowed dotted path names a class (imports only allowed modules)."""
    try:
        from hydra._internal.utils import _locate

        return isinstance(_locate(dotted), type)
    except Exception:
        return False


def target_problems(cfg: DictConfig) -> list[tuple[str, str]]:
    """``(key, message)`` for every ``_target_`` / logging factory that is not allowed."""
    out: list[tuple[str, str]] = []
    for path, parent, key in _walk(cfg):
        is_target = key == "_target_"
        is_logging = (key in LOGGING_FACTORY_KEYS and path.startswith(("hydra.job_logging.", "hydra.hydra_logging."))
                      and any(f".{part}." in path for part in ("handlers", "formatters", "filters")))
        if not (is_target or is_logging):
            continue
        ok, value = _value(parent, key)
        if not ok:
            continue
        allowed = ALLOWED_TARGETS if is_target else ALLOWED_LOGGING
        text = value if isinstance(value, str) else repr(value)
        if isinstance(value, str) and value.startswith(allowed) and _is_class(value):
            continue
        what = "instantiates" if is_target else "builds"
        out.append((path, (
            f"{path}={text!r}: a config may only instantiate wakeforge's own classes (and Lightning's "
            f"Trainer, callbacks and loggers), so this {what} something else; wakeforge refused to run it. "
            "Remove the key, or use a config file you trust"
        )))
    return out


def model_name_problems(cfg: DictConfig) -> list[tuple[str, str]]:
    """``model_name`` must be a single safe path component."""
    try:
        name = cfg.get("model_name")
    except Exception:
        return []
    if name is None:
        return []
    text = str(name)
    if not SAFE_NAME.match(text) or text in (".", ".."):
        return [("model_name", (
            f"model_name={text!r} must be one folder name (letters, digits, _ - .; at most 100 characters, "
            "no / or ..): it names the folder and files of the model; e.g. model_name=hey_jarvis"
        ))]
    return []


def nearest_existing(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def write_probe(folder: Path) -> str | None:
    """None when a file can be created in ``folder`` (or the parent it would be made in), else why."""
    base = nearest_existing(folder)
    if not base.is_dir():
        return f"{base} is a file, not a folder"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".wakeforge-write-test-", dir=base)
    except OSError as exc:
        return f"{exc.strerror or exc}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return None


def writable_problems(folders: dict[str, Path]) -> list[tuple[str, str]]:
    """``(key, message)`` for every output folder that cannot be written."""
    out = []
    seen: set[Path] = set()
    for key, folder in folders.items():
        base = nearest_existing(folder)
        if base in seen:
            continue
        seen.add(base)
        why = write_probe(folder)
        if why:
            out.append((key, (
                f"{key}: cannot write to {folder} ({why} at {base}); make it writable or point "
                "paths.root_dir (or output_dir) at a writable folder"
            )))
    return out


def rir_problems(values: Any) -> list[tuple[str, str]]:
    """An RIR folder whose files all fail to decode (missing/empty folders are checked elsewhere)."""
    from wakeforge.audio.io import list_audio_files, load_audio
    from wakeforge.core.config import resolve_path
    from wakeforge.core.errors import AudioError

    out = []
    for v in list(values or []):
        p = resolve_path(str(v))
        if not p.exists():
            continue
        files = [p] if p.is_file() else list_audio_files(p)
        if not files:
            continue
        first_error = ""
        for f in files[:RIR_PROBE_FILES]:
            try:
                load_audio(f)
                break
            except AudioError as exc:
                first_error = first_error or str(exc)
        else:
            n = min(len(files), RIR_PROBE_FILES)
            out.append(("augmentation.rir_paths", (
                f"augmentation.rir_paths: {p} holds no usable impulse response ({n} of {len(files)} files "
                f"tried, none decodes; first: {first_error}); add WAV/FLAC RIRs or set "
                "augmentation.rir_paths=[] to simulate rooms"
            )))
    return out


def output_folders(cfg: DictConfig) -> dict[str, Path]:
    """The folders a run writes to, by the key that sets them."""
    from wakeforge.core.config import resolve_path

    out: dict[str, Path] = {}
    for key in ("work_dir", "paths.log_dir"):
        try:
            from omegaconf import OmegaConf

            value = OmegaConf.select(cfg, key)
        except Exception:
            continue
        if value:
            out[key] = resolve_path(str(value))
    return out


def config_problems(cfg: DictConfig, stages: Any = ("generate", "augment", "train"),
                    writable: bool = True) -> list[tuple[str, str]]:
    """Every safety problem of a composed config, as ``(key, message)``."""
    problems = target_problems(cfg) + model_name_problems(cfg)
    folders = output_folders(cfg) if not problems else {}
    if "work_dir" in folders:
        import wakeforge.core.errors

        wakeforge.core.errors.OUTPUT_DIR = str(folders["work_dir"])
    if writable and not any(k == "model_name" for k, _ in problems):
        problems += writable_problems(output_folders(cfg))
    if "augment" in stages:
        aug = cfg.get("augmentation") or {}
        with contextlib.suppress(Exception):
            problems += rir_problems(aug.get("rir_paths"))
    return problems
