"""Personal adaptation on generated tones: real featurizer, real fine-tuning, real guard.

A base "run" is built in a temp folder the way stage 2 and 3 leave it: training features of
noise (negatives) and of one tone pattern (positives), a head that scores everything low, its
ONNX export, checkpoint and model card, and held-out general "speech" (noise clips with a
stage-1 manifest). The user's recordings are a different tone pattern the base never heard.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 16_000
REPO = Path(__file__).resolve().parents[3]


def tone_take(rng: np.random.Generator, pad_s: float = 0.4) -> np.ndarray:
    """A three-tone pattern (the 'phrase'), quiet padding around it."""
    parts = []
    for f in (rng.uniform(480, 520), rng.uniform(1150, 1250), rng.uniform(2300, 2500)):
        n = int(rng.uniform(0.15, 0.2) * SR)
        t = np.arange(n) / SR
        parts.append(0.5 * np.sin(2 * np.pi * f * t) * np.hanning(n) ** 0.3)
    pad = np.zeros(int(pad_s * SR))
    x = np.concatenate([pad, *parts, pad]) + rng.normal(0, 1e-4, len(pad) * 2 + sum(len(p) for p in parts))
    return x.astype(np.float32)


def burst_pair(rng: np.random.Generator) -> np.ndarray:
    """Two 0.2 s bursts of 2-4 kHz noise, 0.1 s apart (the base model's 'phrase')."""
    n = int(0.2 * SR)
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / SR)
    burst = np.fft.irfft(spec * ((f > 2000) & (f < 4000)), n)
    burst = 0.4 * burst / np.abs(burst).max() * np.hanning(n) ** 0.3
    return np.concatenate([burst, np.zeros(int(0.1 * SR)), burst[::-1]]).astype(np.float32)


