"""Adapt a trained model to a household's own voices: ``python -m wakeforge.personalize``.

Usage::

    python -m wakeforge.personalize --model data/detection/computer/computer.onnx --recordings my_takes/
    python -m wakeforge.personalize --model data/detection/computer --recordings my_takes/ \\
        --negatives tv_evening.wav finetune.steps=800
    python -m wakeforge.personalize finetune.init_from=data/detection/computer data.positive_paths=[my_takes]

Starts from the trained model (weights from its run's checkpoint or its ONNX file), augments
the 5-50 recordings heavily (reverb, noise, gain, speed; ``finetune.rows_per_recording`` rows
each), mixes them with the model's own training features so it does not forget, fine-tunes for
``finetune.steps`` batches on the CPU, then scores the old and the new model on a held-out share
of the recordings and on the base run's held-out general speech. When the new model accepts more
than ``finetune.max_fa_increase`` extra false alarms per hour it is refused (one line, the old
model kept); otherwise ``{model_name}_personal.onnx|.tflite|.json`` lands beside the old model's
folder (``finetune.out_dir`` / ``finetune.model_name`` to change). Anything after the options is
a Hydra override of ``conf/train.yaml`` (``finetune.*``, ``augmentation.*``, ``seed``...).
"""

from __future__ import annotations

import argparse
import sys

from wakeforge.core.errors import cli_entry


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wakeforge.personalize",
        description="Fine-tune a trained wakeforge model on a few real recordings of the phrase "
        "(the household's own voices), with a guard that refuses a model that false-accepts more.",
        epilog="Settings and their defaults: conf/finetune/default.yaml. Record takes with "
        "`python -m wakeforge.record --phrase PHRASE --n 20 DIR`.",
    )
    p.add_argument("--model", metavar="MODEL", help="trained wakeforge model: its .onnx file or its folder "
                   "(= finetune.init_from)")
    p.add_argument("--recordings", nargs="+", metavar="DIR_OR_FILE",
                   help="recordings of the phrase, one utterance per file, any format (= data.positive_paths)")
    p.add_argument("--negatives", nargs="+", metavar="DIR_OR_FILE",
                   help="optional recordings without the phrase: the room, the TV (= finetune.negative_paths)")
    p.add_argument("--out", metavar="DIR", help="folder of the adapted model (= finetune.out_dir)")
    p.add_argument("--name", metavar="NAME", help="file name of the adapted model (= finetune.model_name)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides of conf/train.yaml")
    return p


def _quote(items: list[str]) -> str:
    return "[" + ",".join("'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'" for s in items) + "]"


def overrides_of(args: argparse.Namespace) -> list[str]:
    """The command's options as Hydra overrides (options first, explicit overrides win)."""
    out = []
    if args.model:
        out.append(f"finetune.init_from='{args.model}'")
    if args.recordings:
        out.append(f"data.positive_paths={_quote(args.recordings)}")
    if args.negatives:
        out.append(f"finetune.negative_paths={_quote(args.negatives)}")
    if args.out:
        out.append(f"finetune.out_dir='{args.out}'")
    if args.name:
        out.append(f"finetune.model_name='{args.name}'")
    return out + list(args.overrides)


def _split_overrides(args: argparse.Namespace) -> None:
    """``--recordings a/ b.wav seed=3``: argparse gives ``seed=3`` to the list; it is an override."""
    import os

    for key in ("recordings", "negatives"):
        items = getattr(args, key) or []
        keep = [x for x in items if "=" not in x or os.path.exists(x)]
        args.overrides = [x for x in items if x not in keep] + list(args.overrides)
        setattr(args, key, keep or None)


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _split_overrides(args)
    overrides = overrides_of(args)
    from wakeforge.core.hydra_cli import precheck_overrides
    from wakeforge.core.config import compose_config, register_resolvers
    from wakeforge.utils.console import setup_console

    register_resolvers()
    precheck_overrides(overrides)  # a misspelt key or bad value: one line, before any work
    cfg = compose_config(overrides)
    setup_console()
    from wakeforge.personal.run import run_personalize

    result = run_personalize(cfg)
    print(f"adapted model: {result['onnx']} (+ .tflite, card {result['card'].name}); "
          f"held-out recordings recall {_f(result['old'].recall)} -> {_f(result['new'].recall)}", flush=True)
    return 0


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


if __name__ == "__main__":
    sys.exit(main())
