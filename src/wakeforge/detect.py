"""Run wake word models over a recording or a live microphone.

Usage::

    python -m wakeforge.detect --list                       # what is discovered, what skipped
    python -m wakeforge.detect recording.wav                # every discovered model
    python -m wakeforge.detect --model alexa --model ./hey_bob.onnx a.wav b.flac
    python -m wakeforge.detect --mic --model hey_jarvis     # needs `pip install sounddevice`

Models come from ``--model`` (a file, or a name looked up in the tiers of
:mod:`wakeforge.evaluation.discovery`), else every discovered model. Files are scored through the
detector's own 80 ms streaming path (:mod:`wakeforge.evaluation.streaming`); a detection is an
activation: the score reaches ``--threshold`` and no other activation happened in the last
``--refractory-s`` seconds (:mod:`wakeforge.core.metrics`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from wakeforge.core.errors import WakeforgeError, cli_entry


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wakeforge.detect",
        description="Detect wake words in audio files or from a live microphone, with the "
        "models wakeforge discovers ($WAKE_MODEL_PATHS, the detection folder, built-ins).",
    )
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="audio files to scan (any format/rate soundfile reads)")
    p.add_argument("--list", action="store_true",
                   help="print the discovered models and why others were skipped, then exit")
    p.add_argument("--model", action="append", default=None, metavar="NAME_OR_PATH",
                   help="model name or .onnx/.tflite file (repeatable; default: all discovered)")
    p.add_argument("--mic", action="store_true",
                   help="listen to the default microphone (needs the optional sounddevice)")
    p.add_argument("--device", default=None,
                   help="sound device index or name for --mic (see `python -m sounddevice`)")
    p.add_argument("--duration-s", type=float, default=None,
                   help="stop --mic after this many seconds (default: until Ctrl+C)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="score that triggers a detection (default 0.5)")
    p.add_argument("--refractory-s", type=float, default=2.0,
                   help="no new detection this long after one (default 2.0 s)")
    p.add_argument("--detection-dir", default=None,
                   help="detection folder (default: paths.detection_dir, ./data/detection)")
    p.add_argument("--no-builtin", action="store_true",
                   help="do not use openWakeWord's built-in reference models")
    p.add_argument("--framework", choices=["onnx", "tflite"], default="onnx",
                   help="format to use when a model has both files (default onnx)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    return p


def _validate(args: argparse.Namespace) -> None:
    from wakeforge.core.metrics import check_operating_point

    check_operating_point(args.threshold, args.refractory_s)
    if not args.list and not args.mic and not args.files:
        raise WakeforgeError("nothing to do: pass audio FILEs, --mic, or --list "
                             "(python -m wakeforge.detect --help)")
    if args.mic and args.files:
        raise WakeforgeError("pass either FILEs or --mic, not both")


def select_models(
    models: list[str] | None,
    detection_dir: str | os.PathLike[str] | None,
    *,
    include_builtin: bool = True,
    framework: str = "onnx",
    env: dict[str, str] | None = None,
) -> list[Any]:
    """``--model`` values (or every discovered model) -> list of :class:`FoundModel`.

    Raises:
        WakeforgeError: A name matches nothing, or nothing is discovered.
    """
    from wakeforge.evaluation.discovery import default_detection_dir, discover_models, resolve_model

    env = dict(os.environ) if env is None else env
    det = Path(detection_dir) if detection_dir else default_detection_dir()
    explicit_files = models and all(Path(m).expanduser().is_file() for m in models)
    res = None if explicit_files else discover_models(
        det, env=env, include_builtin=include_builtin, prefer=framework)
    if not models:
        assert res is not None
        if not res.found:
            raise WakeforgeError(
                "no models found: train one (python -m wakeforge.train), set WAKE_MODEL_PATHS, "
                "or pass --model FILE; `python -m wakeforge.detect --list` shows what was skipped"
            )
        return list(res.found)
    out = []
    for m in models:
        found = resolve_model(m, det, env=env, discovered=res)
        out.append(found)
    return out


def _scorers(models: list[Any], seed: int = 0) -> list[Any]:
    from wakeforge.evaluation.streaming import StreamingFeatures, StreamingScorer

    feats = StreamingFeatures(seed=seed)
    return [StreamingScorer(m.path, features=feats, seed=seed) for m in models]


def _labels(models: list[Any]) -> list[str]:
    """Unique display names (a name used twice gets its tier/format appended)."""
    names = [m.name for m in models]
    out = []
    for m in models:
        label = m.name if names.count(m.name) == 1 else f"{m.name}[{m.tier}:{m.framework}]"
        out.append(label)
    return out


def detect_files(
    files: Iterable[str | os.PathLike[str]],
    models: list[Any],
    threshold: float = 0.5,
    refractory_s: float = 2.0,
    *,
    block_s: float = 30.0,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Scan files with models; one result per (file, model).

    Files are read and scored in blocks of ``block_s`` seconds (:class:`~wakeforge.audio.io.AudioStream`,
    :func:`~wakeforge.evaluation.streaming.score_stream_many`), so memory stays bounded however long a
    recording is (a 3-hour WAV included); the scores equal those of the whole-file path.

    Args:
        files: Audio files.
        models: :class:`~wakeforge.evaluation.discovery.FoundModel` list (from :func:`select_models`).
        threshold: Detection threshold.
        refractory_s: Dead time after a detection.
        block_s: Seconds of audio read and scored at a time.
        progress: Show a progress bar on stderr (default: when stderr is a terminal).

    Returns:
        Dicts ``{file, model, path, detections: [{time_s, score}], max_score, max_time_s}``;
        ``time_s`` is the end of the 80 ms frame that fired (at most the file's length: a
        detection in the padding after the file is reported at its end), ``score`` the peak
        of that run.

    Raises:
        AudioError: A file is missing or cannot be read.
    """
    import numpy as np

    from wakeforge.audio.io import AudioStream
    from wakeforge.core.metrics import activation_frames, refractory_frames_for
    from wakeforge.evaluation.streaming import FRAME_S, frame_end_times, score_stream_many

    files = list(files)
    streams = [AudioStream(f, block_s=block_s) for f in files]  # every file checked before work
    scorers = _scorers(models)
    labels = _labels(models)
    refr = refractory_frames_for(refractory_s, FRAME_S)
    show = sys.stderr.isatty() if progress is None else progress
    results = []
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]detect[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f} s"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True, disable=not show) as bar:
        for f, stream in zip(files, streams, strict=True):
            task = bar.add_task(Path(f).name, total=stream.duration_s)

            def blocks(stream: Any = stream, task: Any = task) -> Iterator[Any]:
                for block in stream.blocks():
                    yield block
                    bar.advance(task, len(block) / 16_000)

            all_scores = score_stream_many(scorers, blocks(), label=Path(f).name)
            for label, model, s in zip(labels, models, all_scores, strict=True):
                times = np.minimum(frame_end_times(len(s)), stream.duration_s)
                above = s >= threshold
                dets = []
                for a in activation_frames(s, threshold, refr).tolist():
                    b = a
                    while b + 1 < len(s) and above[b + 1]:
                        b += 1
                    dets.append({"time_s": round(float(times[a]), 3),
                                 "score": round(float(np.max(s[a : b + 1])), 6)})
                best = int(np.argmax(s)) if len(s) else 0
                results.append({
                    "file": str(f),
                    "model": label,
                    "path": str(model.path),
                    "detections": dets,
                    "max_score": round(float(s.max()) if len(s) else 0.0, 6),
                    "max_time_s": round(float(times[best]) if len(s) else 0.0, 3),
                })
    return results


