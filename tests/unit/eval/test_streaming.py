"""StreamingScorer reproduces openwakeword.Model.predict chunk by chunk."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from wakeforge.core.errors import AssetError
from wakeforge.evaluation.streaming import (
    CHUNK_SAMPLES,
    StreamingScorer,
    active_rms,
    frame_end_times,
    mix_at_snr,
    pad_with_noise,
    score_many,
    to_int16,
)

from ._synth import SR, noise, plant_tone, speechlike


@pytest.fixture(scope="module")
def audio():
    return to_int16(speechlike(6.0, np.random.default_rng(1)))


def test_scores_equal_openwakeword_model_predict(alexa_paths, feature_paths, audio):
    import openwakeword

    onnx_path, _ = alexa_paths
    scorer = StreamingScorer(onnx_path, feature_paths)
    ours = scorer.score_windows(scorer.features.stream(audio))

    model = openwakeword.Model(
        wakeword_models=[str(onnx_path)], inference_framework="onnx",
        melspec_model_path=str(feature_paths.melspec_onnx),
        embedding_model_path=str(feature_paths.embedding_onnx),
    )
    # openWakeWord fills its start-up buffer from the global numpy RNG; use ours instead.
    model.preprocessor.feature_buffer = scorer.features.initial_embeddings.copy()
    ref = np.array([model.predict(audio[i : i + CHUNK_SAMPLES])["alexa_v0.1"]
                    for i in range(0, len(audio) - CHUNK_SAMPLES + 1, CHUNK_SAMPLES)])
    assert ours.shape == ref.shape == (len(audio) // CHUNK_SAMPLES,)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    assert np.all(ours[:5] == 0)                       # the detector's warm-up frames

    # the live path (one chunk at a time) gives the same numbers
    scorer.reset()
    live = [scorer.process(audio[i : i + CHUNK_SAMPLES])
            for i in range(0, len(audio) - CHUNK_SAMPLES + 1, CHUNK_SAMPLES)]
    np.testing.assert_allclose(live, ref, atol=1e-6)


@pytest.mark.parametrize("block", [1000, 1280 * 3 + 7, 50_000])
def test_stream_blocks_equal_stream(features, block):
    """Blocks of any size give the embeddings of one whole-file stream, exactly (loud and
    quiet stretches side by side: one mel call over many chunks would share one -80 dB floor)."""
    rng = np.random.default_rng(3)
    loud = speechlike(3.0, rng)
    audio = to_int16(np.concatenate([loud, 0.01 * noise(2.0, rng), 0.3 * loud]))
    whole = features.stream(audio)
    parts = [features.initial_embeddings]
    parts += list(features.stream_blocks(audio[i : i + block] for i in range(0, len(audio), block)))
    got = np.concatenate(parts)
    assert got.shape == whole.shape == (len(features.initial_embeddings) + len(audio) // CHUNK_SAMPLES, 96)
    np.testing.assert_array_equal(got, whole)


def test_tflite_head_matches_onnx_head_on_same_features(alexa_paths, features, audio):
    onnx_path, tflite_path = alexa_paths
    pytest.importorskip("ai_edge_litert")
    a = StreamingScorer(onnx_path, features=features)
    b = StreamingScorer(tflite_path, features=features)
    assert b.framework == "tflite" and b.n_inputs == 16
    sa, sb = score_many([a, b], audio.astype(np.float32) / 32768.0, label="x")
    np.testing.assert_allclose(sa, sb, atol=1e-4)


def test_score_audio_frames_and_times(tone_head, features):
    scorer = StreamingScorer(tone_head, features=features)
    assert scorer.lead_chunks == 25
    clip = plant_tone(noise(2.0, np.random.default_rng(0)), 0.25)
    s = scorer.score_audio(clip, label="clip")
    # 2 s of file + 1 s of tail padding = 37.5 chunks -> 37 frames after the lead-in
    assert s.shape == (37,)
    t = frame_end_times(len(s))
    assert t[0] == pytest.approx(0.08) and t[-1] == pytest.approx(2.96)
    hot = t[s >= 0.5]
    assert len(hot) > 0 and 0.25 < hot.min() and hot.max() < 1.75 + 1.0
    # reproducible: same label, same padding noise, same scores
    np.testing.assert_array_equal(s, scorer.score_audio(clip, label="clip"))
    # the lead-in is never scored: quiet noise alone stays near 0
    assert scorer.score_audio(noise(1.0, np.random.default_rng(1))).max() < 0.01


def test_score_file_any_rate_and_channels(tone_head, features, tmp_path):
    scorer = StreamingScorer(tone_head, features=features)
    clip = plant_tone(noise(2.0, np.random.default_rng(0)), 0.25)
    from scipy.signal import resample_poly

    stereo44 = np.stack([resample_poly(clip, 441, 160)] * 2, axis=1)
    path = tmp_path / "clip.flac"
    sf.write(str(path), stereo44, 44100)
    fs = scorer.score_file(path)
    assert fs.duration_s == pytest.approx(2.0, abs=1e-3)
    assert fs.max_score > 0.99 and 0.25 < fs.argmax_time_s < 2.75


def test_int16_roundtrip_and_padding_is_not_silence():
    x = np.array([-32768, -1, 0, 1, 32767], np.int16)
    assert to_int16(x.astype(np.float32) / 32768.0).tolist() == x.tolist()
    padded = pad_with_noise(np.ones(10, np.float32), 1600, 1600, np.random.default_rng(0))
    q = to_int16(padded)
    assert padded.shape == (3210,) and np.count_nonzero(q[:1600]) > 1200


def test_mix_at_snr_hits_the_target():
    rng = np.random.default_rng(0)
    clip = np.zeros(32000, np.float32)
    clip[8000:24000] = 0.1 * np.sin(np.linspace(0, 2000, 16000))
    mixed = mix_at_snr(clip, None, 10.0, rng)
    bg = mixed - clip
    snr = 20 * np.log10(active_rms(clip) / np.sqrt(np.mean(bg.astype(np.float64) ** 2)))
    assert snr == pytest.approx(10.0, abs=0.05)
    other = mix_at_snr(clip, np.ones(100, np.float32) * 0.5, 0.0, rng)
    assert np.allclose(other - clip, active_rms(clip), atol=1e-6)


def test_bad_model_files(tmp_path, features):
    with pytest.raises(AssetError, match="not found"):
        StreamingScorer(tmp_path / "missing.onnx", features=features)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(AssetError, match="cannot load"):
        StreamingScorer(bad, features=features)
    with pytest.raises(AssetError, match="not an openWakeWord head"):
        StreamingScorer(features.feature_paths.embedding_onnx, features=features)
    other = tmp_path / "model.pt"
    other.write_bytes(b"x")
    with pytest.raises(AssetError, match="unknown model format"):
        StreamingScorer(other, features=features)
