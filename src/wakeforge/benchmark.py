"""Benchmark wake word models on real recordings (a suite like ``../shared/realworld-dev``).

Usage::

    python -m wakeforge.benchmark --suite ../shared/realworld-dev \\
        --model data/detection/computer/computer.onnx hey_jarvis_v0.1
    python -m wakeforge.benchmark --suite my_suite --model main=old/computer.onnx \\
        new=data/detection/computer/computer.onnx --snr-db 10 --out logs/bench

A suite holds ``positives/<phrase>/`` (one utterance per file), ``negatives/<set>/`` and
``noise/<set>/``. Every file goes through the detector's streaming path (80 ms chunks, 1 s of
silence around each positive clip, negatives back to back with 0.5 s gaps); false accepts are
activations with a 1.2 s refractory period; for a model of one phrase the other phrases'
positives are negatives too; ``--snr-db`` also scores the positives with the suite's noise mixed
in. The streaming features are cached (``--cache``), so scoring more models later costs no
second feature pass. Prints a table per phrase and writes ``benchmark.json``,
``benchmark.txt`` and ``det_<phrase>.png`` (one curve per model) to ``--out``; ``--breakdown``
adds recall by quartile of the clips' speech level, noise floor, spoken length and peak
(``breakdown_<phrase>.png``). Counting rules:
:mod:`wakeforge.evaluation.benchmark`.

``--model`` takes ``.onnx`` / ``.tflite`` files or model names (``python -m wakeforge.detect
--list``), optionally labelled ``LABEL=MODEL``. A model's phrase comes from its model card
(``{stem}.json``), else its file name (``computer.onnx`` -> ``computer``), else ``--phrase``;
a model whose phrase has no positives folder is scored on the negatives only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from wakeforge.core.errors import WakeforgeError, cli_entry


def build_parser() -> argparse.ArgumentParser:
    from wakeforge.evaluation.benchmark import DEFAULT_GAP_S, DEFAULT_PAD_S, DEFAULT_REFRACTORY_S

    p = argparse.ArgumentParser(
        prog="python -m wakeforge.benchmark",
        description="Score wake word models on a suite of real recordings through the "
        "streaming detector path: recall, false accepts per hour, DET curves.",
    )
    p.add_argument("--suite", required=True, metavar="DIR",
                   help="folder with positives/<phrase>/, negatives/<set>/, noise/<set>/")
    # extend: `--model a.onnx --model b.onnx` scores both (a plain nargs="+" kept only the last).
    p.add_argument("--model", nargs="+", action="extend", required=True, metavar="[LABEL=]MODEL",
                   help=".onnx/.tflite files or model names, optionally labelled LABEL=MODEL "
                   "(several after one --model, or --model repeated)")
    p.add_argument("--phrase", default=None,
                   help="phrase of models whose card/file name does not say (e.g. 'computer')")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="operating threshold of the recall and FA/hour columns (default 0.5)")
    p.add_argument("--snr-db", type=float, default=10.0,
                   help="also score positives with noise mixed in at this SNR (default 10; "
                   "-1 turns it off)")
    p.add_argument("--noise", nargs="+", default=None, metavar="DIR_OR_FILE",
                   help="noise for --snr-db (default: the suite's noise/ folders)")
    p.add_argument("--refractory-s", type=float, default=DEFAULT_REFRACTORY_S,
                   help=f"no new activation this long after one (default {DEFAULT_REFRACTORY_S} s)")
    p.add_argument("--pad-s", type=float, default=DEFAULT_PAD_S,
                   help=f"silence around each positive clip and each stream (default {DEFAULT_PAD_S} s)")
    p.add_argument("--gap-s", type=float, default=DEFAULT_GAP_S,
                   help=f"silence between negative files (default {DEFAULT_GAP_S} s)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: logs/benchmark/<suite name>)")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="feature cache (default: <wakeforge cache>/benchmark)")
    p.add_argument("--detection-dir", default=None,
                   help="detection folder for model names (default: paths.detection_dir)")
    p.add_argument("--workers", type=int, default=0,
                   help="processes for the feature pass (default 0: all cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of the start-up and mixing noise")
    p.add_argument("--breakdown", action="store_true",
                   help="also count recall by quartile of each positive clip's speech level, "
                   "noise floor, spoken length and peak (table, benchmark.json, "
                   "breakdown_<phrase>.png): which real clips are missed")
    p.add_argument("--json", action="store_true", help="print benchmark.json instead of tables")
    return p


def _validate(args: argparse.Namespace) -> None:
    from wakeforge.core.metrics import check_operating_point

    check_operating_point(args.threshold, args.refractory_s)
    if args.pad_s < 0 or args.gap_s < 0:
        raise WakeforgeError("--pad-s and --gap-s must be >= 0")
    if args.workers < 0:
        raise WakeforgeError(f"--workers must be >= 0 (0: all cores), got {args.workers}")


def resolve_specs(items: list[str], phrase: str | None, detection_dir: Path,
                  positives: set[str]) -> list:
    """``[LABEL=]MODEL`` arguments -> :class:`~wakeforge.evaluation.benchmark.ModelSpec` list."""
    from wakeforge.evaluation.discovery import resolve_model
    from wakeforge.evaluation.benchmark import ModelSpec, card_for, slug

    specs = []
    labels: set[str] = set()
    for item in items:
        label, sep, ref = item.partition("=")
        if not sep:
            label, ref = "", item
        if sep and not ref:
            raise WakeforgeError(f"--model {item!r}: nothing after '='; pass LABEL=MODEL")
        found = resolve_model(ref, detection_dir)
        card = card_for(found.path) or {}
        card_phrase = card.get("phrase")
        if isinstance(card_phrase, list):
            card_phrase = card_phrase[0] if card_phrase else None
        if phrase:
            ph = slug(phrase)
        elif isinstance(card_phrase, str) and slug(card_phrase) in positives:
            ph = slug(card_phrase)
        elif slug(found.path.stem) in positives:
            ph = slug(found.path.stem)
        else:
            ph = None
        thr = card.get("recommended_threshold")
        thr = float(thr) if isinstance(thr, (int, float)) and 0 < float(thr) <= 1 else None
        label = label or found.name
        if label in labels:
            raise WakeforgeError(f"two models are labelled {label!r}; label them LABEL=MODEL")
        labels.add(label)
        specs.append(ModelSpec(label=label, path=found.path, phrase=ph, card_threshold=thr))
    return specs


@cli_entry
def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m wakeforge.benchmark``; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    _validate(args)

    from wakeforge.evaluation.discovery import default_detection_dir
    from wakeforge.evaluation.benchmark import Settings, format_tables, load_suite, run_benchmark
    from wakeforge.features.assets import default_cache_dir

    suite = load_suite(args.suite)
    det = Path(args.detection_dir) if args.detection_dir else default_detection_dir()
    specs = resolve_specs(args.model, args.phrase, det, set(suite.positives))
    root = Path(os.environ.get("WAKEFORGE_ROOT", "."))
    out_dir = Path(args.out) if args.out else root / "logs" / "benchmark" / suite.root.resolve().name
    cache = Path(args.cache) if args.cache else default_cache_dir() / "benchmark"
    result = run_benchmark(
        args.suite, specs, cache_dir=cache, out_dir=out_dir,
        snr_db=None if args.snr_db is not None and args.snr_db < 0 else args.snr_db,
        noise_paths=args.noise, refractory_s=args.refractory_s, threshold=args.threshold,
        settings=Settings(pad_s=args.pad_s, gap_s=args.gap_s, seed=args.seed),
        workers=args.workers, breakdown=args.breakdown,
    )
    if args.json:
        print((out_dir / "benchmark.json").read_text(), file=out, end="", flush=True)
    else:
        print(format_tables(result), file=out, flush=True)
        print(f"\nwrote {out_dir / 'benchmark.json'}, DET plots: "
              + (", ".join(result.get("plots", {}).values()) or "none")
              + ("; breakdown plots: " + ", ".join(result["breakdown_plots"].values())
                 if result.get("breakdown_plots") else ""), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
