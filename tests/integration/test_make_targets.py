"""The seed tool's Make targets: thin calls of the module entry points, CONFIG=path/to/config.

Image targets are checked with `make -n` (no Docker engine here); the wake-train* targets run
for real on the smoke config and on openWakeWord's custom_model.yml pointed at small data
(marked slow: they synthesise, augment and train).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "conf" / "experiment" / "smoke.yaml"
QUIET = "trainer.enable_progress_bar=false tts.progress=false"


def make(
    *args: str, root: Path | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WANDB_MODE": "disabled", "DVC_NO_ANALYTICS": "1"}
    if root is not None:
        env["WAKEFORGE_ROOT"] = str(root)
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dry(*args: str) -> list[str]:
    out = make("-n", *args)
    assert out.returncode == 0, out.stderr
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


# ------------------------------------------------------------------------- make -n


def test_help_lists_the_seed_targets():
    out = make("help").stdout
    for target in (
        "build-wake-trainer-image",
        "build-wake-trainer-image-force",
        "push-wake-trainer-image",
        "extract-background-audio",
        "wake-train",
        "wake-train-generate",
        "wake-train-augment",
        "wake-train-train",
        "train",
        "test",
    ):
        assert f"  {target} " in out, target


def test_image_targets_print_docker_commands():
    build = " ".join(dry("build-wake-trainer-image"))
    assert (
        "docker image inspect wakeforge-trainer:0.1.0" in build
        and "docker build -t wakeforge-trainer:0.1.0 ." in build
    )
    assert dry("build-wake-trainer-image-force") == [
        "docker build --pull --no-cache -t wakeforge-trainer:0.1.0 ."
    ]
    push = dry("push-wake-trainer-image", "REGISTRY=registry.example.com/team", "IMAGE_TAG=1.2.3")
    assert (
        "docker tag wakeforge-trainer:1.2.3 registry.example.com/team/wakeforge-trainer:1.2.3"
        in push
    )
    assert "docker push registry.example.com/team/wakeforge-trainer:1.2.3" in push
    missing = make("push-wake-trainer-image")
    assert missing.returncode != 0 and "error: set REGISTRY" in missing.stdout + missing.stderr


def test_wake_train_targets_call_the_entry_points():
    cfg = "CONFIG=my_model.yaml"
    assert dry("wake-train", cfg)[-1].startswith(
        ".venv/bin/python -m wakeforge.train 'config_file=my_model.yaml'"
    )
    assert dry("wake-train-generate", cfg)[-1].startswith(
        ".venv/bin/python -m wakeforge.generate 'config_file=my_model.yaml'"
    )
    assert dry("wake-train-augment", cfg)[-1].startswith(
        ".venv/bin/python -m wakeforge.augment 'config_file=my_model.yaml'"
    )
    assert dry("wake-train-train", cfg)[-1].startswith(
        ".venv/bin/python -m wakeforge.train 'stages=[train]' 'config_file=my_model.yaml'"
    )
    assert dry("wake-train")[-1] == ".venv/bin/python -m wakeforge.train"  # no CONFIG: defaults


def test_wake_train_in_docker_mounts_data_and_config():
    line = dry("wake-train", "CONFIG=cfg/my_model.yaml", "RUN_IN=docker", "DOCKER_GPUS=--gpus all")[
        -1
    ]
    assert line.startswith("docker run --rm --gpus all ")
    assert f'-v "{REPO}/data:/workspace/data"' in line
    assert f'-v "{REPO}/cfg/my_model.yaml:/workspace/config/my_model.yaml:ro"' in line
    assert line.endswith(
        "wakeforge-trainer:0.1.0 -m wakeforge.train 'config_file=/workspace/config/my_model.yaml'"
    )


def test_lint_docker_target():
    out = make("lint-docker")
    assert out.returncode == 0, out.stdout + out.stderr


def test_extract_background_audio(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for i in range(3):
        buf = io.BytesIO()
        sf.write(buf, np.random.default_rng(i).normal(0, 0.1, (22050, 2)), 22050, format="FLAC")
        rows.append({"bytes": buf.getvalue(), "path": f"clip{i}.flac"})
    parquet = tmp_path / "data" / "training-data" / "background_clips"
    parquet.mkdir(parents=True)
    pq.write_table(pa.table({"audio": pa.array(rows)}), parquet / "train-00000.parquet")
    out = make("extract-background-audio", "ARGS=--no-progress", root=tmp_path, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    wavs = sorted((parquet / "wav").glob("*.wav"))
    assert len(wavs) == 3
    info = sf.info(wavs[0])
    assert info.samplerate == 16000 and info.channels == 1


# ------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_stage_targets_on_the_smoke_config(tmp_path):
    work = tmp_path / "data" / "detection" / "hey_jarvis"
    for target in ("wake-train-generate", "wake-train-augment", "wake-train-train"):
        out = make(target, f"CONFIG={SMOKE}", f"ARGS={QUIET}", root=tmp_path)
        assert out.returncode == 0, f"{target}:\n{(out.stdout + out.stderr)[-4000:]}"
        if target == "wake-train-generate":
            assert len(list((work / "positive_train").glob("*.wav"))) == 32
            assert not (work / "features").exists()
        if target == "wake-train-augment":
            assert (work / "features" / "positive_features_train.npy").exists()
            assert not (work / "hey_jarvis.onnx").exists()
    assert (work / "hey_jarvis.onnx").exists() and (work / "hey_jarvis.tflite").exists()
    # The whole chain again: every stage finds its work done.
    out = make("wake-train", f"CONFIG={SMOKE}", f"ARGS={QUIET}", root=tmp_path)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]


def _small_training_data(root: Path) -> dict[str, str]:
    """RIRs, background clips and openWakeWord-style feature files, made up and small."""
    rng = np.random.default_rng(7)
    rirs, bgs = root / "mit_rirs", root / "background_clips"
    rirs.mkdir()
    bgs.mkdir()
    for i in range(3):
        t = np.arange(int(0.3 * 16000)) / 16000
        rir = rng.normal(0, 1, t.size) * np.exp(-t / rng.uniform(0.03, 0.1))
        rir[0] = 1.0
        sf.write(rirs / f"rir{i}.wav", (rir / np.abs(rir).max()).astype(np.float32), 16000)
        sf.write(bgs / f"noise{i}.wav", rng.normal(0, 0.05, 16000 * 5).astype(np.float32), 16000)
    np.save(
        root / "fp_val_data.npy", rng.normal(-1, 1, (1500, 96)).astype(np.float32)
    )  # [frames, 96]
    np.save(root / "ACAV100M_sample.npy", rng.normal(-1, 1, (256, 16, 96)).astype(np.float32))
    return {
        "rirs": str(rirs),
        "bgs": str(bgs),
        "fp": str(root / "fp_val_data.npy"),
        "acav": str(root / "ACAV100M_sample.npy"),
    }


@pytest.mark.slow
def test_openwakeword_custom_model_trains_through_make(tmp_path):
    """openWakeWord's examples/custom_model.yml, paths pointed at small data, sizes made small."""
    from tests.unit.test_compat import OWW_CUSTOM_MODEL

    data = _small_training_data(tmp_path)
    text = (
        OWW_CUSTOM_MODEL.replace(
            "./piper-sample-generator", str(tmp_path / "piper-sample-generator")
        )
        .replace('"./generated_data"', f'"{tmp_path / "generated_data"}"')
        .replace('"./mit_rirs"', f'"{data["rirs"]}"')
        .replace('"./background_clips"', f'"{data["bgs"]}"')
        .replace('"./fp_val_data.npy"', f'"{data["fp"]}"')
        .replace('"./ACAV100M_sample.npy"', f'"{data["acav"]}"')
        .replace("n_samples: 10000", "n_samples: 24")
        .replace("n_samples_val: 2000", "n_samples_val: 8")
        .replace('"ACAV100M_sample": 1024', '"ACAV100M_sample": 32')
        .replace('"adversarial_negative": 50', '"adversarial_negative": 16')
        .replace('"positive": 50', '"positive": 16')
        .replace("steps: 100000", "steps: 60")
        .replace("layer_size: 32", "layer_size: 16")
    )
    config = tmp_path / "my_model.yml"
    config.write_text(text)
    out = make(
        "wake-train",
        f"CONFIG={config}",
        f"ARGS={QUIET} data.n_background=16 trainer.val_check_interval=30",
        root=tmp_path,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert log.count("warning: piper_sample_generator_path is ignored") == 1
    work = tmp_path / "generated_data" / "hey_jarvis"
    assert (work / "hey_jarvis.onnx").stat().st_size > 1000 and (
        work / "hey_jarvis.tflite"
    ).stat().st_size > 1000
    card = json.loads((work / "hey_jarvis.json").read_text())
    # The file's batch exactly; wakeforge's own classes it does not name are off (0).
    assert {k: v for k, v in card["config"]["data"]["batch_n_per_class"].items() if v} == {
        "ACAV100M_sample": 32,
        "adversarial_negative": 16,
        "positive": 16,
    }
    assert card["config"]["augmentation"]["rir_paths"] == [data["rirs"]]
    assert card["config"]["trainer"]["max_steps"] == 60
