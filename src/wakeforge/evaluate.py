"""Evaluate a wake word model on real recordings: recall, false accepts/hour, DET curve.

Usage::

    python -m wakeforge.evaluate --model alexa --positive my_alexas/ \\
        --negative podcast.flac kitchen/ --target-fa-per-hour 0.5 --out eval/alexa
    python -m wakeforge.evaluate --model data/detection/hey_bob/hey_bob.tflite \\
        --positive clips/ --negative tv.wav --snr-db 10 --noise fan.wav

``--model`` is a ``.onnx`` / ``.tflite`` file or a model name found by
:mod:`wakeforge.evaluation.discovery` (``$WAKE_MODEL_PATHS``, the detection folder, built-ins).
Positive files hold one utterance each; negative files (clips or hours-long recordings) hold
none. Every file is scored through the detector's own 80 ms streaming path. Writes
``metrics.json``, ``det.json``, ``det.png``, ``scores_hist.png``, ``per_file.json`` and
``report.html`` (self-contained: plots, the worst false accepts and misses as playable audio,
the model card when one sits beside the model) to ``--out`` (default ``logs/eval/{model_name}``)
and prints a summary. The numbers are defined in
:mod:`wakeforge.evaluation.report`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from wakeforge.core.errors import WakeforgeError, cli_entry


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wakeforge.evaluate",
        description="Score recordings with a wake word model through the streaming detector "
        "path; report recall, false accepts per hour and a DET curve.",
    )
    p.add_argument("--model", required=True, metavar="NAME_OR_PATH",
                   help="model name (see `python -m wakeforge.detect --list`) or .onnx/.tflite")
    p.add_argument("--positive", nargs="+", default=[], metavar="DIR_OR_FILE",
                   help="recordings of the wake word, one utterance per file")
    p.add_argument("--negative", nargs="+", default=[], metavar="DIR_OR_FILE",
                   help="recordings without the wake word (clips or long files)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="operating threshold for recall and FA/hour, and the lowest the "
                   "recommended threshold may be (default 0.5)")
    p.add_argument("--target-fa-per-hour", type=float, default=0.5,
                   help="recommend the lowest threshold (>= --threshold) with at most this many "
                   "false accepts per hour, counted as whole false accepts over the negatives' "
                   "hours rounded up (default 0.5)")
    p.add_argument("--refractory-s", type=float, default=2.0,
                   help="no new activation this long after one (default 2.0 s)")
    p.add_argument("--snr-db", type=float, default=None,
                   help="mix background noise into every file at this SNR (dB)")
    p.add_argument("--noise", nargs="+", default=None, metavar="DIR_OR_FILE",
                   help="background recordings for --snr-db (default: pink noise)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder for metrics.json, plots and report.html "
                   "(default: logs/eval/{model_name})")
    p.add_argument("--detection-dir", default=None,
                   help="detection folder for model names (default: paths.detection_dir)")
    p.add_argument("--framework", choices=["onnx", "tflite"], default=None,
                   help="use this file of a named model (default: onnx)")
    p.add_argument("--seed", type=int, default=0, help="seed of padding/mixing noise")
    p.add_argument("--workers", type=int, default=0,
                   help="processes scoring files side by side (default 0: all cores; "
                   "results do not depend on it)")
    p.add_argument("--json", action="store_true", help="print metrics.json instead of a summary")
    return p


def _validate(args: argparse.Namespace) -> None:
    from wakeforge.core.metrics import check_operating_point

    check_operating_point(args.threshold, args.refractory_s)
    if args.target_fa_per_hour < 0:
        raise WakeforgeError(f"--target-fa-per-hour must be >= 0, got {args.target_fa_per_hour}")
    if not args.positive and not args.negative:
        raise WakeforgeError("nothing to evaluate: pass --positive and/or --negative files "
                             "or folders")
    if args.workers < 0:
        raise WakeforgeError(f"--workers must be >= 0 (0: all cores), got {args.workers}")
    if args.noise and args.snr_db is None:
        raise WakeforgeError("--noise needs --snr-db (the level to mix it at)")


@cli_entry
def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m wakeforge.evaluate``; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    _validate(args)

    from wakeforge.evaluation.discovery import default_detection_dir, resolve_model
    from wakeforge.evaluation.report import evaluate_model, format_summary

    det = Path(args.detection_dir) if args.detection_dir else default_detection_dir()
    model = resolve_model(args.model, det)
    if args.framework:
        model = model.with_framework(args.framework)
    root = Path(os.environ.get("WAKEFORGE_ROOT", "."))
    out_dir = Path(args.out) if args.out else root / "logs" / "eval" / model.name
    result = evaluate_model(
        model.path,
        args.positive,
        args.negative,
        threshold=args.threshold,
        target_fa_per_hour=args.target_fa_per_hour,
        refractory_s=args.refractory_s,
        snr_db=args.snr_db,
        out_dir=out_dir,
        noise_paths=args.noise,
        seed=args.seed,
        workers=args.workers,
    )
    from wakeforge.evaluation.benchmark import card_for
    from wakeforge.evaluation.html_report import write_report

    report = write_report(out_dir, card=card_for(Path(model.path)))
    if args.json:
        print(Path(result["outputs"]["metrics"]).read_text(), file=out, end="", flush=True)
    else:
        print(format_summary(result), file=out, flush=True)
        print(f"report: {report}", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
