"""Train a wake word model: ``python -m wakeforge.train [overrides]``.

Runs the stages listed in ``stages`` (default: generate -> augment -> train). Finished work is
skipped, so rerunning the same command resumes where it stopped. Examples::

    python -m wakeforge.train                                  # "hey jarvis", embedded defaults
    python -m wakeforge.train data.phrase="ok nabu" model=rnn
    python -m wakeforge.train experiment=smoke                 # tiny end-to-end run
    python -m wakeforge.train stages=[train] trainer.max_steps=5000
    python -m wakeforge.train -m experiment=smoke model.layer_size=16,32   # sweep
    python -m wakeforge.train --cfg job                        # print the composed config
    python -m wakeforge.train config_file=my_model.yaml        # openWakeWord YAML or experiment file
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig

from wakeforge.core.config import register_resolvers
from wakeforge.core.errors import cli_errors

register_resolvers()


@hydra.main(config_path="../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    with cli_errors():
        from wakeforge.pipeline.run import run_pipeline

        result: dict[str, Any] = run_pipeline(cfg)
        return result.get("selection")
    return None


if __name__ == "__main__":
    from wakeforge.core.hydra_cli import run_hydra_cli
    from wakeforge.core.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH (Make's CONFIG=) -> Hydra overrides
    run_hydra_cli(main)  # Hydra composition errors (misspelt key, unknown option) -> one line
