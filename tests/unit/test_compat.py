"""CONFIG=PATH: openWakeWord-style flat YAML and Hydra experiment files -> Hydra overrides."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from wakeforge.core.compat import (
    CONF_DIR,
    FLAT_KEYS,
    compose_params,
    config_kind,
    config_overrides,
    expand_argv,
    flat_overrides,
    hydra_value,
)
from wakeforge.core.config import compose_config
from wakeforge.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

# openWakeWord's examples/custom_model.yml (dscripka/openWakeWord), comments removed, paths kept.
OWW_CUSTOM_MODEL = """\
target_phrase: "hey jarvis"
total_length: 32000
custom_negative_phrases: []
n_samples: 10000
n_samples_val: 2000
tts_batch_size: 50
augmentation_batch_size: 16
piper_sample_generator_path: "./piper-sample-generator"
output_dir: "./generated_data"
rir_paths:
  - "./mit_rirs"
background_paths:
  - "./background_clips"
false_positive_validation_data_path: "./fp_val_data.npy"
augmentation_rounds: 1
feature_data_files:
  "ACAV100M_sample": "./ACAV100M_sample.npy"
batch_n_per_class:
  "ACAV100M_sample": 1024
  "adversarial_negative": 50
  "positive": 50
model_type: "dnn"
layer_size: 32
steps: 100000
max_negative_weight: 1500
target_accuracy: 0.7
target_recall: 0.5
target_false_positives_per_hour: 0.2
"""


@pytest.fixture
def oww_dir(tmp_path, monkeypatch):
    """A working directory holding openWakeWord's example config and the paths it names."""
    (tmp_path / "mit_rirs").mkdir()
    (tmp_path / "background_clips").mkdir()
    np.save(tmp_path / "fp_val_data.npy", np.zeros((10, 96), np.float32))
    np.save(tmp_path / "ACAV100M_sample.npy", np.zeros((4, 16, 96), np.float32))
    (tmp_path / "custom_model.yml").write_text(OWW_CUSTOM_MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAKEFORGE_ROOT", str(tmp_path))
    return tmp_path


def compose(overrides, tmp_path):
    return compose_config(overrides, output_dir=tmp_path / "run")


# ------------------------------------------------------------------------- classification


def test_kind_is_told_from_the_keys():
    assert config_kind({"target_phrase": "x", "steps": 3}) == "flat"
    assert config_kind({"model_type": "dnn"}) == "flat"
    assert config_kind({"data": {"phrase": "x"}}) == "hydra"
    assert config_kind({"model_name": "x"}) == "hydra"  # shared keys mean the same either way
    assert config_kind({"model_name": "x"}, "# @package _global_\n") == "hydra"
    assert config_kind({}) == "hydra"


def test_mixed_styles_are_an_error():
    with pytest.raises(
        ConfigError, match="mixes openWakeWord keys .*steps.* with wakeforge keys .*trainer"
    ):
        config_kind({"steps": 3, "trainer": {"max_steps": 3}})


def test_unknown_keys_are_named_in_one_line(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("target_phrase: hi there\nstepz: 3\nlayer_sise: 8\nfoo: 1\n")
    with pytest.raises(ConfigError) as exc:
        config_overrides(f)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "stepz" in msg and "layer_sise" in msg and "foo" in msg
    assert "stepz -> steps?" in msg and "layer_sise -> layer_size?" in msg


def test_missing_and_bad_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError,
        match=r"nope.yaml not found \(relative paths resolve against the working directory",
    ):
        config_overrides("nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_overrides("bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        config_overrides("list.yaml")


# ------------------------------------------------------------------------- value rendering


@pytest.mark.parametrize(
    "value",
    [
        "hey jarvis",
        "it's",
        "a\\b",
        "C:\\data\\x\\",
        "x=y, z",
        "[a]",
        "{b}",
        "ünïcode",
        "",
        3,
        2.5,
        True,
        None,
        [1, "two words", None],
        {"positive": 50, "ACAV100M_sample": 1024},
    ],
)
def test_hydra_value_round_trips_through_hydras_parser(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_override("k=" + hydra_value(value)).value()
    assert parsed == value


# ------------------------------------------------------------------------- flat files


def test_openwakeword_custom_model_maps_onto_hydra(oww_dir, capsys):
    overrides = config_overrides("custom_model.yml")
    warnings = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")
    ]
    # Each accepted-but-unused key: exactly one line that names it.
    for key in ("piper_sample_generator_path", "total_length", "target_accuracy", "target_recall"):
        assert sum(line.startswith(f"warning: {key} ") for line in warnings) == 1, warnings
    assert not any("tts_batch_size" in line for line in warnings)  # a documented no-op, no noise

    cfg = compose(overrides, oww_dir)
    assert cfg.data.phrase == "hey jarvis"
    assert cfg.data.n_samples == 10000 and cfg.data.n_negative == 10000
    assert cfg.data.n_samples_val == 2000 and cfg.data.n_negative_val == 2000
    assert cfg.augmentation.batch_size == 16 and cfg.augmentation.rounds == 1
    assert list(cfg.augmentation.rir_paths) == ["./mit_rirs"]
    assert list(cfg.augmentation.background_paths) == ["./background_clips"]
    assert cfg.data.false_positive_validation_data_path == "./fp_val_data.npy"
    assert dict(cfg.data.feature_data_files) == {"ACAV100M_sample": "./ACAV100M_sample.npy"}
    # The batch is exactly openWakeWord's: wakeforge's own classes it does not name are off.
    assert {k: v for k, v in cfg.data.batch_n_per_class.items() if v} == {
        "ACAV100M_sample": 1024,
        "adversarial_negative": 50,
        "positive": 50,
    }
    assert cfg.model.model_type == "dnn" and cfg.model.head.layer_size == 32
    assert cfg.trainer.max_steps == 100000
    assert cfg.model.max_negative_weight == 1500
    assert cfg.model.target_false_positives_per_hour == 0.2
    assert cfg.output_dir == "./generated_data"
    # openWakeWord's layout: clips, features and models in {output_dir}/{model_name}/.
    assert cfg.work_dir == "./generated_data/hey_jarvis"


def test_every_seed_key_is_handled():
    seed_keys = [
        "model_name",
        "target_phrase",
        "custom_negative_phrases",
        "n_samples",
        "n_samples_val",
        "tts_batch_size",
        "augmentation_batch_size",
        "augmentation_rounds",
        "output_dir",
        "rir_paths",
        "background_paths",
        "background_paths_duplication_rate",
        "false_positive_validation_data_path",
        "feature_data_files",
        "batch_n_per_class",
        "model_type",
        "layer_size",
        "steps",
        "learning_rate",
        "max_negative_weight",
        "target_false_positives_per_hour",
    ]
    oww_keys = yaml.safe_load(OWW_CUSTOM_MODEL).keys()
    assert set(seed_keys) | set(oww_keys) <= set(FLAT_KEYS)


def test_phrase_list_rnn_and_learning_rate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "m.yaml"
    f.write_text(
        textwrap.dedent(
            """\
            model_name: nabu
            target_phrase: ["ok nabu", "hey nabu"]
            model_type: rnn
            layer_size: 64
            learning_rate: 0.0002
            background_paths_duplication_rate: [2]
            """
        )
    )
    cfg = compose(config_overrides(f), tmp_path)
    assert list(cfg.data.phrase) == ["ok nabu", "hey nabu"]
    assert cfg.model_name == "nabu"
    assert cfg.model.model_type == "rnn" and cfg.model.head._target_.endswith("RNNHead")
    assert cfg.model.learning_rate == 0.0002
    assert list(cfg.augmentation.background_paths_duplication_rate) == [2]
    assert "warning: layer_size is ignored for model_type rnn" in capsys.readouterr().err


def test_missing_data_path_names_key_path_and_working_directory(oww_dir):
    (oww_dir / "fp_val_data.npy").unlink()
    with pytest.raises(ConfigError) as exc:
        config_overrides("custom_model.yml")
    msg = str(exc.value)
    assert msg.startswith("false_positive_validation_data_path: ./fp_val_data.npy does not exist")
    assert f"relative paths resolve against the working directory {oww_dir}" in msg
    assert flat_overrides(yaml.safe_load(OWW_CUSTOM_MODEL), check_paths=False, warn=lambda m: None)


def test_batch_class_without_feature_file_is_an_error(tmp_path):
    with pytest.raises(
        ConfigError, match="batch_n_per_class names ACAV but feature_data_files has no such key"
    ):
        flat_overrides({"batch_n_per_class": {"positive": 5, "ACAV": 7}}, warn=lambda m: None)


def test_bad_model_type():
    with pytest.raises(ConfigError, match="model_type 'cnn' is not supported"):
        flat_overrides({"model_type": "cnn"})


# ------------------------------------------------------------------------- Hydra files


def test_experiment_in_conf_is_used_by_name():
    assert config_overrides(CONF_DIR / "experiment" / "smoke.yaml") == ["experiment=smoke"]


def test_experiment_file_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("WAKEFORGE_ROOT", str(tmp_path))
    f = tmp_path / "elsewhere" / "my_run.yaml"
    f.parent.mkdir()
    # No `# @package _global_` header: it is added, so the keys land at the root as written.
    f.write_text(
        "defaults:\n  - override /model: rnn\n\ndata:\n  phrase: ok nabu\n  n_samples: 7\ntrainer:\n  max_steps: 11\n"
    )
    overrides = config_overrides(f)
    assert overrides[0].startswith(f"hydra.searchpath=[file://{tmp_path}/logs/.config_files/")
    assert overrides[1] == "+user_config=my_run"
    cfg = compose(overrides + ["data.n_samples=9"], tmp_path)
    assert cfg.data.phrase == "ok nabu" and cfg.data.n_samples == 9  # later overrides win
    assert cfg.trainer.max_steps == 11 and cfg.model.model_type == "rnn"
    assert cfg.model_name == "ok_nabu"
    # With an experiment: the experiment first, then the file.
    cfg = compose(["experiment=smoke", *overrides], tmp_path)
    assert (
        cfg.trainer.max_steps == 11
        and cfg.trainer.val_check_interval == 100
        and cfg.data.n_samples == 7
    )


def test_experiment_file_typo_is_caught(tmp_path, monkeypatch):
    monkeypatch.setenv("WAKEFORGE_ROOT", str(tmp_path))
    f = tmp_path / "typo.yaml"
    f.write_text("data:\n  phrase: ok nabu\n  n_sample: 7\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) data.n_sample"):
        config_overrides(f)
    f.write_text("data:\n  phrase: ok nabu\ntrainerr:\n  max_steps: 3\n")
    with pytest.raises(ConfigError, match="trainerr -> trainer"):
        config_overrides(f)


# ------------------------------------------------------------------------- command line


def test_expand_argv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text("target_phrase: ok nabu\nsteps: 5\n")
    argv = ["train.py", "-m", "config_file=m.yaml", "trainer.max_steps=7"]
    assert expand_argv(argv) == [
        "train.py",
        "data.phrase='ok nabu'",
        "trainer.max_steps=5",
        "-m",
        "trainer.max_steps=7",
    ]
    assert expand_argv(["train.py", "config_file=", "x=1"]) == ["train.py", "x=1"]  # empty CONFIG=
    assert expand_argv(["train.py", "x=1"]) == ["train.py", "x=1"]
    with pytest.raises(ConfigError, match="given 2 times"):
        expand_argv(["train.py", "config_file=m.yaml", "+config_file=m.yaml"])
    with pytest.raises(ConfigError, match="experiment= is also given"):
        expand_argv(
            ["train.py", f"config_file={CONF_DIR}/experiment/smoke.yaml", "experiment=smoke"]
        )


def test_train_cli_accepts_config_file(oww_dir):
    """The real entry point: config_file= expands before Hydra parses the command line."""
    env = {**os.environ, "WAKEFORGE_ROOT": str(oww_dir)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wakeforge.train",
            "config_file=custom_model.yml",
            "trainer.max_steps=5",
            "--cfg",
            "job",
        ],
        cwd=oww_dir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert (
        cfg["trainer"]["max_steps"] == 5
        and cfg["data"]["batch_n_per_class"]["ACAV100M_sample"] == 1024
    )
    assert out.stderr.count("warning: piper_sample_generator_path") == 1

    bad = subprocess.run(
        [sys.executable, "-m", "wakeforge.train", "config_file=missing.yaml"],
        cwd=oww_dir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().splitlines()[-1].startswith("error: config file missing.yaml not found")
    )


# ------------------------------------------------------------------------- shipped files


def test_example_config_lists_every_option_and_composes(tmp_path, monkeypatch):
    path = CONF_DIR / "examples" / "example_config.yaml"
    text = path.read_text()
    for key in FLAT_KEYS:
        assert f"\n{key}:" in text or f"\n# {key}:" in text, f"{key} missing from {path.name}"
    monkeypatch.chdir(REPO)
    cfg = compose(config_overrides(path), tmp_path)
    assert cfg.data.phrase == "hey jarvis" and cfg.model_name == "hey_jarvis"


def test_params_match_dvcs_own_composition(tmp_path):
    """`make params` writes what `dvc exp run -S ...` would (DVC's Hydra integration)."""
    hydra_utils = pytest.importorskip("dvc.utils.hydra")
    overrides = ["experiment=smoke", "data.phrase='ok nabu'"]
    out = tmp_path / "params.yaml"
    hydra_utils.compose_and_dump(out, str(CONF_DIR), None, "pipeline", str(REPO / "src"), overrides)
    assert compose_params(overrides) == out.read_text()
    params = yaml.safe_load(out.read_text())
    assert params["model_name"] == "ok_nabu" and params["work_dir"].endswith("detection/ok_nabu")
    # Run-folder interpolations stay for the stage to resolve when it runs.
    assert params["trainer"]["default_root_dir"] == "${hydra:runtime.output_dir}"
