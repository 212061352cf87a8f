"""Every row of the table in ``docs/errors.md``: the exact line a user sees, and nothing changed.

The expected messages are read from the table itself (``<root>`` stands for the project root,
which is also the working directory), so the documentation cannot drift from the code. Each case
starts from a root that already holds a finished run (clips, manifests, features, a checkpoint,
an exported model); after the bad command, every one of those files must be byte-identical and
no new file may appear in the work folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wakeforge.core.config import compose_config
from wakeforge.core.errors import WakeforgeError, cli_errors

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "errors.md"
SR = 16_000
WORK = "data/detection/hey_jarvis"
BASE = ["experiment=smoke"]


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------
def doc_rows() -> dict[str, tuple[str, str]]:
    """``{id: (what the user typed, what they see)}`` from the tables in docs/errors.md."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*(E\d\d)\s*\|(.*)\|\s*``\s?(.*?)\s?``\s*\|\s*$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            rows[m.group(1)] = (cells[-1], m.group(3))
    return rows


# ---------------------------------------------------------------------------------------------
# A root with a finished run in it
# ---------------------------------------------------------------------------------------------
def _tone(seconds: float = 1.0, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def make_finished_run(root: Path) -> Path:
    work = root / WORK
    for split in ("positive_train", "positive_test", "negative_train", "negative_test"):
        d = work / split
        d.mkdir(parents=True)
        recs = []
        for i in range(3):
            sf.write(d / f"{i:06d}.wav", _tone(0.8, 300 + 50 * i), SR, subtype="PCM_16")
            recs.append({"key": f"{i:06d}", "file": f"{i:06d}.wav", "num_samples": int(0.8 * SR)})
        (d / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    feats = work / "features"
    feats.mkdir()
    rng = np.random.default_rng(0)
    for name in ("positive_features_train", "positive_features_test", "adversarial_negative_features_train",
                 "adversarial_negative_features_test", "background_features_train"):
        np.save(feats / f"{name}.npy", rng.normal(size=(4, 16, 96)).astype(np.float32))
    (feats / "manifest.json").write_text("{}\n")
    ck = work / "checkpoints" / "0123456789"
    ck.mkdir(parents=True)
    (ck / "last.ckpt").write_bytes(rng.bytes(2048))
    (work / "hey_jarvis.onnx").write_bytes(rng.bytes(1024))
    (work / "hey_jarvis.json").write_text('{"phrase": "hey jarvis"}\n')
    return work


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# Setups: files a case needs besides the finished run
# ---------------------------------------------------------------------------------------------
def write_bad_audio(folder: Path, good: int = 2) -> Path:
    """One of each kind of bad file (and ``good`` usable ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a_empty.wav").write_bytes(b"")
    buf = folder / "b_truncated.wav"
    sf.write(buf, _tone(1.0), SR, subtype="PCM_16")
    buf.write_bytes(buf.read_bytes()[:30])
    (folder / "c_garbage.flac").write_bytes(b"fLaC" + bytes(range(256)) * 4)
    sf.write(folder / "d_silent.wav", np.zeros(SR, np.float32), SR, subtype="PCM_16")
    nan = _tone(1.0)
    nan[100] = np.nan
    sf.write(folder / "e_nan.wav", nan, SR, subtype="FLOAT")
    for i in range(good):  # usable, in awkward formats: stereo 44.1 kHz 24-bit, 8 kHz 8-bit, 48 kHz float
        fmt = [(44_100, "PCM_24", 2), (8_000, "PCM_U8", 1), (48_000, "FLOAT", 1)][i % 3]
        sr, subtype, ch = fmt
        x = np.random.default_rng(i).normal(0, 0.1, (int(4.5 * sr), ch)).astype(np.float32)
        sf.write(folder / f"z_good_{i}.wav", x, sr, subtype=subtype)
    return folder


def write_voice(root: Path, rate: object = 22050, with_json: bool = True) -> Path:
    model = root / "voices" / "en_US-test-medium.onnx"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(b"not really onnx")
    if with_json:
        Path(f"{model}.json").write_text(json.dumps({"audio": {"sample_rate": rate}, "num_speakers": 1}))
    return model


def write_npy(path: Path, shape: tuple[int, ...], dtype: str = "float32") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.zeros(shape, dtype=dtype))
    return path


# ---------------------------------------------------------------------------------------------
# Runners: how the user meets the message
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    run: str  # hydra | compat | train | check-warning | backgrounds | rirs | clips
    overrides: list[str] = field(default_factory=list)
    setup: Callable[[Path], None] | None = None


CASES: dict[str, Case] = {
    # Hydra composition and the command line
    "E01": Case("hydra", ['data.phrse="hey jarvis"']),
    "E02": Case("hydra", ["model=cnn"]),
    "E03": Case("hydra", ["data.phrase=?!"]),
    "E04": Case("compat", ["config_file=my_model.yaml"]),
    # keys and types
    "E05": Case("hydra", ["data.n_samples=abc"]),
    "E06": Case("train", ["augmentation.p_rir=1.5"]),
    "E07": Case("train", ["data.clip_duration_s=1.5"]),
    "E08": Case("hydra", ["stages=[generate,fit]"]),
    "E09": Case("train", ["data.batch_n_per_class.positive=0"]),
    # the phrase
    "E10": Case("train", ['data.phrase=""']),
    "E11": Case("train", ['data.phrase="?!"', "model_name=hey_jarvis"]),
    "E12": Case("train", ['data.phrase="hey 🤖"', "model_name=hey_jarvis"]),
    "E13": Case("train", ['data.phrase="привет"', "model_name=hey_jarvis"]),
    "E14": Case("train", ['data.phrase="hey jarvis please turn on all the lights in the kitchen"', "model_name=hey_jarvis"]),
    # paths
    "E15": Case("train", ["augmentation.background_paths=[noise]"]),
    "E16": Case("train", ["augmentation.background_paths=[noise]"], lambda r: (r / "noise").mkdir() or (r / "noise" / "README.txt").write_text("x")),
    "E17": Case("train", ["augmentation.rir_paths=[data/training-data/mit_rirs]"]),
    "E18": Case("train", ["data.positive_paths=[my_voice]"]),
    "E19": Case("train", ["+data.feature_data_files.ACAV100M_sample=acav.npy", "+data.batch_n_per_class.ACAV100M_sample=32"]),
    "E20": Case("train", ["+data.feature_data_files.ACAV100M_sample=acav.npy", "+data.batch_n_per_class.ACAV100M_sample=32"],
                lambda r: write_npy(r / "acav.npy", (8, 96, 16)) and None),
    "E21": Case("train", ["+data.feature_data_files.ACAV100M_sample=acav.npy", "+data.batch_n_per_class.ACAV100M_sample=32"],
                lambda r: write_npy(r / "acav.npy", (8, 16, 96), "float64") and None),
    "E22": Case("train", ["data.false_positive_validation_data_path=validation_set_features.npy"]),
    "E23": Case("train", ['data.phrase="ok nabu"', "stages=[train]"]),
    "E24": Case("train", ['data.phrase="ok nabu"', "stages=[augment,train]"]),
    # voices
    "E25": Case("train", ["tts.piper_voices=[voices/en_US-test-medium.onnx]"]),
    "E26": Case("train", ["tts.piper_voices=[voices/en_US-test-medium.onnx]"], lambda r: write_voice(r, with_json=False) and None),
    "E27": Case("train", ["tts.piper_voices=[voices/en_US-test-medium.onnx]"], lambda r: write_voice(r, rate="22k") and None),
    # environment
    "E28": Case("train", ["data.n_samples=100000", "data.n_negative=100000"]),
    "E29": Case("check-warning", ["trainer.accelerator=gpu"]),
    # bad audio
    "E30": Case("backgrounds", [], lambda r: write_bad_audio(r / "noise", good=2) and None),
    "E31": Case("backgrounds", [], lambda r: write_bad_audio(r / "noise", good=0) and None),
    "E32": Case("clips", [], lambda r: write_bad_audio(r / WORK / "positive_train", good=0) and None),
    "E33": Case("rirs", [], lambda r: write_bad_audio(r / "rirs", good=3) and None),
    # placement
    "E34": Case("train", ["data.negative_window_hop_s=0.1"]),
    # files and names from others (issue #13)
    "E35": Case("train", ["model_name=../../x"]),
    "E36": Case("train", ["+callbacks.evil._target_=shutil.copyfile"]),
    "E37": Case("train", ["data.phrase=[hey jarvis,5]", "model_name=hey_jarvis"]),
    "E38": Case("train", ["augmentation.rir_paths=[rirs]"], lambda r: write_bad_audio(r / "rirs", good=0) and None),
    # The schema (wakeforge/core/schema.py): an enum at compose, a range in __post_init__.
    "E39": Case("hydra", ["tts.engines=[nope]"]),
    "E40": Case("train", ["augmentation.rounds=-1"]),
    # The head's own rule (wakeforge.training.models.heads), checked before stage 1.
    "E41": Case("train", ["model.head.dropout=2"]),
}


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def run_case(case: Case, root: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
             monkeypatch: pytest.MonkeyPatch) -> str:
    """Run one case the way a user meets it; return the single line they see."""
    overrides = [*BASE, *case.overrides, f"paths.root_dir={root}"]
    if case.run == "hydra":
        from wakeforge.core.hydra_cli import run_hydra_cli

        with pytest.raises(SystemExit) as ex:
            run_hydra_cli(lambda: pytest.fail("Hydra accepted the overrides"), argv=overrides)
        assert ex.value.code == 2
        return _one_line(capsys.readouterr().err)
    if case.run == "compat":
        from wakeforge.core.compat import expand_argv

        with pytest.raises(SystemExit) as ex, cli_errors():
            expand_argv(["wakeforge.train", *overrides])
        assert ex.value.code == 2
        return _one_line(capsys.readouterr().err)
    if case.run == "train":
        import wakeforge.augment.stage
        import wakeforge.pipeline.preflight
        import wakeforge.generation.run
        import wakeforge.training.run
        from wakeforge.pipeline.run import run_pipeline

        for mod, name in ((wakeforge.generation.run, "run_generate"), (wakeforge.augment.stage, "run_augment"),
                          (wakeforge.training.run, "run_training")):
            monkeypatch.setattr(mod, name, lambda cfg, _n=name: pytest.fail(f"{_n} ran despite a bad input"))
        if "data.n_samples=100000" in case.overrides:  # a small disk: 200 MB free
            monkeypatch.setattr(wakeforge.pipeline.preflight.shutil, "disk_usage", lambda p: type("U", (), {"free": 200 * 10**6})())
        cfg = compose_config(overrides, output_dir=root / "logs" / "run")
        with pytest.raises(SystemExit) as ex, cli_errors():
            run_pipeline(cfg)
        assert ex.value.code == 2
        return _one_line(capsys.readouterr().err)
    if case.run == "check-warning":
        from wakeforge.pipeline.preflight import check_config

        monkeypatch.setattr("wakeforge.core.device._cuda_available", lambda: False)
        cfg = compose_config(overrides, output_dir=root / "logs" / "run")
        with caplog.at_level(logging.WARNING, logger="wakeforge"):
            problems = check_config(cfg)
        assert [p.level for p in problems] == ["warning"]
        assert cfg.trainer.accelerator == "cpu"  # fell back
        return "warning: " + _one_line("\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING))
    if case.run == "backgrounds":
        from wakeforge.augment.background import load_background_bank

        with caplog.at_level(logging.WARNING, logger="wakeforge"):
            try:
                bank = load_background_bank([root / "noise"], seed=0)
            except WakeforgeError as exc:
                return f"error: {exc}"
        assert bank.shape[0] >= 2 and bool(bank.isfinite().all())
        return "warning: " + _one_line("\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING))
    if case.run == "rirs":
        from wakeforge.augment.rir import load_rir_bank

        with caplog.at_level(logging.WARNING, logger="wakeforge"):
            bank = load_rir_bank([root / "rirs"], root / "cache", n_simulated=0, seed=0)
        assert bank.shape[0] == 3 and bool(bank.isfinite().all())
        return "warning: " + _one_line("\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING))
    if case.run == "clips":
        from wakeforge.augment.featurize import load_clip_folder

        with caplog.at_level(logging.WARNING, logger="wakeforge"):
            clips, names = load_clip_folder(root / WORK / "positive_train", "positive_train clips")
        assert len(clips) == 3 and all(np.isfinite(c).all() for c in clips)
        return "warning: " + _one_line("\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING))
    raise AssertionError(case.run)


def _one_line(text: str) -> str:
    lines = _lines(text)
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    return lines[0]


ROWS = doc_rows()


def test_table_and_cases_agree() -> None:
    assert len(ROWS) >= 15
    assert sorted(ROWS) == sorted(CASES), "docs/errors.md rows and CASES differ"


@pytest.mark.parametrize("row", sorted(CASES))
def test_bad_input_row(row: str, tmp_path: Path, capsys, caplog, monkeypatch) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    work = make_finished_run(root)
    case = CASES[row]
    if case.setup:
        case.setup(root)
    monkeypatch.chdir(root)
    expected = ROWS[row][1]
    before = snapshot(root)
    seen = run_case(case, root, capsys, caplog, monkeypatch)
    assert seen == expected.replace("<root>", str(root)), row
    after = snapshot(root)
    changed = [k for k in before if after.get(k) != before[k]]
    assert not changed, f"{row}: produced files changed: {changed}"
    new_in_work = [k for k in after if k not in before and k.startswith(WORK)]
    assert not new_in_work, f"{row}: new files in the work folder: {new_in_work}"
    assert work.is_dir()


@pytest.mark.parametrize("row", ["E01", "E02", "E03"])
def test_cli_prints_the_same_single_line(row: str, tmp_path: Path) -> None:
    """The real entry point (a subprocess) prints exactly the table's line and exits 2."""
    out = subprocess.run(
        [sys.executable, "-m", "wakeforge.train", *BASE, *CASES[row].overrides, f"paths.root_dir={tmp_path}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "WANDB_MODE": "disabled"},
    )
    assert out.returncode == 2, out.stderr
    assert _lines(out.stderr) == [ROWS[row][1].replace("<root>", str(tmp_path))]
    assert not (tmp_path / "data").exists()


def test_cli_check_lists_problems_and_writes_nothing(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wakeforge.check", *BASE, f"paths.root_dir={tmp_path}", "data.positive_paths=[my_voice]",
         "augmentation.background_paths=[noise]"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    lines = _lines(out.stderr)
    assert lines[0] == ROWS["E18"][1].replace("<root>", str(tmp_path))
    assert lines[1] == ROWS["E15"][1].replace("<root>", str(tmp_path))
    assert lines[-1] == "2 problem(s) found; nothing was written"
    assert list(tmp_path.iterdir()) == []
    ok = subprocess.run([sys.executable, "-m", "wakeforge.check", *BASE, f"paths.root_dir={tmp_path}"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 'hey jarvis'"), ok.stdout + ok.stderr
    assert list(tmp_path.iterdir()) == []
