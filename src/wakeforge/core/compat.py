"""``config_file=PATH``: train from a config file of either kind.

Every wakeforge entry point accepts ``config_file=PATH`` (Make passes ``CONFIG=PATH`` as that)
and turns it into ordinary Hydra overrides before Hydra parses the command line, so the run
records exactly what was applied (``.hydra/overrides.yaml``) and later overrides win::

    python -m wakeforge.train config_file=my_model.yaml               # openWakeWord-style flat YAML
    python -m wakeforge.train config_file=my_experiment.yaml data.phrase="ok nabu"
    python -m wakeforge.compat my_model.yaml                           # print the overrides

Two kinds of file are told apart by their keys:

* **openWakeWord-style flat YAML** (the keys of openWakeWord's ``examples/custom_model.yml``:
  ``target_phrase``, ``n_samples``, ``steps``, ...): each key is mapped onto its wakeforge key
  (:data:`FLAT_KEYS`), ``model_type`` selects the ``model`` group, dictionaries
  (``batch_n_per_class``, ``feature_data_files``) replace wakeforge's like they define the whole
  batch in openWakeWord. Keys openWakeWord reads but wakeforge does not need are accepted with
  one warning line; any other key is an error that names it.
* **Hydra experiment file** (keys such as ``data:``, ``model:``, ``trainer:``, a ``defaults``
  list or a ``# @package`` header), anywhere on disk. Files inside ``conf/experiment/`` are
  used as ``experiment=NAME``; others are copied (with ``# @package _global_``) into
  ``logs/.config_files/<hash>/user_config/`` and applied as ``+user_config=NAME`` with that
  folder on Hydra's search path. Hydra's own merge rules apply unchanged, the file applies after
  any ``experiment=`` (``config_file=my.yaml experiment=smoke`` is smoke, then the file), and
  jobs started later (DDP workers, SLURM array jobs) still find it.

Relative paths inside a flat file resolve against the working directory, as everywhere in
wakeforge; a path that does not exist is an error that names the key, the path and that
directory.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wakeforge.core.errors import ConfigError

log = logging.getLogger(__name__)

#: Command-line token that names a config file.
CONFIG_ARG = "config_file"

#: The config folder (``conf/``) shipped with the repository.
CONF_DIR = Path(__file__).resolve().parents[3] / "conf"

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


def expand_argv(argv: Sequence[str]) -> list[str]:
    """Replace ``config_file=PATH`` in a command line with the overrides it stands for.

    The file's overrides go first, so overrides given after it on the command line win.
    Hydra flags (``-m``, ``--cfg``, ...) are kept in place.
    """
    out: list[str] = []
    files: list[str] = []
    for arg in argv:
        m = re.match(rf"^\+{{0,2}}{CONFIG_ARG}=(.*)$", arg)
        if m:
            files.append(m.group(1))
        else:
            out.append(arg)
    if not files:
        return list(argv)
    if len(files) > 1:
        raise ConfigError(f"{CONFIG_ARG}= given {len(files)} times; pass one config file")
    value = files[0].strip().strip("'\"")
    if not value:
        return out  # CONFIG= left empty: the defaults
    # A Hydra file is stored under paths.root_dir (given on the command line), not the cwd.
    root = next((a.split("=", 1)[1].strip("'\"") for a in reversed(out)
                 if a.split("=", 1)[0].lstrip("+~") == "paths.root_dir" and "=" in a), None)
    overrides = config_overrides(value, root=root)
    if any(a.split("=", 1)[0].lstrip("+~") == "experiment" for a in out) and any(
        o.startswith("experiment=") for o in overrides
    ):
        raise ConfigError(
            f"{CONFIG_ARG}={value} is a Hydra experiment file and experiment= is also given; pass only one"
        )
    return out[:1] + overrides + out[1:]


def expand_sys_argv() -> None:
    """Apply :func:`expand_argv` to ``sys.argv`` (call before a ``@hydra.main`` function).

    ``-v`` / ``--verbose`` become ``hydra.verbose=true``.

    Errors become one ``error: ...`` line and exit status 2, like every wakeforge error.
    """
    from wakeforge.core.errors import cli_errors

    with cli_errors():
        # -v / --verbose: everything, as Hydra's hydra.verbose=true (third-party lines included).
        argv = ["hydra.verbose=true" if a in ("-v", "--verbose") else a for a in sys.argv]
        sys.argv[:] = expand_argv(argv)


#: Primary config that DVC composes into ``params.yaml`` (``.dvc/config``: hydra.config_name).
PIPELINE_CONFIG = "pipeline"


def compose_params(overrides: Sequence[str] = (), config_name: str = PIPELINE_CONFIG) -> str:
    """``params.yaml`` text for the DVC pipeline, composed the way DVC's Hydra integration does.

    ``conf/{config_name}.yaml`` with ``overrides``, resolved, as YAML: what
    ``dvc exp run -S key=value`` writes, so ``dvc repro`` after ``make params`` and
    ``dvc exp run`` see the same parameters.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from wakeforge.core.config import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.resolve(cfg)
    return OmegaConf.to_yaml(cfg)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wakeforge.compat``: inspect a config file, or write DVC's ``params.yaml``."""
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    from wakeforge.core.errors import cli_errors

    if argv[:1] == ["params"]:
        parser = argparse.ArgumentParser(
            prog="python -m wakeforge.compat params",
            description="Compose conf/pipeline.yaml (+ a config file and overrides) into DVC's params.yaml.",
        )
        parser.add_argument("overrides", nargs="*", help="Hydra overrides, and config_file=PATH")
        parser.add_argument(
            "-o", "--output", default="params.yaml", help="file to write (default: params.yaml)"
        )
        args = parser.parse_args(argv[1:])
        with cli_errors():
            text = compose_params(expand_argv(["params", *args.overrides])[1:])
            from wakeforge.utils.atomic import write_text_atomic

            write_text_atomic(args.output, text)
            print(f"wrote {args.output}", file=sys.stderr)
        return 0

    parser = argparse.ArgumentParser(
        prog="python -m wakeforge.compat",
        description="Print the Hydra overrides a config file (openWakeWord flat YAML or Hydra "
        "experiment) stands for. `python -m wakeforge.compat params [overrides]` writes DVC's params.yaml.",
    )
    parser.add_argument("config", help="path to the YAML config file")
    parser.add_argument(
        "--no-check-paths", action="store_true", help="do not check that data paths exist"
    )
    args = parser.parse_args(argv)
    with cli_errors():
        for item in config_overrides(args.config, check_paths=not args.no_check_paths):
            print(item)
    return 0

