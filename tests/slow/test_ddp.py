"""Lightning DDP (trainer=ddp): two CPU processes over gloo train the smoke config and export."""

from __future__ import annotations

import json

import pytest

from tests.slow.conftest import QUICK_TRAIN, run_module

pytestmark = pytest.mark.slow


def test_two_process_cpu_ddp_trains_and_exports(feature_work_dir, tmp_path):
    # The run is described by a config file, as `make wake-train CONFIG=...` passes it: the DDP
    # worker that Lightning starts re-reads the already expanded command line.
    config = tmp_path / "ddp_run.yaml"
    config.write_text("model:\n  head:\n    layer_size: 8\n")
    run_dir = tmp_path / "run"
    out = run_module(
        "wakeforge.train",
        [
            f"config_file={config}",
            *QUICK_TRAIN,
            f"work_dir={feature_work_dir}",
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "logger=csv",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        WAKEFORGE_ROOT=str(tmp_path),
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "distributed_backend=gloo" in log and "Starting with 2 processes" in log
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in log
    assert (run_dir / "train_ddp_process_1.log").exists()  # the second rank ran under Hydra too

    onnx = feature_work_dir / "hey_jarvis.onnx"
    assert (
        onnx.stat().st_size > 1000
        and (feature_work_dir / "hey_jarvis.tflite").stat().st_size > 1000
    )
    card = json.loads((feature_work_dir / "hey_jarvis.json").read_text())
    assert (
        card["config"]["trainer"]["strategy"] == "ddp"
        and card["config"]["model"]["head"]["layer_size"] == 8
    )
    assert max(card["parity_max_abs_diff"][k] for k in ("onnx_vs_torch", "tflite_vs_torch")) <= 1e-4
    metrics = json.loads((feature_work_dir / "metrics.json").read_text())
    assert metrics["best"]["recall"] >= 0.9
