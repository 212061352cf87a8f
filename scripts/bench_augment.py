#!/usr/bin/env python
"""Benchmark stage 2 (augmentation + features): openWakeWord's path vs wakeforge's, same clips.

Both paths get the same N two-second-window inputs in one run: speech-like clips written as
16 kHz WAVs, background WAVs (wakeforge's generated noise/tones/babble) and simulated RIR WAVs.

* **openWakeWord**: ``openwakeword.data.augment_clips`` (openwakeword 0.6.0: per-clip numpy
  ``audiomentations`` EQ + distortion, then a per-batch torch-audiomentations chain with its
  file-based ``AddBackgroundNoise``, then speechbrain ``reverberate`` with one RIR file per
  batch) feeding ``openwakeword.utils.AudioFeatures.embed_clips`` (onnxruntime), with the
  settings of its ``train.py``: ``augmentation_batch_size`` 16, ``ncpu = cpu_count // 2``.
  Its imports need packages wakeforge does not install (audiomentations, speechbrain, mutagen,
  acoustics, librosa, ...): install them into a side folder and pass ``--oww-deps``::

      pip install --target /tmp/owwdeps --no-deps audiomentations speechbrain mutagen \
          acoustics hyperpyyaml ruamel.yaml librosa audioread numba llvmlite decorator pooch \
          soxr lazy_loader msgpack numpy-minmax numpy-rms python-stretch pandas tzdata pytz

  Three shims make it run on torchaudio 2.11 (none changes the maths): ``torchaudio.load`` /
  ``torchaudio.info`` read with soundfile (both need torchcodec in 2.11), and the ``acoustics``
  module, which fails to import on SciPy >= 1.15 and which ``augment_clips`` never calls, is
  stubbed. When ``openwakeword.data`` still cannot be imported, the script runs a
  reproduction of the same recipe and probabilities from torch-audiomentations' file-based
  transforms (EQ/distortion via audiomentations when importable) and says so.
* **wakeforge**: :func:`~wakeforge.augment.placement.place_clips` +
  :class:`~wakeforge.augment.pipeline.Augmenter` (default config, banks loaded from the same
  RIR/background folders) + :class:`~wakeforge.features.TorchFeatureExtractor`, batched.

The two paths run interleaved (a batch of one, then batches of the other until it catches up),
so load from other processes on a shared machine falls on both alike. Prints clips/s for
augmentation (including reading and placing the clips), features and end to end, and the ratio.

Usage::

    python scripts/bench_augment.py --n 256 --oww-deps /tmp/owwdeps [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

SR = 16_000
WINDOW = 32_000


# ----------------------------------------------------------------------------- inputs
def speech_like(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A voiced harmonic complex with a moving pitch, formant-ish tilt and syllable envelope."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(90, 230) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(
        np.sin(k * phase) * (1.0 / k) * (1 + np.sin(k / rng.uniform(2, 5))) for k in range(1, 20)
    )
    x = x * np.clip(np.sin(2 * np.pi * rng.uniform(2.5, 4.5) * t), 0, None) ** 0.7
    x += rng.normal(0, 0.05, t.size) * (np.abs(x) > 0.2)  # fricative-ish noise
    return (x / np.abs(x).max() * rng.uniform(0.2, 0.8)).astype(np.float32)


def make_inputs(root: Path, n: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """Write N clips, 24 background WAVs and 16 RIR WAVs; return their paths."""
    import soundfile as sf

    from wakeforge.augment.rir import simulate_rirs
    from wakeforge.augment.synthetic import generate_segments

    rng = np.random.default_rng(seed)
    dirs = {k: root / k for k in ("clips", "backgrounds", "rirs")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        x = speech_like(rng, rng.uniform(0.6, 1.5))
        p = dirs["clips"] / f"clip_{i:05d}.wav"
        sf.write(p, x, SR, subtype="PCM_16")
        clips.append(str(p))
    speech = [sf.read(c, dtype="float32")[0] for c in clips[:50]]
    backgrounds = []
    for i, seg in enumerate(generate_segments(24, 4 * SR, rng, speech)):
        p = dirs["backgrounds"] / f"bg_{i:03d}.wav"
        sf.write(p, seg, SR, subtype="PCM_16")
        backgrounds.append(str(p))
    rirs = []
    for i, h in enumerate(simulate_rirs(16, seed, SR)):
        p = dirs["rirs"] / f"rir_{i:03d}.wav"
        sf.write(p, h / np.abs(h).max() * 0.9, SR, subtype="FLOAT")
        rirs.append(str(p))
    return clips, backgrounds, rirs


# ----------------------------------------------------------------------------- openWakeWord
def _shim_torchaudio() -> None:
    """torchaudio 2.11 needs torchcodec for load/info: read with soundfile instead."""
    import soundfile as sf
    import torch
    import torchaudio

    def load(path: Any, frame_offset: int = 0, num_frames: int = -1, **_: Any) -> tuple[Any, int]:
        stop = None if num_frames is None or num_frames < 0 else frame_offset + num_frames
        data, sr = sf.read(
            str(path), start=frame_offset, stop=stop, dtype="float32", always_2d=True
        )
        return torch.from_numpy(data.T.copy()), sr

    def info(path: Any, **_: Any) -> Any:
        i = sf.info(str(path))
        return types.SimpleNamespace(
            num_frames=i.frames, sample_rate=i.samplerate, num_channels=i.channels
        )

    torchaudio.load = load
    torchaudio.info = info


def import_oww_data(deps: str | None) -> tuple[Any | None, str]:
    """``openwakeword.data`` with the shims, or ``(None, why)``."""
    if deps:
        sys.path.insert(0, deps)
    _shim_torchaudio()
    try:
        import acoustics  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError on SciPy >= 1.15; unused by augment_clips
        sys.modules["acoustics"] = types.ModuleType("acoustics")
    try:
        import openwakeword.data as oww_data
    except Exception as exc:  # noqa: BLE001 - any missing optional dependency
        return None, f"{type(exc).__name__}: {exc}"
    return oww_data, ""


def oww_recipe_generator(
    clip_paths: list[str], batch_size: int, bg_paths: list[str], rir_paths: list[str]
) -> Iterator[np.ndarray]:
    """Fallback: openWakeWord's augment_clips recipe, rebuilt from torch-audiomentations.

    Same probabilities and ranges, same per-batch modes and file-based background/RIR reads;
    EQ and distortion use audiomentations when it imports (else they are skipped: the printed
    label says so).
    """
    import random
    import warnings

    import soundfile as sf
    import torch

    warnings.filterwarnings("ignore")
    import torch_audiomentations as ta

    try:
        import audiomentations as am

        first = am.Compose(
            [
                am.SevenBandParametricEQ(min_gain_db=-6, max_gain_db=6, p=0.25),
                am.TanhDistortion(min_distortion=0.0001, max_distortion=0.10, p=0.25),
            ]
        )
    except Exception:  # noqa: BLE001
        first = None
    second = ta.Compose(
        [
            ta.PitchShift(
                min_transpose_semitones=-3,
                max_transpose_semitones=3,
                p=0.25,
                sample_rate=SR,
                mode="per_batch",
            ),
            ta.BandStopFilter(p=0.25, mode="per_batch"),
            ta.AddColoredNoise(
                min_snr_in_db=10,
                max_snr_in_db=30,
                min_f_decay=-1,
                max_f_decay=2,
                p=0.25,
                mode="per_batch",
            ),
            ta.AddBackgroundNoise(
                p=0.75,
                background_paths=bg_paths,
                min_snr_in_db=-10,
                max_snr_in_db=15,
                mode="per_batch",
            ),
            ta.Gain(max_gain_in_db=0, p=1.0),
        ],
        output_type="tensor",
    )
    for i in range(0, len(clip_paths), batch_size):
        batch = []
        for path in clip_paths[i : i + batch_size]:
            x, _ = sf.read(path, dtype="float32")
            out = np.zeros(WINDOW, np.float32)
            jitter = int(np.random.uniform(0, 0.2) * SR)
            start = max(0, WINDOW - (len(x) + jitter))
            out[start : start + len(x)] = x[:WINDOW]
            batch.append(torch.from_numpy(first(samples=out, sample_rate=SR) if first else out))
        y = second(samples=torch.vstack(batch).unsqueeze(1), sample_rate=SR).squeeze(1)
        if np.random.random() <= 0.5 and rir_paths:
            h, _ = sf.read(random.choice(rir_paths), dtype="float32")
            h = torch.from_numpy(h / np.abs(h).max())
            n = WINDOW + h.numel()
            wet = torch.fft.irfft(torch.fft.rfft(y, n) * torch.fft.rfft(h, n), n)[:, :WINDOW]
            y = wet * (
                y.abs().mean(dim=1, keepdim=True)
                / wet.abs().mean(dim=1, keepdim=True).clamp(min=1e-9)
            )
        yield (y.numpy() * 32767).astype(np.int16)


def run_oww(
    clip_paths: list[str],
    bg: list[str],
    rirs: list[str],
    feature_paths: Any,
    deps: str | None,
    ncpu: int,
    seed: int = 0,
) -> Iterator[tuple[str, int, float, float]]:
    """Yield ``(label, clips, augment_s, features_s)`` per batch of openWakeWord's path."""
    import warnings

    from openwakeword.utils import AudioFeatures

    warnings.filterwarnings("ignore")  # torch-audiomentations' output_type deprecation notes
    oww_data, why = import_oww_data(deps)
    # augment_clips draws from the global RNGs (per-batch pitch shift is its slowest step):
    # seed them so repeated runs time the same augmentations.
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    batch_size = 16  # openWakeWord's augmentation_batch_size default
    if oww_data is not None:
        label = "openwakeword.data.augment_clips (openwakeword 0.6.0, torchaudio/acoustics shims)"
        gen = oww_data.augment_clips(
            clip_paths,
            total_length=WINDOW,
            batch_size=batch_size,
            background_clip_paths=bg,
            RIR_paths=rirs,
        )
    else:
        import importlib.util

        has_am = importlib.util.find_spec("audiomentations") is not None
        label = (
            f"recipe reproduction (openwakeword.data unavailable: {why}; "
            f"EQ/distortion {'via audiomentations' if has_am else 'skipped: no audiomentations'})"
        )
        gen = oww_recipe_generator(clip_paths, batch_size, bg, rirs)
    features = AudioFeatures(
        melspec_model_path=str(feature_paths.melspec_onnx),
        embedding_model_path=str(feature_paths.embedding_onnx),
        inference_framework="onnx",
        ncpu=ncpu,
    )
    while True:
        t0 = time.perf_counter()
        try:
            audio = next(gen)
        except StopIteration:
            return
        t1 = time.perf_counter()
        feats = features.embed_clips(audio, batch_size=audio.shape[0], ncpu=ncpu)
        t2 = time.perf_counter()
        assert feats.shape[1:] == (16, 96), feats.shape
        yield label, audio.shape[0], t1 - t0, t2 - t1


