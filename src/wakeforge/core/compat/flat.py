"""openWakeWord-style flat YAML: the key tables and the flat mapping -> Hydra overrides.

:data:`FLAT_KEYS` maps every openWakeWord key onto its wakeforge key(s);
:func:`flat_overrides` turns a parsed flat file into overrides, rendered in Hydra's grammar by
:func:`hydra_value`. :data:`HYDRA_ROOT_KEYS` / :data:`SHARED_KEYS` tell the two kinds of file
apart (:func:`wakeforge.core.compat.files.config_kind`).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wakeforge.core.errors import ConfigError

log = logging.getLogger(__name__)

#: Top-level keys of the composed wakeforge config (a file using them is a Hydra file).
HYDRA_ROOT_KEYS = frozenset(
    {
        "defaults",
        "hydra",
        "paths",
        "data",
        "tts",
        "augmentation",
        "features",
        "model",
        "trainer",
        "callbacks",
        "logger",
        "work_dir",
        "seed",
        "stages",
        "device",
        "num_workers",
        "resume",
        "experiment",
        "hparams_search",
        "local",
    }
)
#: Keys both kinds share (they mean the same in both).
SHARED_KEYS = frozenset({"model_name", "output_dir"})


@dataclass(frozen=True)
class FlatKey:
    """How one openWakeWord key maps onto wakeforge.

    Attributes:
        targets: wakeforge keys that receive the value ("" for none).
        kind: ``value`` (set), ``dict`` (replace the whole mapping), ``group`` (choose a
            config group option), ``path``/``paths``/``path_dict`` (value that names files,
            checked to exist), ``ignore`` (accepted, warned), ``noop`` (accepted, logged).
        note: why a key is ignored (printed once).
    """

    targets: tuple[str, ...]
    kind: str = "value"
    note: str = ""


#: Every key of openWakeWord's ``custom_model.yml`` / ``train.py`` plus the seed tool's list.
FLAT_KEYS: dict[str, FlatKey] = {
    "model_name": FlatKey(("model_name",)),
    "target_phrase": FlatKey(("data.phrase",)),
    "custom_negative_phrases": FlatKey(("data.custom_negative_phrases",)),
    # openWakeWord generates as many adversarial negatives as positives.
    "n_samples": FlatKey(("data.n_samples", "data.n_negative")),
    "n_samples_val": FlatKey(("data.n_samples_val", "data.n_negative_val")),
    "tts_batch_size": FlatKey(
        (),
        "noop",
        "tts_batch_size is not needed: wakeforge batches and parallelises TTS itself (num_workers)",
    ),
    "augmentation_batch_size": FlatKey(("augmentation.batch_size",)),
    "augmentation_rounds": FlatKey(("augmentation.rounds",)),
    "piper_sample_generator_path": FlatKey(
        (),
        "ignore",
        "piper_sample_generator_path is ignored: wakeforge uses the piper-tts package (tts.* settings)",
    ),
    "output_dir": FlatKey(("output_dir",)),
    "rir_paths": FlatKey(("augmentation.rir_paths",), "paths"),
    "background_paths": FlatKey(("augmentation.background_paths",), "paths"),
    "background_paths_duplication_rate": FlatKey(
        ("augmentation.background_paths_duplication_rate",)
    ),
    "false_positive_validation_data_path": FlatKey(
        ("data.false_positive_validation_data_path",), "path"
    ),
    "feature_data_files": FlatKey(("data.feature_data_files",), "path_dict"),
    "batch_n_per_class": FlatKey(("data.batch_n_per_class",), "dict"),
    "model_type": FlatKey(("model",), "group"),
    "layer_size": FlatKey(("model.head.layer_size",)),
    "steps": FlatKey(("trainer.max_steps",)),
    "learning_rate": FlatKey(("model.learning_rate",)),
    "max_negative_weight": FlatKey(("model.max_negative_weight",)),
    "target_false_positives_per_hour": FlatKey(("model.target_false_positives_per_hour",)),
    "total_length": FlatKey(
        (),
        "ignore",
        "total_length is ignored: openWakeWord recomputes it from the clips too; "
        "wakeforge's clip length is data.clip_duration_s (2 s = the 16-frame model window)",
    ),
    "target_accuracy": FlatKey(
        (),
        "ignore",
        "target_accuracy is ignored (openWakeWord's trainer does not use it either); "
        "wakeforge exports the best recall at model.target_false_positives_per_hour",
    ),
    "target_recall": FlatKey(
        (),
        "ignore",
        "target_recall is ignored (openWakeWord's trainer does not use it either); "
        "wakeforge exports the best recall at model.target_false_positives_per_hour",
    ),
}

#: ``model_type`` values and the ``model`` group option each selects.
MODEL_TYPES = {"dnn": "dnn", "rnn": "rnn", "lstm": "rnn"}


def _suggest(unknown: Sequence[str]) -> str:
    hints = []
    vocabulary = sorted(set(FLAT_KEYS) | HYDRA_ROOT_KEYS)
    for key in unknown:
        close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=0.75)
        if close:
            hints.append(f"{key} -> {close[0]}?")
    return f" (did you mean: {', '.join(hints)})" if hints else ""


# --------------------------------------------------------------------------------------------
# Hydra override rendering


_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-./]*$")


def hydra_value(value: Any) -> str:
    """Render a Python value in Hydra's override grammar (strings always quoted).

    Example:
        >>> hydra_value("hey jarvis")
        "'hey jarvis'"
        >>> hydra_value({"positive": 50, "ACAV100M_sample": 1024})
        '{positive: 50, ACAV100M_sample: 1024}'
        >>> hydra_value([1, "it's"])
        "[1, 'it\\\\'s']"
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # Hydra un-escapes backslashes only before a quote or at the end of the string.
        escaped = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value).replace("'", "\\'")
        return f"'{escaped}'"
    if isinstance(value, Mapping):
        items = []
        for k, v in value.items():
            if not _BARE.match(str(k)):
                raise ConfigError(f"key {k!r} must be a plain name (letters, digits, _ - . /)")
            items.append(f"{k}: {hydra_value(v)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hydra_value(v) for v in value) + "]"
    raise ConfigError(f"cannot use a value of type {type(value).__name__} in a config: {value!r}")


