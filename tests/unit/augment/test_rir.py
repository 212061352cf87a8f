from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

from wakeforge.augment import rir as rir_mod
from wakeforge.augment.rir import RIR_ONSET_SAMPLES, load_rir_bank, prepare_rir
from wakeforge.core.errors import ConfigError


def test_prepare_rir_aligns_normalises_and_fixes_length():
    h = np.zeros(30000)
    h[500] = -3.0
    h[501:] = np.random.default_rng(0).normal(0, 0.1, 29499)
    out = prepare_rir(h, 16000)
    assert out.shape == (16000,) and out.dtype == np.float32
    assert int(np.argmax(np.abs(out))) == RIR_ONSET_SAMPLES
    assert abs(float(np.sum(out.astype(np.float64) ** 2)) - 1.0) < 1e-5
    assert abs(float(out[-1])) < 1e-3  # faded out, no click at the cut
    short = prepare_rir(np.array([0.0, 1.0, 0.5]), 100)
    assert int(np.argmax(short)) == RIR_ONSET_SAMPLES and short.shape == (100,)


def test_simulated_bank_is_cached_and_reused(tmp_path, monkeypatch):
    calls = []
    real = rir_mod.simulate_rirs

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(rir_mod, "simulate_rirs", counting)
    a = load_rir_bank([], tmp_path, n_simulated=2, seed=0, duration_s=0.25)
    assert a.shape == (2, 4000) and len(calls) == 1
    assert list((tmp_path / "rirs").glob("*.npy"))
    b = load_rir_bank([], tmp_path, n_simulated=2, seed=0, duration_s=0.25)
    assert len(calls) == 1  # second call loaded the cache
    assert (a == b).all()
    assert (np.argmax(np.abs(a.numpy()), axis=1) == RIR_ONSET_SAMPLES).all()
    load_rir_bank([], tmp_path, n_simulated=2, seed=1, duration_s=0.25)
    assert len(calls) == 2  # another seed is another cache entry


def test_user_rirs_skip_bad_files(tmp_path, caplog):
    folder = tmp_path / "rirs"
    folder.mkdir()
    h = np.zeros(8000, np.float32)
    h[10] = 0.9
    h[11:] = np.random.default_rng(1).normal(0, 0.01, 7989)
    sf.write(folder / "a.wav", h, 16000)
    sf.write(folder / "b.flac", np.stack([h, h], 1), 48000)
    (folder / "broken.wav").write_bytes(b"RIFF....not audio")
    with caplog.at_level(logging.WARNING):
        bank = load_rir_bank([folder], tmp_path / "cache", n_simulated=5, seed=0, duration_s=0.5)
    assert bank.shape == (2, 8000)
    assert "skipped 1 of 3" in caplog.text
    assert not (tmp_path / "cache").exists()  # no simulation when user RIRs are given


def test_user_rirs_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_rir_bank([tmp_path / "nope"], tmp_path, 1, 0)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.wav").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="no usable"):
        load_rir_bank([tmp_path / "bad"], tmp_path, 1, 0)