# ----------------------------------------------------------------------------- wakeforge
def run_wakeforge(
    clip_paths: list[str], bg_dir: Path, rir_dir: Path, feature_paths: Any, cache: Path, batch: int
) -> Iterator[tuple[str, int, float, float]]:
    """Yield ``(label, clips, augment_s, features_s)`` per batch; the first item is the setup."""
    import torch

    from wakeforge.audio.io import load_audio
    from wakeforge.augment.pipeline import AugmentationConfig, build_augmenter
    from wakeforge.augment.placement import place_clips
    from wakeforge.features import TorchFeatureExtractor

    t0 = time.perf_counter()
    cfg = AugmentationConfig(rir_paths=[str(rir_dir)], background_paths=[str(bg_dir)])
    augmenter = build_augmenter(cfg, cache_dir=cache, seed=0)
    extractor = TorchFeatureExtractor(feature_paths)
    label = (
        f"wakeforge place_clips + Augmenter + TorchFeatureExtractor (batch {batch}, "
        f"{torch.get_num_threads()} torch threads)"
    )
    yield label, 0, time.perf_counter() - t0, 0.0  # setup: banks loaded, feature models built
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for i in range(0, len(clip_paths), batch):
            t1 = time.perf_counter()
            clips = [load_audio(p) for p in clip_paths[i : i + batch]]
            x = place_clips(
                clips,
                WINDOW,
                "end",
                cfg.end_jitter_s,
                augmenter.background_bank,
                g,
                pad_dbfs=cfg.pad_dbfs,
            )
            x = augmenter(x, generator=g)
            t2 = time.perf_counter()
            feats = extractor(x)
            t3 = time.perf_counter()
            assert tuple(feats.shape[1:]) == (16, 96), feats.shape
            yield label, x.shape[0], t2 - t1, t3 - t2


