"""Stage 3 end to end on real openWakeWord features of two clearly different sound classes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import SR, noise_clip, tone_burst_clip
from wakeforge.core.config import compose_config
from wakeforge.core.layout import feature_file


@pytest.fixture(scope="module")
def feature_work_dir(tmp_path_factory):
    from wakeforge.features.onnx_extractor import OnnxFeatureExtractor

    work = tmp_path_factory.mktemp("work") / "tones"
    rng = np.random.default_rng(1)
    ext = OnnxFeatureExtractor()
    sets = {
        ("positive", "train"): [tone_burst_clip(rng) for _ in range(48)],
        ("positive", "test"): [tone_burst_clip(rng) for _ in range(20)],
        ("adversarial_negative", "train"): [noise_clip(rng) for _ in range(48)],
        ("adversarial_negative", "test"): [noise_clip(rng) for _ in range(20)],
        ("background", "train"): [noise_clip(rng) for _ in range(16)],
    }
    for (cls, split), clips in sets.items():
        feats = ext.embed_clips(np.stack(clips))[:, -16:]
        path = feature_file(work, cls, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, feats.astype(np.float32))
    return work, sets


def test_train_tones_vs_noise_exports_and_scores(feature_work_dir, tmp_path):
    from wakeforge.pipeline.run import run_pipeline

    work, sets = feature_work_dir
    cfg = compose_config(
        [
            "stages=[train]",
            f"work_dir={work}",
            "logger=csv",
            "trainer.max_steps=120",
            "trainer.val_check_interval=60",
            "trainer.enable_progress_bar=false",
            "model.head.layer_size=16",
            "model.max_negative_weight=5",
            "data.batch_n_per_class={positive: 16, adversarial_negative: 16, background: 8, rearranged_negative: 0}",
            "data.n_samples=48",
        ],
        output_dir=tmp_path,
    )
    result = run_pipeline(cfg)
    m = result["metrics"]
    assert m["recall"] >= 0.95, m
    assert m["false_accepts"] == 0, m

    onnx_path = work / "hey_jarvis.onnx"
    tflite_path = work / "hey_jarvis.tflite"
    assert onnx_path.stat().st_size > 1000 and tflite_path.stat().st_size > 1000
    card = json.loads((work / "hey_jarvis.json").read_text())
    parity = card["parity_max_abs_diff"]
    assert parity["onnx_vs_torch"] <= 1e-4 and parity["tflite_vs_torch"] <= 1e-4 and parity["tflite_vs_onnx"] <= 1e-4
    assert card["files"]["onnx"]["path"] == "hey_jarvis.onnx"

    # The exported ONNX loads in openWakeWord itself and separates the classes on streamed audio.
    import openwakeword
    from wakeforge.features.assets import feature_model_paths

    paths = feature_model_paths()
    oww = openwakeword.Model(
        wakeword_models=[str(onnx_path)],
        inference_framework="onnx",
        melspec_model_path=str(paths.melspec_onnx),
        embedding_model_path=str(paths.embedding_onnx),
    )

    def max_score(clip: np.ndarray) -> float:
        oww.reset()
        rng = np.random.default_rng(0)
        pad = rng.normal(0, 0.02, SR).astype(np.float32)
        audio = (np.clip(np.concatenate([pad, clip, pad[: SR // 4]]), -1, 1) * 32767).astype(np.int16)
        scores = [oww.predict(audio[i : i + 1280])["hey_jarvis"] for i in range(0, len(audio) - 1279, 1280)]
        return float(max(scores))

    pos = [max_score(c) for c in sets[("positive", "test")][:6]]
    neg = [max_score(c) for c in sets[("adversarial_negative", "test")][:6]]
    assert min(pos) >= 0.5, pos
    assert max(neg) < 0.5, neg


@pytest.mark.parametrize("which", ["last", "best"])
def test_exported_weights_and_logger_none(feature_work_dir, tmp_path, which):
    """callbacks.export.checkpoint picks the exported weights (an ensemble head of 3 networks, as
    exported); logger=none trains (no LR monitor)."""
    import onnxruntime as ort
    import torch

    from wakeforge.training.models.heads import DNNHead
    from wakeforge.pipeline.run import run_pipeline

    src, _ = feature_work_dir
    work = tmp_path / "w"
    (work / "features").mkdir(parents=True)
    for f in (src / "features").glob("*.npy"):
        (work / "features" / f.name).symlink_to(f)
    cfg = compose_config(
        [
            "stages=[train]", f"work_dir={work}", "logger=none", f"callbacks.export.checkpoint={which}",
            "callbacks.held_out_evaluation=null", "trainer.max_steps=60", "trainer.val_check_interval=20",
            "trainer.enable_progress_bar=false", "model.head.layer_size=8", "model.head.n_members=3",
            "data.batch_n_per_class={positive: 16, adversarial_negative: 16, background: 8, rearranged_negative: 0}",
        ],
        output_dir=tmp_path,
    )
    result = run_pipeline(cfg)
    card = json.loads((work / "hey_jarvis.json").read_text())
    ckpts = list((work / "checkpoints").rglob("*.ckpt"))
    if which == "last":
        assert card["checkpoint"] == "final weights"
        ckpt = next(p for p in ckpts if p.name == "last.ckpt")
        assert result["metrics"]["step"] == 60
    else:
        ckpt = next(p for p in ckpts if p.name.startswith("step"))
        assert card["checkpoint"] == ckpt.name
    head = DNNHead(n_frames=16, embedding_dim=96, layer_size=8, n_blocks=1, n_members=3)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
    x = np.random.default_rng(0).normal(size=(1, 16, 96)).astype(np.float32)
    sess = ort.InferenceSession(str(work / "hey_jarvis.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(-1)
    with torch.no_grad():
        want = head.eval()(torch.from_numpy(x)).numpy().reshape(-1)
    assert np.abs(got - want).max() < 1e-5


def test_real_recordings_come_first_in_the_card(feature_work_dir, tmp_path):
    """callbacks.real_evaluation.suite: the model is benchmarked on a recordings folder after
    export and the figures lead the card (before the synthetic held-out ones)."""
    import soundfile as sf

    from wakeforge.pipeline.run import run_pipeline

    src, sets = feature_work_dir
    work = tmp_path / "w"
    (work / "features").mkdir(parents=True)
    for f in (src / "features").glob("*.npy"):
        (work / "features" / f.name).symlink_to(f)
    suite = tmp_path / "my_recordings"
    rng = np.random.default_rng(5)
    for i in range(4):
        (suite / "positives" / "hey_jarvis").mkdir(parents=True, exist_ok=True)
        sf.write(str(suite / "positives" / "hey_jarvis" / f"p{i}.wav"), tone_burst_clip(rng), SR)
        (suite / "negatives" / "room").mkdir(parents=True, exist_ok=True)
        sf.write(str(suite / "negatives" / "room" / f"n{i}.wav"), noise_clip(rng), SR)
    cfg = compose_config(
        [
            "stages=[train]", f"work_dir={work}", "logger=none", "callbacks.held_out_evaluation=null",
            f"callbacks.real_evaluation.suite={suite}", f"callbacks.real_evaluation.cache_dir={tmp_path / 'cache'}",
            "callbacks.real_evaluation.workers=1", "callbacks.real_evaluation.snr_db=null",
            "trainer.max_steps=120", "trainer.val_check_interval=60", "trainer.enable_progress_bar=false",
            "model.head.layer_size=16", "model.max_negative_weight=5", "model.head.n_members=1",
            "data.batch_n_per_class={positive: 16, adversarial_negative: 16, background: 8, rearranged_negative: 0}",
        ],
        output_dir=tmp_path,
    )
    run_pipeline(cfg)
    card = json.loads((work / "hey_jarvis.json").read_text())
    keys = list(card)
    assert keys.index("real_recordings") == keys.index("phrase") + 1
    real = card["real_recordings"]
    assert real["n_positive"] == 4 and real["suite"] == str(suite)
    assert 0.0 <= real["recall_at_threshold"] <= 1.0
    assert real["false_accepts_per_hour_at_threshold"]["room"] == 0.0   # noise never fires
    assert real["at_card_threshold"]["threshold"] == card["recommended_threshold"]
    bench = json.loads((work / "evaluation" / "real" / "benchmark.json").read_text())
    assert bench["models"][0]["recall_at_threshold"] == real["recall_at_threshold"]
