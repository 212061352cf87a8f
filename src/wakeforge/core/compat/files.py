"""Reading a config file, telling its kind, and applying Hydra experiment files by path.

:func:`config_overrides` is the whole translation of one file: flat files go through
:func:`~wakeforge.core.compat.flat.flat_overrides`, Hydra files through
:func:`hydra_file_overrides` (``experiment=NAME``, or a copy under ``logs/.config_files/``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from wakeforge.core.compat.flat import (
    FLAT_KEYS,
    HYDRA_ROOT_KEYS,
    SHARED_KEYS,
    _suggest,
    flat_overrides,
)
from wakeforge.core.errors import ConfigError

#: The config folder (``conf/``) shipped with the repository.
CONF_DIR = Path(__file__).resolve().parents[4] / "conf"


# --------------------------------------------------------------------------------------------
# reading and classifying


def load_yaml_file(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any], str]:
    """Read a config file; return ``(absolute path, mapping, raw text)``.

    Raises:
        ConfigError: missing, unreadable, not YAML, or not a mapping.
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    absolute = p if p.is_absolute() else Path.cwd() / p
    if not absolute.is_file():
        where = (
            ""
            if p.is_absolute()
            else f" (relative paths resolve against the working directory {Path.cwd()})"
        )
        raise ConfigError(
            f"config file {os.fspath(path)} not found{where}; pass an existing YAML file"
        )
    try:
        text = absolute.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"config file {path} is not valid YAML ({reason}); fix the syntax"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a YAML mapping of keys to values, got {type(data).__name__}"
        )
    return absolute.resolve(), data, text


def config_kind(data: Mapping[str, Any], text: str = "") -> str:
    """``"flat"`` (openWakeWord-style) or ``"hydra"`` (experiment file) from the keys.

    Example:
        >>> config_kind({"target_phrase": "hey jarvis", "steps": 100})
        'flat'
        >>> config_kind({"data": {"phrase": "ok nabu"}})
        'hydra'
    """
    keys = {str(k) for k in data}
    flat = keys & (set(FLAT_KEYS) - SHARED_KEYS)
    hydra_keys = keys & HYDRA_ROOT_KEYS
    if re.search(r"^\s*#\s*@package", text, flags=re.MULTILINE):
        hydra_keys.add("# @package")
    if flat and hydra_keys:
        raise ConfigError(
            f"config mixes openWakeWord keys ({', '.join(sorted(flat))}) with wakeforge keys "
            f"({', '.join(sorted(hydra_keys))}); use one style (see conf/examples/example_config.yaml)"
        )
    if flat:
        return "flat"
    if hydra_keys or keys <= SHARED_KEYS:
        return "hydra"
    unknown = sorted(keys - SHARED_KEYS)
    raise ConfigError(
        f"unknown config key(s) {', '.join(unknown)}{_suggest(unknown)}; see conf/examples/example_config.yaml"
    )


# --------------------------------------------------------------------------------------------
# Hydra experiment files


def _root_dir() -> Path:
    return Path(os.environ.get("WAKEFORGE_ROOT") or ".").expanduser().resolve()


#: Config group that holds Hydra files given by path (appended to the defaults list, so the
#: file applies after the primary config and after any ``experiment=``).
USER_GROUP = "user_config"


def hydra_file_overrides(
    path: Path, text: str, data: Mapping[str, Any], *, store: Path | None = None
) -> list[str]:
    """Overrides that apply a Hydra experiment-style file found at any path."""
    _check_hydra_keys(data, path)
    exp_dir = CONF_DIR / "experiment"
    if path.parent == exp_dir.resolve():
        return [f"experiment={path.stem}"]
    body = (
        text
        if re.search(r"^\s*#\s*@package", text, flags=re.MULTILINE)
        else "# @package _global_\n" + text
    )
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    root = (store or _root_dir() / "logs" / ".config_files") / digest
    target = root / USER_GROUP / f"{path.stem}.yaml"
    if not target.exists() or target.read_text(encoding="utf-8") != body:
        from wakeforge.utils.atomic import write_text_atomic

        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, body)
    return [f"hydra.searchpath=[file://{root}]", f"+{USER_GROUP}={path.stem}"]


def _check_hydra_keys(data: Mapping[str, Any], path: Path) -> None:
    unknown = [str(k) for k in data if str(k) not in HYDRA_ROOT_KEYS | SHARED_KEYS]
    if unknown:
        raise ConfigError(
            f"{path.name}: unknown top-level key(s) {', '.join(unknown)}{_suggest(unknown)}; "
            f"known keys: {', '.join(sorted(HYDRA_ROOT_KEYS | SHARED_KEYS))}"
        )
    # Value-only groups have a fixed set of keys: catch typos before a long run starts.
    base = _base_groups()
    bad: list[str] = []
    for group, keys in base.items():
        section = data.get(group)
        if isinstance(section, Mapping):
            bad += [f"{group}.{k}" for k in section if str(k) not in keys]
    if bad:
        raise ConfigError(
            f"{path.name}: unknown key(s) {', '.join(bad)}; check the spelling against conf/"
        )


def _base_groups() -> dict[str, set[str]]:
    """Keys of the value-only groups (data, augmentation, tts, features, paths) in ``conf/``."""
    out: dict[str, set[str]] = {}
    for group in ("data", "augmentation", "tts", "features", "paths"):
        keys: set[str] = set()
        for f in sorted((CONF_DIR / group).glob("*.yaml")):
            loaded = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            keys |= {str(k) for k in loaded if k != "defaults"}
        if keys:
            out[group] = keys
    # Classes of batch_n_per_class etc. are open mappings: only the first level is checked.
    return out


# --------------------------------------------------------------------------------------------
# public API


def config_overrides(path: str | os.PathLike[str], *, check_paths: bool = True,
                     root: str | os.PathLike[str] | None = None) -> list[str]:
    """Hydra overrides that apply the config file at ``path`` (either kind).

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "m.yaml"
        >>> _ = f.write_text("target_phrase: ok nabu\\nsteps: 500\\n")
        >>> config_overrides(f)
        ["data.phrase='ok nabu'", 'trainer.max_steps=500']
    """
    absolute, data, text = load_yaml_file(path)
    if config_kind(data, text) == "flat":
        return flat_overrides(data, check_paths=check_paths)
    store = Path(root).expanduser().resolve() / "logs" / ".config_files" if root else None
    return hydra_file_overrides(absolute, text, data, store=store)