# --------------------------------------------------------------------------------------------
# flat (openWakeWord) files


def _warn(message: str) -> None:
    # Runs before Hydra configures logging: one plain line, like wakeforge's ``error:`` lines.
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _missing_path_error(key: str, value: str) -> ConfigError:
    return ConfigError(
        f"{key}: {value} does not exist (relative paths resolve against the working directory "
        f"{Path.cwd()}); fix the path or remove the key"
    )


def _check_path(key: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a path string, got {value!r}")
    if not Path(os.path.expanduser(value)).exists():
        raise _missing_path_error(key, value)


def flat_overrides(
    data: Mapping[str, Any], *, check_paths: bool = True, warn: Callable[[str], None] | None = None
) -> list[str]:
    """Hydra overrides for an openWakeWord-style flat config mapping.

    Args:
        data: the parsed YAML mapping.
        check_paths: fail when a path-valued key names a missing file or folder.
        warn: receives one line per accepted-but-ignored key (default: a ``warning: ...`` line on stderr).

    Raises:
        ConfigError: unknown keys (all named in one line), bad values, missing paths.
    """
    warn = warn or _warn
    unknown = [str(k) for k in data if str(k) not in FLAT_KEYS]
    if unknown:
        raise ConfigError(
            f"unknown openWakeWord config key(s): {', '.join(unknown)}{_suggest(unknown)}; "
            "every supported key is listed in conf/examples/example_config.yaml"
        )
    groups: list[str] = []
    values: list[str] = []
    for key, value in data.items():
        spec = FLAT_KEYS[str(key)]
        if spec.kind in ("ignore", "noop"):
            (warn if spec.kind == "ignore" else log.info)(spec.note)
            continue
        if spec.kind == "group":
            option = MODEL_TYPES.get(str(value).lower())
            if option is None:
                raise ConfigError(
                    f"model_type {value!r} is not supported; use one of {sorted(MODEL_TYPES)}"
                )
            groups.append(f"model={option}")
            continue
        if key == "layer_size" and str(data.get("model_type", "dnn")).lower() != "dnn":
            warn("layer_size is ignored for model_type rnn (openWakeWord's LSTM has a fixed size)")
            continue
        if key == "target_phrase":
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if not value or not (
                isinstance(value, str)
                or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise ConfigError(
                    f"target_phrase must be a phrase or a list of phrases, got {value!r}"
                )
        if spec.kind == "path" and value is not None and check_paths:
            _check_path(str(key), value)
        elif spec.kind == "paths":
            value = [] if value is None else value
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                raise ConfigError(f"{key} must be a list of folders, got {value!r}")
            if check_paths:
                for item in value:
                    _check_path(str(key), item)
        elif spec.kind in ("dict", "path_dict"):
            value = {} if value is None else value
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key} must be a mapping of name: value, got {value!r}")
            if spec.kind == "path_dict" and check_paths:
                for name, item in value.items():
                    _check_path(f"{key}.{name}", item)
            for target in spec.targets:
                # openWakeWord's mapping defines the whole batch / file set. The schema's typed
                # mappings cannot be deleted and Hydra merges a mapping into them, so wakeforge's
                # own classes that the file does not name are switched off (0 rows per batch).
                mapping = dict(value)
                if spec.kind == "dict":
                    mapping = {**{c: 0 for c in BUILTIN_CLASSES if c not in mapping}, **mapping}
                values.append(f"++{target}={hydra_value(mapping)}")
            continue
        for target in spec.targets:
            values.append(f"{target}={hydra_value(value)}")
    _check_batch_classes(data)
    return groups + values


#: wakeforge's own feature classes (``data.batch_n_per_class`` in ``conf/data/default.yaml``).
BUILTIN_CLASSES = ("positive", "adversarial_negative", "background", "rearranged_negative")


def _check_batch_classes(data: Mapping[str, Any]) -> None:
    bnpc = data.get("batch_n_per_class")
    if not isinstance(bnpc, Mapping):
        return
    from wakeforge.core.layout import FEATURE_CLASSES

    files = data.get("feature_data_files") or {}
    missing = [str(k) for k in bnpc if k not in FEATURE_CLASSES and k not in files]
    if missing:
        raise ConfigError(
            f"batch_n_per_class names {', '.join(missing)} but feature_data_files has no such key; "
            f"add it to feature_data_files or use one of {list(FEATURE_CLASSES)}"
        )
