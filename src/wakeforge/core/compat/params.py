"""DVC's ``params.yaml`` (:func:`compose_params`) and the ``python -m wakeforge.compat`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from wakeforge.core.compat.argv import expand_argv
from wakeforge.core.compat.files import CONF_DIR, config_overrides

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
