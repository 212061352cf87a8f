"""The onnxruntime reference extractor reproduces openWakeWord's AudioFeatures.embed_clips."""

from __future__ import annotations

import numpy as np
import pytest

from wakeforge.core.errors import WakeforgeError
from wakeforge.features.onnx_extractor import min_samples, n_frames

from ._audio import make_clips, to_int16


@pytest.fixture(scope="module")
def oww_features(feature_paths):
    from openwakeword.utils import AudioFeatures

    return AudioFeatures(
        melspec_model_path=str(feature_paths.melspec_onnx),
        embedding_model_path=str(feature_paths.embedding_onnx),
        inference_framework="onnx",
    )


@pytest.fixture(scope="module")
def windowed_extractor(feature_paths):
    from wakeforge.features.onnx_extractor import OnnxFeatureExtractor

    return OnnxFeatureExtractor(feature_paths, fully_convolutional=False)


@pytest.mark.parametrize("seconds", [2.0, 3.0])
@pytest.mark.parametrize("mode", ["fully_convolutional", "per_window"])
def test_matches_openwakeword_embed_clips(onnx_extractor, windowed_extractor, oww_features,
                                          seconds, mode, record_property):
    clips = to_int16(make_clips(9, seconds, seed=1))  # mixed kinds, -60..-1 dBFS in one batch
    ref = oww_features.embed_clips(clips, batch_size=4)
    extractor = onnx_extractor if mode == "fully_convolutional" else windowed_extractor
    ours = extractor.embed_clips(clips)
    assert ours.shape == ref.shape == (9, n_frames(clips.shape[1]), 96)
    assert ours.dtype == np.float32
    diff = float(np.abs(ours - ref).max())
    record_property("max_abs_diff_vs_openwakeword", diff)
    print(f"onnx extractor ({mode}) vs openwakeword embed_clips ({seconds:.0f} s): "
          f"max abs diff {diff:.3g}")
    assert diff <= 1e-6


def test_float_input_is_scaled_like_int16(onnx_extractor, clips_2s):
    as_int16 = to_int16(clips_2s[:4])
    a = onnx_extractor.embed_clips(as_int16)
    b = onnx_extractor.embed_clips(as_int16.astype(np.float32) / 32767.0)
    assert np.abs(a - b).max() <= 1e-4


@pytest.mark.parametrize("mode", ["fully_convolutional", "per_window"])
def test_batch_size_does_not_change_results(onnx_extractor, windowed_extractor, clips_2s, mode):
    extractor = onnx_extractor if mode == "fully_convolutional" else windowed_extractor
    a = extractor.embed_clips(clips_2s[:5], batch_size=1)
    b = extractor.embed_clips(clips_2s[:5], batch_size=37)
    assert np.abs(a - b).max() <= 1e-6


def test_melspec_is_rescaled_and_per_clip(onnx_extractor, clips_2s):
    mel = onnx_extractor.melspec(clips_2s[0])
    assert mel.shape == ((32000 - 512) // 160 + 1, 32)
    # x/10 + 2 of a dB value floored at max - 80 dB: the range spans at most 8 units
    assert mel.max() - mel.min() <= 8.0 + 1e-5
    batch = onnx_extractor.melspec_batch(clips_2s[:3])
    np.testing.assert_array_equal(batch[1], onnx_extractor.melspec(clips_2s[1]))


def test_n_frames():
    assert n_frames(32000) == 16
    assert n_frames(min_samples()) == 1
    assert n_frames(min_samples() - 1) == 0
    assert n_frames(16000) == 3
    assert n_frames(48000) == 28


def test_bad_input_messages(onnx_extractor):
    with pytest.raises(WakeforgeError, match="too short"):
        onnx_extractor.embed_clips(np.zeros((2, 8000), np.int16))
    with pytest.raises(WakeforgeError, match=r"\[N, T\]"):
        onnx_extractor.embed_clips(np.zeros(32000, np.int16))
    with pytest.raises(WakeforgeError, match="int16"):
        onnx_extractor.embed_clips(np.zeros((1, 32000), np.int32))
