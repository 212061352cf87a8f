"""Fixtures for the evaluation tests: feature models, synthetic audio, a tiny tone-detector head.

The tone head is a real ONNX model built here with ``onnx.helper``: input ``[1, 16, 96]``,
output ``sigmoid(k * (w . e_last + b))`` where ``e_last`` is the newest embedding. ``w`` and
``b`` are fitted on openWakeWord embeddings of a 1 kHz tone vs. faint noise, so the head fires
on planted tones and nowhere else; expected recall and false accepts then follow by counting
the planted tones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ._synth import noise, plant_tone


@pytest.fixture(scope="session")
def feature_paths():
    from wakeforge.core.errors import AssetError
    from wakeforge.features.assets import feature_model_paths

    try:
        return feature_model_paths()
    except AssetError as exc:
        pytest.skip(f"openWakeWord feature models unavailable offline: {exc}")


@pytest.fixture(scope="session")
def features(feature_paths):
    from wakeforge.evaluation.streaming import StreamingFeatures

    return StreamingFeatures(feature_paths)


@pytest.fixture(scope="session")
def alexa_paths(feature_paths):
    """(onnx, tflite) paths of the reference alexa_v0.1 head."""
    from wakeforge.core.errors import AssetError
    from wakeforge.features.assets import reference_model_path

    try:
        return reference_model_path("alexa_v0.1"), reference_model_path("alexa_v0.1", "tflite")
    except AssetError as exc:
        pytest.skip(f"reference model alexa_v0.1 unavailable offline: {exc}")


def build_last_frame_head(path: Path, w: np.ndarray, b: float, n_frames: int = 16) -> Path:
    """ONNX head: x [1, n_frames, 96] -> sigmoid(x[:, -1, :] @ w + b) as [1, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([n_frames - 1], np.int64), "idx"),
        numpy_helper.from_array(w.astype(np.float32).reshape(96, 1), "w"),
        numpy_helper.from_array(np.array([b], np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Gather", ["x", "idx"], ["last"], axis=1),        # [1, 1, 96]
        helper.make_node("MatMul", ["last", "w"], ["proj"]),               # [1, 1, 1]
        helper.make_node("Add", ["proj", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["prob3"]),
        helper.make_node("Flatten", ["prob3"], ["y"], axis=1),             # [1, 1]
    ]
    graph = helper.make_graph(
        nodes, "tone_head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_frames, 96])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tone_head(tmp_path_factory, features) -> Path:
    """A head that scores ~1 on a sustained 1 kHz tone and ~0 on faint noise."""
    from wakeforge.evaluation.streaming import prepare_audio

    rng = np.random.default_rng(123)
    n_init = len(features.initial_embeddings)
    lead = 25
    neg = features.stream(prepare_audio(noise(6.0, rng), lead_chunks=lead, rng=rng))[n_init:]
    tone = features.stream(prepare_audio(plant_tone(noise(6.0, rng), 0.0, 6.0),
                                         lead_chunks=lead, rng=rng))[n_init:]
    tone = tone[lead + 12 : lead + 70]      # embeddings whose mel window is all tone
    w = tone.mean(0) - neg.mean(0)
    w /= np.linalg.norm(w)
    hi, lo = float((neg @ w).max()), float((tone @ w).min())
    assert lo > hi, "tone and noise embeddings must separate for this fixture"
    k = 24.0 / (lo - hi)                    # logits of about +-12 at the margins
    return build_last_frame_head(tmp_path_factory.mktemp("heads") / "tone_bob.onnx",
                                 w * k, -k * (lo + hi) / 2)