def noise(rng: np.random.Generator, seconds: float = 2.0) -> np.ndarray:
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.normal(0, 1, n))
    spec /= np.maximum(np.fft.rfftfreq(n, 1 / SR), 20) ** rng.uniform(0, 1)
    x = np.fft.irfft(spec, n)
    return (x / (np.abs(x).max() + 1e-9) * rng.uniform(0.05, 0.4)).astype(np.float32)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A trained-looking wakeforge model folder: features, checkpoint, ONNX, card, held-out speech."""
    from wakeforge.core.layout import feature_file
    from wakeforge.export.onnx import export_onnx
    from wakeforge.personal.adapt import _save_rows, make_rows
    from wakeforge.personal.run import _featurizer

    root = tmp_path_factory.mktemp("personal")
    work = root / "detection" / "tones"
    work.mkdir(parents=True)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    head_cfg = {"_target_": "wakeforge.training.models.heads.DNNHead", "n_frames": 16, "embedding_dim": 96,
                "layer_size": 32, "n_blocks": 1, "n_members": 1}
    card = {"model_name": "tones", "phrase": "tones", "recommended_threshold": 0.5,
            "config": {"model": {"head": head_cfg, "max_negative_weight": 10},
                       "data": {"clip_duration_s": 2.0, "batch_n_per_class": {"positive": 16, "adversarial_negative": 48}}}}
    (work / "tones.json").write_text(json.dumps(card))
    from wakeforge.personal.base import build_head

    featurizer = _featurizer(_cfg(root), type("B", (), {"head": build_head(card), "section": lambda self, *k: {}})())
    # Negatives: noise, and steady tones at the user's three frequencies (so the base model does
    # not hear the user's quick three-tone pattern: it was taught those tones mean "no").
    negs = [noise(rng) for _ in range(60)]
    for f in (500, 1200, 2400) * 10:
        t = np.arange(int(rng.uniform(0.4, 0.8) * SR)) / SR
        negs.append((rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * f * rng.uniform(0.97, 1.03) * t)).astype(np.float32))
    neg_path = _save_rows(feature_file(work, "adversarial_negative", "train"),
                          make_rows(featurizer, negs, 3, 1, negative=True))
    # The base run's own positives: two bursts of band-limited noise, nothing like the user's tones.
    pos = [burst_pair(rng) for _ in range(20)]
    pos_path = _save_rows(feature_file(work, "positive", "train"), make_rows(featurizer, pos, 4, 2))
    # Train the base head on them (stage 3's module and loss).
    from wakeforge.training.data.datamodule import ClassSource
    from wakeforge.training.data.sources import RowReader
    from wakeforge.personal.adapt import fine_tune

    sources = [ClassSource("positive", RowReader(pos_path), 16, 1.0), ClassSource("adversarial_negative", RowReader(neg_path), 48, 0.0)]
    head, _ = fine_tune(build_head(card), sources, steps=300, learning_rate=1e-3, model_cfg={"max_negative_weight": 10},
                        lit_state={}, seed=0, threshold=0.5)
    export_onnx(head, work / "tones.onnx")
    (work / "checkpoints" / "abc").mkdir(parents=True)
    torch.save({"state_dict": {f"head.{k}": v for k, v in head.state_dict().items()}, "fp_boost": torch.tensor(1.0)},
               work / "checkpoints" / "abc" / "last.ckpt")
    held = work / "negative_test"
    held.mkdir()
    lines = []
    for i in range(150):
        sf.write(held / f"{i:06d}.wav", (noise(rng) * 32767).astype(np.int16), SR, subtype="PCM_16")
        lines.append(json.dumps({"key": f"{i:06d}", "file": f"{i:06d}.wav", "kind": "general"}))
    (held / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    takes = root / "takes"
    takes.mkdir()
    for i in range(10):
        sf.write(takes / f"take_{i:03d}.wav", tone_take(rng), SR)
    noisy = root / "noise_takes"  # "recordings" that are only noise: a deliberately bad adaptation
    noisy.mkdir()
    for i in range(10):
        sf.write(noisy / f"n_{i:03d}.wav", noise(rng, 1.5), SR)
    room = root / "room.wav"
    sf.write(room, np.concatenate([noise(rng) for _ in range(20)]), SR)
    return {"root": root, "work": work, "takes": takes, "noisy": noisy, "room": room}


def _cfg(root: Path, *overrides: str):
    from wakeforge.core.config import compose_config

    return compose_config([f"paths.root_dir={root}", "augmentation.n_simulated_rirs=4",
                           "augmentation.background_generated_s=60", "augmentation.snr_db=[10.0,25.0]",
                           *overrides], output_dir=root / "run")


def test_adaptation_raises_scores_on_held_out_tones(base_run):
    from wakeforge.personal.run import run_personalize

    root, work = base_run["root"], base_run["work"]
    cfg = _cfg(root, f"finetune.init_from={work}", f"data.positive_paths=[{base_run['takes']}]",
               "finetune.steps=150", "finetune.rows_per_recording=40", "finetune.learning_rate=1e-3",
               "finetune.personal_weight=1", "finetune.max_fa_increase=200",
               # the tones' own reversals and splices as negatives make this toy task an order
               # puzzle that 150 steps do not solve; test_own_voice_negatives covers them
               "finetune.own_voice_negatives=false",
               # the user's own negatives: one 40 s recording of "the room"
               f"finetune.negative_paths=[{base_run['room']}]")
    result = run_personalize(cfg)
    old, new = result["old"], result["new"]
    assert result["n_train"] == 8 and result["n_held_out"] == 2
    # The base was trained on other sounds; after adaptation the held-out takes score high.
    # (0.70 -> 0.96 when written; 0.83 before adaptation with the packages installed on
    # 2026-12-07, also on the unchanged code of 11bae34; the tiny base's false accepts on held-out noise rose 0 -> 38/h,
    # which is why max_fa_increase is raised here: the next test shows the guard at its default.)
    # Adaptation must close at least half of the gap to 1 and end above 0.9.
    assert old.mean_score < 0.9, old
    assert new.mean_score > max(0.9, old.mean_score + 0.5 * (1.0 - old.mean_score)), (old, new)
    assert new.recall == 1.0
    # every fifth 2 s piece of the room recording is held out and scored by the guard
    assert set(new.fa_per_hour) == {"general_speech", "your_negatives"}
    out = work.parent / "tones_personal"
    card = json.loads((out / "tones_personal.json").read_text())
    assert card["adaptation"]["base_model"]["model_name"] == "tones"
    assert sorted(Path(p).name for p in card["adaptation"]["recordings_train"]) == sorted(
        p.name for p in base_run["takes"].glob("*.wav") if str(p) not in card["adaptation"]["recordings_held_out"])
    assert len(card["adaptation"]["recordings_held_out"]) == 2
    assert card["adaptation"]["negative_paths"] == [str(base_run["room"])]
    assert card["adaptation"]["training"]["rows"]["personal_negative"] > 0
    assert card["parity_max_abs_diff"]["tflite_vs_onnx"] <= 1e-4
    assert (out / "tones_personal.tflite").stat().st_size > 1000
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no staging left
    # The adapted model loads through the streaming scorer and scores a held-out take high.
    from wakeforge.evaluation.streaming import StreamingScorer

    take = Path(card["adaptation"]["recordings_held_out"][0])
    scores = StreamingScorer(out / "tones_personal.onnx").score_file(take)
    assert scores.max_score >= 0.5


def test_guard_refuses_a_bad_adaptation(base_run, caplog):
    from wakeforge.personal.guard import GuardRefused
    from wakeforge.personal.run import run_personalize

    root, work = base_run["root"], base_run["work"]
    out = root / "bad_out"
    cfg = _cfg(root, f"finetune.init_from={work}/tones.onnx", f"data.positive_paths=[{base_run['noisy']}]",
               "finetune.steps=150", "finetune.rows_per_recording=40", "finetune.learning_rate=1e-3",
               "finetune.max_fa_increase=0.5", f"finetune.out_dir={out}", "data.max_clip_duration_s=2.0")
    before = (work / "tones.onnx").read_bytes()
    with pytest.raises(GuardRefused, match=r"not exported: the adapted model accepts .* false alarms per hour on "
                                           r"held-out general speech .*the old model .* is kept"):
        run_personalize(cfg)
    assert (work / "tones.onnx").read_bytes() == before
    assert not out.exists() or not any(out.iterdir())
    assert not (out.parent / f".{out.name}.partial").exists()


def test_weights_from_onnx_when_no_checkpoint(base_run, tmp_path):
    import shutil

    from wakeforge.personal.base import load_base

    copy = tmp_path / "tones"
    copy.mkdir()
    for f in ("tones.onnx", "tones.json"):
        shutil.copy(base_run["work"] / f, copy / f)
    base = load_base(copy / "tones.onnx")
    assert base.weights_from == "onnx weights"
    ckpt = torch.load(base_run["work"] / "checkpoints" / "abc" / "last.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(base.head.net[-2].bias, ckpt["head.net.7.bias"])


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wakeforge.personalize", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.mark.parametrize("case", ["no_recordings", "silent", "ten_minutes", "odd_rate", "no_model"])
def test_hostile_inputs_get_one_line(base_run, tmp_path, case):
    work = base_run["work"]
    rec = tmp_path / "rec"
    rec.mkdir()
    if case == "silent":
        sf.write(rec / "silent.wav", np.zeros(SR, np.float32), SR)
        want = "0 usable recording(s)"
        want2 = "silent"
    elif case == "ten_minutes":
        sf.write(rec / "long.wav", np.random.default_rng(0).normal(0, 0.1, 600 * 8000).astype(np.float32), 8000)
        want, want2 = "0 usable recording(s)", "cut it to one utterance per file"
    elif case == "odd_rate":
        # 500 Hz is below what the tool decodes; the two 44.1 kHz stereo takes are converted and kept.
        sf.write(rec / "low.wav", np.zeros(500, np.float32) + 0.1, 500)
        rng = np.random.default_rng(1)
        for i in range(2):
            x = tone_take(rng)
            y = np.interp(np.arange(0, len(x), 16000 / 44100), np.arange(len(x)), x)
            sf.write(rec / f"hi_{i}.wav", np.stack([y, y], 1), 44100)
        want, want2 = "2 usable recording(s)", "sample rate 500 Hz"
    elif case == "no_model":
        want, want2 = "no .onnx model in", "pass a trained wakeforge model"
    else:
        want, want2 = "0 usable recording(s)", "need at least 3"
    model = tmp_path if case == "no_model" else work
    proc = _run("--model", str(model), "--recordings", str(rec), f"paths.root_dir={base_run['root']}", cwd=tmp_path)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("error:")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert want in lines[0] and want2 in lines[0], lines[0]


def test_missing_recordings_folder_and_no_model_flag(tmp_path):
    proc = _run("--recordings", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: no model to adapt")
    proc = _run("--model", str(tmp_path), "--recordings", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_check_take_reasons():
    from wakeforge.personal.recordings import check_take

    rng = np.random.default_rng(3)
    ok, why = check_take(tone_take(rng), min_s=0.3, max_s=1.9)
    assert why is None and np.abs(ok).max() == pytest.approx(0.89, abs=1e-3)
    assert 0.4 < len(ok) / SR < 0.8  # the quiet padding is trimmed
    assert "too quiet" in check_take(tone_take(rng) * 0.005, min_s=0.3, max_s=1.9)[1]
    clipped = np.clip(tone_take(rng) * 8, -1, 1)
    assert "clipped" in check_take(clipped, min_s=0.3, max_s=1.9)[1]
    assert "only" in check_take(tone_take(rng)[: int(0.5 * SR)], min_s=0.3, max_s=1.9)[1]
    long = np.concatenate([tone_take(rng, 0.0) for _ in range(5)])
    assert "at most 1.90 s" in check_take(long, min_s=0.3, max_s=1.9)[1]
    assert "nothing was recorded" in check_take(np.zeros(0), min_s=0.3, max_s=1.9)[1]
    assert "too quiet" in check_take(np.full(SR, 0.3, np.float32), min_s=0.3, max_s=1.9)[1]  # DC only


def test_split_holdout_is_stable_and_by_file():
    from wakeforge.personal.recordings import Take, split_holdout

    takes = [Take(Path(f"/x/{i}.wav"), np.zeros(10, np.float32), f"{i:040x}") for i in range(20)]
    train, held = split_holdout(takes, 0.2)
    assert len(held) == 4 and len(train) == 16
    assert {t.digest for t in held} == {f"{i:040x}" for i in range(4)}
    assert {t.path for t in split_holdout(takes[::-1], 0.2)[1]} == {t.path for t in held}  # order-free
    assert split_holdout(takes[:4], 0.2) == (takes[:4], [])


def test_record_refuses_bad_arguments(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wakeforge.record", str(tmp_path), "--phrase", " "],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: --phrase is empty")
    proc = subprocess.run([sys.executable, "-m", "wakeforge.record", str(tmp_path), "--phrase", "computer", "--n", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "give 1-500 takes" in proc.stderr


def test_own_voice_negatives_are_the_takes_rearranged():
    from wakeforge.augment.rearrange import rearranged

    rng = np.random.default_rng(5)
    takes = [tone_take(rng, 0.05) for _ in range(4)]
    negs = rearranged(takes, seed=0)
    assert len(negs) == 5 * len(takes)  # reversed, two halves, shuffled quarters, one splice each
    np.testing.assert_array_equal(negs[0], takes[0][::-1])
    assert len(negs[1]) + len(negs[2]) == len(takes[0])
    np.testing.assert_array_equal(np.concatenate([negs[1], negs[2]]), takes[0])
    shuffled = negs[3]
    assert len(shuffled) == len(takes[0]) and not np.array_equal(shuffled, takes[0])
    np.testing.assert_allclose(np.sort(shuffled), np.sort(takes[0]))  # the same samples, reordered
    for n in negs:
        assert not any(len(n) == len(t) and np.array_equal(n, t) for t in takes)
    # deterministic for a seed
    again = rearranged(takes, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(negs, again))
