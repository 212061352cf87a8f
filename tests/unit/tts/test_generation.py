"""Stage 1 machinery with the tone engine (fast): counts, split by voice, resume, shards."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakeforge.core.errors import ConfigError
from wakeforge.generation.engines import build_engines
from wakeforge.generation.run import generate_clips
from wakeforge.generation.settings import GenerateSettings, parse_shard
from wakeforge.generation.tts.plan import build_planner

SPLITS = ("positive_train", "positive_test", "negative_train", "negative_test")


def _settings(work_dir: Path, **kw) -> GenerateSettings:
    base = {
        "phrases": ["hey jarvis"],
        "work_dir": work_dir,
        "seed": 3,
        "n_samples": 10,
        "n_samples_val": 4,
        "n_negative": 10,
        "n_negative_val": 4,
        "engines": ["tone"],
        "num_workers": 1,
        "progress": False,
        "max_adversarial_phrases": 40,
    }
    base.update(kw)
    return GenerateSettings(**base)


def _manifest(work_dir: Path, split: str) -> list[dict]:
    path = work_dir / split / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check_outputs(work_dir: Path, s: GenerateSettings) -> dict[str, list[dict]]:
    out = {}
    for split, n in s.counts().items():
        recs = _manifest(work_dir, split)
        wavs = sorted(p.name for p in (work_dir / split).glob("*.wav"))
        assert len(recs) == len({r["key"] for r in recs}) == len(wavs) == n, split
        assert sorted(r["file"] for r in recs) == wavs
        for r in recs:
            info = sf.info(str(work_dir / split / r["file"]))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert info.frames == r["num_samples"]
            assert s.min_clip_duration_s <= r["duration_s"] <= s.max_clip_duration_s
        out[split] = recs
    assert not list(work_dir.rglob(".tmp-*"))
    return out


def test_counts_manifest_and_split_by_voice(tmp_path: Path) -> None:
    s = _settings(tmp_path, n_negative=30, n_negative_val=10)
    report = generate_clips(s)
    recs = _check_outputs(tmp_path, s)
    train_voices = {
        r["voice_setting"] for sp in ("positive_train", "negative_train") for r in recs[sp]
    }
    test_voices = {
        r["voice_setting"] for sp in ("positive_test", "negative_test") for r in recs[sp]
    }
    assert train_voices and test_voices and train_voices.isdisjoint(test_voices)
    r = recs["negative_train"][0]
    for key in (
        "text",
        "engine",
        "voice",
        "prosody",
        "perturbation",
        "duration_s",
        "kind",
        "spec_id",
    ):
        assert key in r
    assert {x["kind"] for x in recs["negative_train"]} == {"adversarial", "general"}
    assert all(
        x["text"].lower().strip("!?., ").replace(",", "") == "hey jarvis"
        for x in recs["positive_train"]
    )
    assert report.complete and report.generated == 54 and report.counts == s.counts()
    assert report.voice_settings_used["test"] >= 1
    assert json.loads((tmp_path / "generate_report.json").read_text())["generated"] == 54


def test_rerun_skips_and_smaller_counts_trim(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    generate_clips(s)
    again = generate_clips(s)
    assert again.generated == 0 and again.skipped == sum(s.counts().values())
    smaller = _settings(tmp_path, n_samples=6)
    rep = generate_clips(smaller)
    assert rep.generated == 0
    _check_outputs(tmp_path, smaller)
    # a different seed changes every plan: everything is redone, nothing stale is kept
    reseeded = _settings(tmp_path, seed=4)
    assert generate_clips(reseeded).generated == sum(reseeded.counts().values())
    _check_outputs(tmp_path, reseeded)


def test_lost_manifest_line_and_corrupt_wav_are_redone(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    generate_clips(s)
    m = tmp_path / "negative_train" / "manifest.jsonl"
    lines = m.read_text().splitlines()
    m.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])  # cut last line, as a kill would
    (tmp_path / "positive_train" / "000003.wav").write_bytes(b"RIFF")
    (tmp_path / "positive_train" / ".tmp-abc.wav").write_bytes(b"x")
    rep = generate_clips(s)
    assert rep.generated == 2
    _check_outputs(tmp_path, s)


def test_shards_union_equals_a_full_run(tmp_path: Path) -> None:
    full = tmp_path / "full"
    sharded = tmp_path / "sharded"
    generate_clips(_settings(full))
    r0 = generate_clips(_settings(sharded, shard=(0, 2)))
    r1 = generate_clips(_settings(sharded, shard=(1, 2)))
    assert not r0.complete and r1.complete
    assert r0.generated + r1.generated == 28
    merged = generate_clips(_settings(sharded))
    assert merged.generated == 0
    assert not list((sharded / "positive_train").glob("manifest.shard*"))
    for split in SPLITS:
        a = {
            r["key"]: (r["text"], r["voice_setting"], r["spec_id"]) for r in _manifest(full, split)
        }
        b = {
            r["key"]: (r["text"], r["voice_setting"], r["spec_id"])
            for r in _manifest(sharded, split)
        }
        assert a == b
        for key in list(a)[:5]:  # the same plan renders the same audio
            name = f"{key}.wav"
            assert (full / split / name).read_bytes() == (sharded / split / name).read_bytes()


def test_too_long_clips_are_dropped_counted_and_redrawn(tmp_path: Path) -> None:
    s = _settings(tmp_path, max_clip_duration_s=0.75, n_negative=20)
    rep = generate_clips(s)
    assert rep.rejected > 0 and rep.rejected_total == rep.rejected
    assert "too long" in rep.reject_reasons and "dropped" in rep.summary()
    _check_outputs(tmp_path, s)


def test_planner_is_a_pure_function_of_seed_split_index(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    p1 = build_planner(s, build_engines(s))
    p2 = build_planner(s, build_engines(s))
    assert p1.spec("negative_test", 7, 0) == p2.spec("negative_test", 7, 0)
    assert p1.spec("negative_test", 7, 0) != p1.spec("negative_test", 7, 1)
    assert p1.spec("positive_test", 0).voice_setting in {
        st.key for ms in p1.pools["test"]["tone"].values() for st in ms
    }


def test_general_sentences_use_their_own_engine_mix(tmp_path: Path) -> None:
    # engine_weights for phrases and near-misses, general_engine_weights for general sentences
    s = _settings(tmp_path, engines=["tone", "espeak"], engine_weights={"tone": 1.0, "espeak": 0.0},
                  general_engine_weights={"tone": 0.0, "espeak": 1.0}, adversarial_fraction=0.5)
    p = build_planner(s, build_engines(s))
    specs = [p.spec(split, i) for split in ("positive_train", "negative_train", "negative_test")
             for i in range(60)]
    by_kind: dict[str, set[str]] = {}
    for sp in specs:
        by_kind.setdefault(sp.kind, set()).add(sp.engine)
    assert by_kind == {"positive": {"tone"}, "adversarial": {"tone"}, "general": {"espeak"}}
    # null: general sentences follow engine_weights like everything else
    s2 = _settings(tmp_path, engines=["tone", "espeak"], engine_weights={"tone": 1.0, "espeak": 0.0},
                   general_engine_weights=None, adversarial_fraction=0.5)
    p2 = build_planner(s2, build_engines(s2))
    assert {p2.spec("negative_train", i).engine for i in range(60)} == {"tone"}


def test_real_recordings_are_resampled_trimmed_and_split(tmp_path: Path) -> None:
    rec_dir = tmp_path / "mine"
    rec_dir.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        t = np.arange(int(0.6 * 44100)) / 44100
        voiced = 0.4 * np.sin(2 * np.pi * (200 + 20 * i) * t)
        x = np.concatenate([np.zeros(22050), voiced, np.zeros(22050)]) + rng.normal(
            0, 1e-4, 22050 * 2 + len(t)
        )
        sf.write(rec_dir / f"take{i}.flac", np.stack([x, x], axis=1), 44100)
    (rec_dir / "broken.wav").write_bytes(b"not audio")
    s = _settings(tmp_path / "out", positive_paths=[str(rec_dir)])
    rep = generate_clips(s)
    assert rep.real_positives == {"positive_train": 4, "positive_test": 1}
    real = [
        r
        for sp in ("positive_train", "positive_test")
        for r in _manifest(tmp_path / "out", sp)
        if r["source"] == "real"
    ]
    assert len(real) == 5 and all(0.6 <= r["duration_s"] <= 0.75 for r in real)
    assert generate_clips(s).generated == 0


def test_pool_of_two_workers(tmp_path: Path) -> None:
    s = _settings(
        tmp_path, num_workers=2, n_samples=6, n_samples_val=2, n_negative=6, n_negative_val=2
    )
    rep = generate_clips(s)
    assert rep.workers == 2 and rep.generated == 16
    _check_outputs(tmp_path, s)


def test_bad_settings_fail_fast_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tts.shard"):
        parse_shard("3/2")
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) is None and parse_shard("0/1") is None
    with pytest.raises(ConfigError, match="tts.engines"):
        generate_clips(_settings(tmp_path, engines=["festival"]))
    with pytest.raises(ConfigError, match="min_clip_duration_s"):
        generate_clips(_settings(tmp_path, min_clip_duration_s=2.0, max_clip_duration_s=1.0))
    with pytest.raises(ConfigError, match="positive_paths"):
        generate_clips(_settings(tmp_path, positive_paths=[str(tmp_path / "missing")]))


def test_settings_from_hydra_config(tmp_path: Path) -> None:
    from wakeforge.core.config import compose_config

    cfg = compose_config(
        [
            f"paths.root_dir={tmp_path}",
            "tts.shard=1/3",
            "data.phrase=[ok nabu,hey nabu]",
            "tts.engines=[tone]",
        ],
        output_dir=tmp_path,
    )
    s = GenerateSettings.from_config(cfg)
    assert s.phrases == ["ok nabu", "hey nabu"] and s.shard == (1, 3) and s.engines == ["tone"]
    assert s.counts()["positive_train"] == cfg.data.n_samples
    assert s.work_dir.name == "ok_nabu" and s.pitch_semitones == (-3.0, 3.0)
    assert s.min_adversarial_distance == 0.0
    s2 = GenerateSettings.from_config(compose_config(
        [f"paths.root_dir={tmp_path}", "tts.min_adversarial_distance=1.0"], output_dir=tmp_path))
    assert s2.min_adversarial_distance == 1.0


def test_min_adversarial_distance_reaches_the_planned_negatives(tmp_path: Path) -> None:
    """The planner's adversarial texts follow tts.min_adversarial_distance; bad values are
    rejected by the config schema with the key's name."""
    from wakeforge.core.config import compose_config
    from wakeforge.core.errors import ConfigError
    from wakeforge.generation.text.adversarial import adversarial_candidates
    from wakeforge.generation.text.phrases import normalize_phrase

    close = {normalize_phrase(c.text) for c in adversarial_candidates("view glass")
             if c.distance < 1.0}
    assert "view gless" in close
    kept = {}
    for d in (0.0, 1.0):
        s = _settings(tmp_path / str(d), phrases=["view glass"], max_adversarial_phrases=300,
                      min_adversarial_distance=d)
        planner = build_planner(s, build_engines(s))
        kept[d] = {normalize_phrase(t) for t in planner.adversarial}
    assert close <= kept[0.0]
    assert not (close & kept[1.0])
    assert kept[1.0] == kept[0.0] - close and {"glass", "view"} <= kept[1.0]
    from wakeforge.core.schema import validate

    with pytest.raises(ConfigError, match="tts.min_adversarial_distance"):
        validate(compose_config([f"paths.root_dir={tmp_path}", "tts.min_adversarial_distance=-1"],
                                output_dir=tmp_path))


def test_dataclass_defaults_match_the_yaml_defaults(tmp_path: Path) -> None:
    from wakeforge.core.config import compose_config

    cfg = compose_config([f"paths.root_dir={tmp_path}"], output_dir=tmp_path)
    from_yaml = GenerateSettings.from_config(cfg)
    plain = GenerateSettings(phrases=["hey jarvis"], work_dir=from_yaml.work_dir)
    for name in (
        "engines",
        "engine_weights",
        "general_engine_weights",
        "espeak_voices",
        "espeak_engine_voices",
        "espeak_variants",
        "kokoro_accents",
        "kokoro_blends",
        "noise_scale",
        "length_scale",
        "noise_w_scale",
        "pitch_semitones",
        "formant_warp",
        "tempo",
        "pitch_bins",
        "formant_bins",
        "test_voice_fraction",
        "max_adversarial_phrases",
        "min_adversarial_distance",
        "kokoro_rate",
        "kokoro_blend_spread",
        "n_samples",
        "n_samples_val",
        "n_negative",
        "n_negative_val",
        "adversarial_fraction",
        "min_clip_duration_s",
        "max_clip_duration_s",
        "seed",
    ):
        assert getattr(plain, name) == getattr(from_yaml, name), name
