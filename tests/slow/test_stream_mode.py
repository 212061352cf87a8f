"""`data.stream=true`: the smoke experiment trains on fresh device-side augmentations every
batch (no precomputed .npy) and exports, like precompute mode does in tests/integration."""

from __future__ import annotations

import json

import pytest

from wakeforge.core.config import compose_config

pytestmark = pytest.mark.slow


def test_smoke_streaming_mode_trains_and_exports(tmp_path):
    from wakeforge.core.layout import features_dir
    from wakeforge.pipeline.run import run_pipeline

    cfg = compose_config(
        [
            "experiment=smoke",
            f"paths.root_dir={tmp_path}",
            "stages=[generate,train]",
            "data.stream=true",
            "tts.engines=[piper]",
            "trainer.enable_progress_bar=false",
        ],
        output_dir=tmp_path / "run",
    )
    result = run_pipeline(cfg)
    work = tmp_path / "data" / "detection" / "hey_jarvis"
    assert not features_dir(work).exists()  # nothing precomputed: every batch was featurised on the fly
    card = json.loads((work / "hey_jarvis.json").read_text())
    assert card["parity_max_abs_diff"]["tflite_vs_onnx"] <= 1e-4
    assert (work / "hey_jarvis.onnx").stat().st_size > 1000
    # The streamed model hears unseen-voice positives through the detector's own path.
    assert card["held_out_evaluation"]["recall"] >= 0.5, card["held_out_evaluation"]
    assert set(result["metrics"]) >= {"recall", "fp_per_hour", "selection"}
    history = card["validation_history"]
    assert history and history[-1]["step"] == 300
