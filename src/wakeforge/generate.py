"""Stage 1 CLI: turn the wake phrase into speech clips (positives, near-miss and general negatives).

    python -m wakeforge.generate                                # "hey jarvis", default counts
    python -m wakeforge.generate data.phrase="ok nabu" data.n_samples=5000
    python -m wakeforge.generate tts.engines=[piper] tts.piper_voices=[/voices/en_US-libritts_r-medium.onnx]
    python -m wakeforge.generate tts.shard=3/16                 # one task of a cluster array job
    python -m wakeforge.generate experiment=smoke               # a few dozen clips

Finished clips are kept: rerun the same command after an interruption to continue.
The work happens in :func:`wakeforge.generation.run.generate_clips`.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from wakeforge.core.config import register_resolvers
from wakeforge.core.errors import cli_errors

register_resolvers()


@hydra.main(config_path="../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    # Inside the Hydra task: Hydra would otherwise catch and reformat WakeforgeError.
    with cli_errors():
        from wakeforge.generation.run import run_generate
        from wakeforge.pipeline.preflight import check_config
        from wakeforge.utils.console import setup_console

        setup_console()
        check_config(cfg, stages=["generate"])
        report = run_generate(cfg)
        print(report.summary())


if __name__ == "__main__":
    from wakeforge.core.hydra_cli import run_hydra_cli
    from wakeforge.core.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH (Make's CONFIG=) -> Hydra overrides
    run_hydra_cli(main)
