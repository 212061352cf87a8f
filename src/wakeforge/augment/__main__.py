"""Stage 2: ``python -m wakeforge.augment [overrides]`` — augment clips, precompute features.

Uses the same config as ``python -m wakeforge.train`` (``conf/train.yaml``); rerunning resumes.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from wakeforge.core.config import register_resolvers
from wakeforge.core.errors import cli_errors

register_resolvers()


@hydra.main(config_path="../../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with cli_errors():
        from wakeforge.augment.stage import run_augment
        from wakeforge.pipeline.preflight import check_config
        from wakeforge.utils.console import setup_console

        setup_console()
        check_config(cfg, stages=["augment"])
        run_augment(cfg)


if __name__ == "__main__":
    from wakeforge.core.hydra_cli import run_hydra_cli
    from wakeforge.core.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH (Make's CONFIG=) -> Hydra overrides
    run_hydra_cli(main)  # Hydra composition errors (misspelt key, unknown option) -> one line
