"""Stage 2: ``python -m wakeforge.augment [overrides]`` — augment clips, precompute features.

Uses the same config as ``python -m wakeforge.train`` (``conf/train.yaml``); rerunning resumes.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from wakeforge.config import register_resolvers
from wakeforge.errors import cli_errors

register_resolvers()


@hydra.main(config_path="../../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with cli_errors():
        from wakeforge.augment.stage import main_entry

        main_entry(cfg)


if __name__ == "__main__":
    from wakeforge.check import run_hydra_cli
    from wakeforge.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH (Make's CONFIG=) -> Hydra overrides
    run_hydra_cli(main)  # Hydra composition errors (misspelt key, unknown option) -> one line