def format_file_results(results: list[dict[str, Any]], threshold: float) -> str:
    """One line per (file, model): detections with times and scores, or the best score."""
    lines = []
    for r in results:
        name = Path(r["file"]).name
        if r["detections"]:
            hits = ", ".join(f"{d['time_s']:.2f} s (score {d['score']:.3f})"
                             for d in r["detections"])
            lines.append(f"{name}: {r['model']} DETECTED at {hits}")
        else:
            lines.append(f"{name}: {r['model']} no detection (max {r['max_score']:.3f} at "
                         f"{r['max_time_s']:.2f} s, threshold {threshold:g})")
    return "\n".join(lines)


def run_live(
    chunks: Iterable[Any],
    models: list[Any],
    threshold: float = 0.5,
    refractory_s: float = 2.0,
    on_detect: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Feed 80 ms int16 chunks through the detector as they arrive (the --mic loop).

    Args:
        chunks: Iterable of 1280-sample int16 arrays at 16 kHz.
        models: Models to run (one shared feature stream).
        threshold: Detection threshold.
        refractory_s: Dead time after a detection.
        on_detect: Called with each detection ``{time_s, model, score}``.

    Returns:
        Every detection.
    """
    from wakeforge.core.metrics import ActivationTracker, refractory_frames_for
    from wakeforge.evaluation.streaming import FRAME_S, to_int16

    scorers = _scorers(models)
    labels = _labels(models)
    feats = scorers[0].features
    feats.reset()
    refr = refractory_frames_for(refractory_s, FRAME_S)
    trackers = [ActivationTracker(threshold, refr) for _ in scorers]
    found: list[dict[str, Any]] = []
    for chunk in chunks:
        feats.push(to_int16(chunk))
        t = feats.n_chunks * FRAME_S
        for label, sc, tr in zip(labels, scorers, trackers, strict=True):
            score = sc.score_latest()
            if tr.update(score):
                d = {"time_s": round(t, 3), "model": label, "score": round(score, 6)}
                found.append(d)
                if on_detect is not None:
                    on_detect(d)
    return found


def import_sounddevice() -> Any:
    """Import the optional ``sounddevice`` module.

    Raises:
        WakeforgeError: Not installed, or its PortAudio library is missing.
    """
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # OSError: PortAudio library missing
        raise WakeforgeError(
            f"--mic needs the optional sound device library ({exc}); install it with "
            "`pip install sounddevice` (Debian: also `apt-get install libportaudio2`), "
            "or scan a recorded FILE instead"
        ) from None
    return sd


def mic_chunks(device: str | None = None, duration_s: float | None = None) -> Iterator[Any]:
    """Open a microphone (16 kHz mono, via ``sounddevice``) and iterate over 80 ms int16 chunks.

    Raises:
        WakeforgeError: sounddevice missing, or the device cannot record 16 kHz mono (raised
            here, before the first chunk is requested).
    """
    sd = import_sounddevice()
    from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ

    dev: int | str | None = device
    if isinstance(device, str) and device.isdigit():
        dev = int(device)
    try:
        stream = sd.InputStream(samplerate=SAMPLE_RATE_HZ, channels=1, dtype="int16",
                                blocksize=CHUNK_SAMPLES, device=dev)
    except Exception as exc:  # PortAudioError, ValueError for bad device names
        raise WakeforgeError(
            f"cannot open the microphone at 16 kHz mono ({' '.join(str(exc).split())}); pick "
            "another --device (list them with `python -m sounddevice`)"
        ) from None
    n_max = None if duration_s is None else int(duration_s * SAMPLE_RATE_HZ / CHUNK_SAMPLES)

    def chunks() -> Iterator[Any]:
        n = 0
        with stream:
            while n_max is None or n < n_max:
                data, _overflowed = stream.read(CHUNK_SAMPLES)
                n += 1
                yield data[:, 0].copy()

    return chunks()


def _print(text: str, out: TextIO) -> None:
    print(text, file=out, flush=True)


@cli_entry
def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m wakeforge.detect``; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    _validate(args)
    if args.list:
        from wakeforge.evaluation.discovery import default_detection_dir, discover_models

        det = Path(args.detection_dir) if args.detection_dir else default_detection_dir()
        res = discover_models(det, include_builtin=not args.no_builtin, prefer=args.framework)
        if args.json:
            _print(json.dumps({
                "detection_dir": str(det),
                "found": [{"name": m.name, "path": str(m.path), "tier": m.tier,
                           "framework": m.framework,
                           "alternates": {k: str(v) for k, v in m.alternates.items()}}
                          for m in res.found],
                "skipped": [{"path": p, "reason": r} for p, r in res.skipped],
            }, indent=2), out)
        else:
            _print(res.format(), out)
        return 0

    if args.mic:
        import_sounddevice()  # fail before loading models
    models = select_models(args.model, args.detection_dir, include_builtin=not args.no_builtin,
                           framework=args.framework)
    if args.mic:
        source = mic_chunks(args.device, args.duration_s)
        _print(f"listening with {', '.join(_labels(models))} (threshold {args.threshold:g}); "
               "Ctrl+C stops", out)
        start = time.time()

        def show(d: dict[str, Any]) -> None:
            if args.json:
                _print(json.dumps(d), out)
            else:
                stamp = time.strftime("%H:%M:%S", time.localtime(start + d["time_s"]))
                _print(f"{stamp}  {d['model']} detected (score {d['score']:.3f})", out)

        try:
            run_live(source, models, args.threshold,
                     args.refractory_s, on_detect=show)
        except KeyboardInterrupt:
            _print("stopped", out)
        return 0

    results = detect_files(args.files, models, args.threshold, args.refractory_s)
    if args.json:
        _print(json.dumps(results, indent=2), out)
    else:
        _print(format_file_results(results, args.threshold), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