def interleave(
    runs: dict[str, Iterator[tuple[str, int, float, float]]],
) -> dict[str, dict[str, Any]]:
    """Advance the runs in turns, always the one with the fewest clips done.

    Load from other processes on a shared machine then falls on both paths alike.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, it in runs.items():  # the setup step of wakeforge (or the first oww batch)
        label, n, a, f = next(it)
        out[name] = {
            "label": label,
            "n": n,
            "augment_s": a if n else 0.0,
            "features_s": f,
            "setup_s": 0.0 if n else a,
        }
    live = dict(runs)
    while live:
        name = min(live, key=lambda k: out[k]["n"])
        try:
            _, n, a, f = next(live[name])
        except StopIteration:
            del live[name]
            continue
        r = out[name]
        r["n"] += n
        r["augment_s"] += a
        r["features_s"] += f
    return out


def _rates(r: dict[str, Any]) -> dict[str, float]:
    n = r["n"]
    return {
        "augment_clips_per_s": n / r["augment_s"],
        "features_clips_per_s": n / r["features_s"],
        "end_to_end_clips_per_s": n / (r["augment_s"] + r["features_s"]),
        "end_to_end_with_setup_clips_per_s": n / (r["augment_s"] + r["features_s"] + r["setup_s"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="clips (each placed in a 2 s window)")
    parser.add_argument("--batch", type=int, default=64, help="wakeforge batch size")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch threads (both paths)"
    )
    parser.add_argument(
        "--oww-ncpu",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="openWakeWord's ncpu (its train.py uses cpu_count // 2)",
    )
    parser.add_argument("--oww-deps", help="folder with openwakeword.data's extra dependencies")
    parser.add_argument("--skip-oww", action="store_true", help="time wakeforge only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    import torch

    from wakeforge.features.assets import feature_model_paths

    torch.set_num_threads(args.threads)
    feature_paths = feature_model_paths()
    results: dict[str, Any] = {
        "n": args.n,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="bench_augment_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        clips, bg, rirs = make_inputs(root, args.n, args.seed)
        print(
            f"inputs: {len(clips)} clips, {len(bg)} backgrounds, {len(rirs)} RIRs ({time.perf_counter() - t0:.1f} s)"
        )
        runs: dict[str, Iterator[tuple[str, int, float, float]]] = {}
        if not args.skip_oww:
            runs["openwakeword"] = run_oww(
                clips, bg, rirs, feature_paths, args.oww_deps, args.oww_ncpu
            )
        runs["wakeforge"] = run_wakeforge(
            clips, root / "backgrounds", root / "rirs", feature_paths, root / "cache", args.batch
        )
        for name, r in interleave(runs).items():
            r.update(_rates(r))
            results[name] = r
            print(f"{name}: {r['label']}")
            print(
                f"  augment {r['augment_clips_per_s']:8.1f} clips/s | features "
                f"{r['features_clips_per_s']:8.1f} clips/s | end to end "
                f"{r['end_to_end_clips_per_s']:8.1f} clips/s (incl. {r['setup_s']:.1f} s setup: "
                f"{r['end_to_end_with_setup_clips_per_s']:.1f})"
            )
    if "openwakeword" in results:
        o, w = results["openwakeword"], results["wakeforge"]
        results["ratio_end_to_end"] = w["end_to_end_clips_per_s"] / o["end_to_end_clips_per_s"]
        results["ratio_augment"] = w["augment_clips_per_s"] / o["augment_clips_per_s"]
        results["ratio_features"] = w["features_clips_per_s"] / o["features_clips_per_s"]
        print(
            f"ratio wakeforge / openWakeWord: end to end {results['ratio_end_to_end']:.1f}x, "
            f"augment {results['ratio_augment']:.1f}x, features {results['ratio_features']:.1f}x "
            f"(target >= 5x end to end)"
        )
    results["load_avg_end"] = os.getloadavg()
    print(
        f"load average start {results['load_avg_start'][0]:.1f}, end {results['load_avg_end'][0]:.1f} "
        f"on {os.cpu_count()} cores (other processes slow both paths)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
