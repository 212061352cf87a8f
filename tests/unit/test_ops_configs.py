"""Operations configs compose: dvc.yaml against params, trainer=ddp, launcher=slurm, Optuna."""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from wakeforge.core.compat import compose_params
from wakeforge.core.config import compose_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load(compose_params(["experiment=smoke"]))


def _select(tree: dict, dotted: str):
    node = tree
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"{dotted} not in params.yaml"
        node = node[part]
    return node


def test_dvc_stages_match_the_config(params):
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert list(pipeline["stages"]) == ["generate", "augment", "train"]
    for name, stage in pipeline["stages"].items():
        for key in stage["params"]:
            _select(params, key)
        for dep in stage["deps"]:
            if "${" not in dep:
                assert (REPO / dep).exists(), f"{name}: dep {dep} missing"
        module = re.search(r"python -m ([\w.]+)", stage["cmd"]).group(1)
        assert importlib.util.find_spec(module) is not None, module
        assert "--config-name params" in stage["cmd"]
    # Each stage's outputs are the next one's inputs (DVC templating from params.yaml).
    outs = {o for o in pipeline["stages"]["generate"]["outs"]}
    assert outs <= set(pipeline["stages"]["augment"]["deps"])
    assert "${work_dir}/features" in pipeline["stages"]["train"]["deps"]
    # A model change must not rerun TTS or augmentation.
    assert not any(
        p.startswith(("model", "trainer")) for p in pipeline["stages"]["generate"]["params"]
    )
    assert not any(
        p.startswith(("model", "trainer")) for p in pipeline["stages"]["augment"]["params"]
    )


def test_dvc_repo_config():
    cfg = configparser.ConfigParser()
    cfg.read_string(re.sub(r"(?m)^\s+", "", (REPO / ".dvc" / "config").read_text()))
    assert cfg["core"]["analytics"] == "false"
    assert cfg["hydra"]["enabled"] == "true" and cfg["hydra"]["config_name"] == "pipeline"
    assert "__pycache__/" in (REPO / ".dvcignore").read_text()


def test_pipeline_params_keep_run_folder_interpolations(params):
    assert params["trainer"]["default_root_dir"] == "${hydra:runtime.output_dir}"
    assert params["paths"]["cache_dir"].startswith("${oc.env:WAKEFORGE_CACHE_DIR")
    assert (
        params["work_dir"] == "./data/detection/hey_jarvis" and params["trainer"]["max_steps"] == 300
    )


def test_ddp_trainer_composes(tmp_path):
    cfg = compose_config(
        ["trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"], output_dir=tmp_path
    )
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.devices == 4 and cfg.trainer.num_nodes == 2


def test_slurm_launcher_follows_the_trainer(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose_config(
        ["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"],
        output_dir=tmp_path,
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.tasks_per_node == 4 and launcher.nodes == 2  # one SLURM task per DDP process
    single = compose_config(["hydra/launcher=slurm"], output_dir=tmp_path).hydra.launcher
    assert single.tasks_per_node == 1 and single.nodes == 1


def test_optuna_search_composes(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    cfg = compose_config(["hparams_search=optuna", "experiment=smoke"], output_dir=tmp_path)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "maximize"
    assert OmegaConf.select(cfg, "hydra.mode").name == "MULTIRUN"
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, key
