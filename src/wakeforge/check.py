"""Check a config before the expensive work starts: ``python -m wakeforge.check [overrides]``.

Takes exactly the overrides of ``python -m wakeforge.train`` (same ``conf/train.yaml``, same
``config_file=PATH``) and lists every problem it finds, one line each, without producing
anything: a misspelt key, a wrong type or a value out of range fails in Hydra's composition
against the schema (:mod:`wakeforge.core.schema`); the rest is each stage's preflight, run by
:func:`wakeforge.pipeline.preflight.check_config`. Every message names the fix;
``docs/errors.md`` lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import hydra
from omegaconf import DictConfig

from wakeforge.core.config import phrases, register_resolvers, resolve_path
from wakeforge.core.errors import EXIT_USER_ERROR, cli_errors
from wakeforge.core.hydra_cli import run_hydra_cli
from wakeforge.pipeline.preflight import _gb, _stages, check_config, planned_bytes

register_resolvers()


#: Prepended to the command line: no run folder, no log file (user overrides still win).
CLI_DEFAULTS = [
    "hydra.output_subdir=null", "hydra.run.dir=.", "hydra/job_logging=disabled", "hydra/hydra_logging=disabled",
    "hydra.help.header='wakeforge.check: check a config before any work starts, writing nothing.\n\n"
    "python -m wakeforge.check [overrides]   (the overrides of python -m wakeforge.train)\n\n"
    "Prints error:/warning: lines and exits 2 on errors, else one ok: line. Messages: docs/errors.md.'",
]

def _summary(cfg: DictConfig, stages: Sequence[str]) -> str:
    need = planned_bytes(cfg, stages)
    return (f"ok: {', '.join(repr(p) for p in phrases(cfg))} -> {resolve_path(str(cfg.work_dir))}; stages "
            f"{', '.join(stages)}; about {_gb(need['total'])} to write")

@hydra.main(config_path="../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Print every problem (``error: ...`` / ``warning: ...``), then ``ok: ...``; exit 2 on errors."""
    with cli_errors():
        problems = check_config(cfg, raise_errors=False, fallback=False, report=False)
        for p in problems:
            print(str(p), file=sys.stderr, flush=True)
        errors = [p for p in problems if p.is_error]
        if errors:
            print(f"{len(errors)} problem(s) found; nothing was written", file=sys.stderr, flush=True)
            sys.exit(EXIT_USER_ERROR)
        stages, _ = _stages(cfg, None)
        print(_summary(cfg, stages), flush=True)

def cli() -> None:
    from wakeforge.core.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH -> overrides
    sys.argv[1:1] = CLI_DEFAULTS
    run_hydra_cli(main)


if __name__ == "__main__":
    cli()
