"""Hydra's command line, with its errors as one line: what every entry point runs first.

:func:`run_hydra_cli` composes the config as Hydra will (same overrides, same schema) before
Hydra configures logging or creates a run folder, and turns a composition error (an unknown
key, a wrong type, a value outside an enum, a range the schema checks, an unsafe target) into
one ``error:`` line with the fix. ``--help``, sweeps and custom ``--config-*`` flags go to Hydra
untouched.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig

from wakeforge.core.errors import EXIT_USER_ERROR, ConfigError, WakeforgeError


#: Hydra flags that take a value (the value is not an override).
_VALUE_FLAGS = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                "--config-dir", "-cd", "--experimental-rerun", "--info", "-i"}

#: Flags after which Hydra does no composition of ours (help, completion, rerun).
_SKIP_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--shell-completion", "-sc",
               "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun",
               "--multirun", "-m"}

def _overrides_of(argv: Sequence[str]) -> list[str] | None:
    """The overrides in ``argv``, or None when Hydra should handle the command line itself."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a.split("=", 1)[0] in _SKIP_FLAGS:
            return None
        if a in _VALUE_FLAGS:
            skip = True
            continue
        if a.startswith("-"):
            continue
        out.append(a)
    return out

def _nested_keys(node: Any, prefix: str = "", depth: int = 3) -> list[str]:
    """Dotted paths of the keys below ``node`` (a few levels; interpolations are not resolved)."""
    out: list[str] = []
    if depth <= 0 or not isinstance(node, DictConfig):
        return out
    for k in node.keys():
        path = f"{prefix}{k}"
        child = node._get_node(k)
        if isinstance(child, DictConfig):
            out += _nested_keys(child, path + ".", depth - 1)
        elif prefix:
            out.append(path)
    return out

def _schema_error_line(cause: BaseException | None) -> str | None:
    """One line for a value the schema (:mod:`wakeforge.core.schema`) refused while composing."""
    from omegaconf.errors import ValidationError

    if not isinstance(cause, ValidationError) or not getattr(cause, "full_key", None):
        return None
    key = str(cause.full_key)
    first = str(cause).strip().splitlines()[0]
    m = re.match(r"Value '(.*)' of type '(\w+)' could not be converted to (Integer|Float)", first)
    if m:
        what = "a whole number" if m.group(3) == "Integer" else "a number"
        return f"{key} must be {what}, got {m.group(1)!r}; fix the value (the defaults are in conf/)"
    m = re.match(r"Invalid value '(.*)', expected one of \[(.*)\]", first)
    if m:
        return f"{key}: {m.group(1)!r} is not one of {m.group(2)}; choose one of them"
    m = re.match(r"Value '(.*)' is not a valid bool", first)
    if m:
        return f"{key} must be true or false, got {m.group(1)!r}"
    if "is not a ListConfig, list or tuple" in first:
        return f"{key} must be a list, e.g. {key}=[a,b]"
    if "is not a subclass of" in first or "Invalid type assigned" in first:
        return f"{key} must be a mapping {{name: value}}, got something else; e.g. {key}.name=value"
    return f"{key}: {first}"


def hydra_error_line(exc: BaseException, overrides: Sequence[str] = ()) -> str:
    """One line for a Hydra composition/parse error, naming the fix."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    text = str(exc)
    if isinstance(exc, MissingConfigException):
        m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
        options = list(getattr(exc, "options", None) or [])
        if m:
            group, name = m.group(1), m.group(2)
            close = difflib.get_close_matches(name, options, n=1)
            hint = f"did you mean {group}={close[0]}? " if close else ""
            return f"config group {group} has no option {name!r}; {hint}choose from: {', '.join(options) or '(none)'}"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return f"{first}; check the config name and --config-path"
    if isinstance(exc, OverrideParseException):
        lex = re.search(r"LexerNoViableAltException: (.*)", text)
        if lex:
            token = lex.group(1).strip()
            key, _, value = token.partition("=")
            quoted = value.replace('"', '\\"')
            return (f"cannot parse the override {token!r}: its value has characters Hydra only accepts inside "
                    f"quotes; quote it, e.g. '{key}=\"{quoted}\"'")
        m = re.search(r"Error parsing override '([^']*)'", text)
        token = m.group(1) if m else next((o for o in overrides if "=" not in o), "")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("See https")]
        reason = lines[1] if m and len(lines) > 1 else (lines[0] if lines else "")
        return (f"cannot parse the override {token!r} ({reason}); write key=value and quote values with spaces, "
                "commas or brackets, e.g. 'data.phrase=\"hey jarvis\"'") if token else (
                f"cannot parse an override ({reason}); write key=value and quote values with spaces, commas or brackets, "
                "e.g. 'data.phrase=\"hey jarvis\"'")
    if isinstance(exc, ConfigCompositionException):
        cause = exc.__cause__
        schema_line = _schema_error_line(cause)
        if schema_line:
            return schema_line
        m = re.search(r"Could not override '([^']+)'", text)
        if m:
            key = m.group(1)
            value = next((o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] == key), "VALUE")
            parent = getattr(cause, "parent_node", None)
            leaf = key.rsplit(".", 1)[-1]
            prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
            hint = ""
            if parent is not None:
                try:
                    names = [str(k) for k in parent.keys()]
                    nested = _nested_keys(parent)
                except Exception:  # pragma: no cover - defensive
                    names, nested = [], []
                deeper = [n for n in nested if n.rsplit(".", 1)[-1] == leaf]
                close = difflib.get_close_matches(leaf, names, n=1)
                if deeper:
                    hint = f"did you mean {prefix}{deeper[0]}? "
                elif close:
                    hint = f"did you mean {prefix}{close[0]}? "
            return f"unknown config key {key!r}; {hint}fix the spelling, or add a new key with +{key}={value}"
        first = " ".join(text.split())
        return f"{first}"
    return " ".join(text.split()) or type(exc).__name__

def precheck_overrides(overrides: Sequence[str], config_name: str = "train") -> None:
    """Compose the config as Hydra will; raise :class:`ConfigError` with one line if it fails."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from wakeforge.core.config import CONFIG_DIR

    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(list(overrides))
        if any(o.is_sweep_override() for o in parsed):
            return  # a sweep: Hydra explains multirun itself
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc, overrides)) from None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc, overrides)) from None
    except Exception:  # anything else: let Hydra report it as it always does
        return
    finally:
        GlobalHydra.instance().clear()
    # The schema's ranges, then safety: before Hydra configures logging, creates the run folder
    # or instantiates anything.
    from wakeforge.core.safety import config_problems
    from wakeforge.core.schema import validate

    try:
        validate(cfg)
    except ConfigError:
        raise
    except Exception:  # an interpolation that cannot resolve yet: the stage reports it
        pass

    problems = config_problems(cfg, stages=())
    if problems:
        raise ConfigError(problems[0][1])

def run_hydra_cli(main_fn: Callable[[], Any], config_name: str = "train", argv: Sequence[str] | None = None) -> Any:
    """Run a ``@hydra.main`` function, first turning Hydra composition errors into one line.

    ``--help``, ``-m`` sweeps and custom ``--config-*`` flags go to Hydra untouched.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    overrides = _overrides_of(args)
    if overrides is not None and not os.environ.get("WAKEFORGE_TRACEBACK"):
        try:
            precheck_overrides(overrides, config_name)
        except WakeforgeError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
            sys.exit(EXIT_USER_ERROR)
    return main_fn()
