from __future__ import annotations

import dataclasses

import pytest
import torch

from wakeforge.augment import dsp
from wakeforge.augment.pipeline import AugmentationConfig, Augmenter
from wakeforge.core.errors import ConfigError

ALL_OFF = dict(  # noqa: C408 - keyword form reads like the config
    p_rir=0.0,
    p_background=0.0,
    p_colored_noise=0.0,
    p_eq=0.0,
    p_filter=0.0,
    p_distortion=0.0,
    p_pitch_shift=0.0,
    p_gain=0.0,
    p_clip=0.0,
)


def only(**on: float) -> AugmentationConfig:
    return AugmentationConfig(**{**ALL_OFF, **on})


def full_augmenter(rir_bank, noise_bank, seed: int = 0, **over) -> Augmenter:
    cfg = AugmentationConfig(
        p_rir=0.5,
        p_background=0.75,
        p_colored_noise=0.5,
        p_eq=0.5,
        p_filter=0.5,
        p_distortion=0.5,
        p_pitch_shift=0.5,
        p_gain=1.0,
        **over,
    )
    return Augmenter(cfg, rir_bank, noise_bank, seed=seed)


def test_shape_dtype_range_kept(windows, rir_bank, noise_bank):
    aug = full_augmenter(rir_bank, noise_bank, gain_db=(0.0, 12.0))
    out = aug(windows)
    assert out.shape == windows.shape and out.dtype == windows.dtype
    assert torch.isfinite(out).all()
    assert float(out.abs().max()) <= 1.0 + 1e-6
    assert not torch.equal(out, windows)
    half = aug(windows.double())
    assert half.dtype == torch.float64


def test_zero_probability_is_identity(windows, rir_bank, noise_bank):
    aug = Augmenter(only(), rir_bank, noise_bank, seed=0)
    assert torch.equal(aug(windows), windows)


@pytest.mark.parametrize("name", [k for k in ALL_OFF])
def test_each_transform_runs_and_keeps_shape(name, windows, rir_bank, noise_bank):
    aug = Augmenter(only(**{name: 1.0}), rir_bank, noise_bank, seed=3)
    out = aug(windows)
    assert out.shape == windows.shape
    assert torch.isfinite(out).all() and float(out.abs().max()) <= 1.0 + 1e-6
    assert not torch.equal(out, windows)


def test_same_seed_same_output_and_global_rng_untouched(windows, rir_bank, noise_bank):
    a = full_augmenter(rir_bank, noise_bank, seed=7)
    b = full_augmenter(rir_bank, noise_bank, seed=7)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    out_a, out_b = a(windows), b(windows)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch-audiomentations ran forked
    assert torch.equal(out_a, out_b)
    a.reseed(7)
    assert torch.equal(a(windows), out_a)
    assert not torch.equal(full_augmenter(rir_bank, noise_bank, seed=8)(windows), out_a)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(a(windows, generator=g1), b(windows, generator=g2))


@pytest.mark.parametrize("snr", [(-5.0, 15.0), (3.0, 3.0)])
def test_background_snr_within_bounds(windows, noise_bank, snr):
    aug = Augmenter(only(p_background=1.0, snr_db=snr), None, noise_bank, seed=1)
    out = aug(windows)
    noise = out - windows
    measured = 10 * torch.log10(dsp.active_power(windows) / dsp.power(noise))
    assert (measured >= snr[0] - 0.05).all() and (measured <= snr[1] + 0.05).all()
    if snr[0] < snr[1]:
        assert float(measured.max() - measured.min()) > 1.0  # drawn per example


def test_background_snr_full_window_signal(noise_bank):
    # A signal that fills the window: active level == plain power, so the textbook SNR holds.
    t = torch.arange(32000) / 16000
    x = (0.3 * torch.sin(2 * torch.pi * 500 * t)).repeat(4, 1)
    aug = Augmenter(only(p_background=1.0, snr_db=(0.0, 10.0)), None, noise_bank, seed=2)
    noise = aug(x) - x
    measured = 10 * torch.log10(dsp.power(x) / dsp.power(noise))
    assert (measured > -0.05).all() and (measured < 10.05).all()


def test_colored_noise_snr_within_bounds(windows):
    aug = Augmenter(only(p_colored_noise=1.0, colored_noise_snr_db=(10.0, 20.0)), seed=4)
    noise = aug(windows) - windows
    measured = 10 * torch.log10(dsp.active_power(windows) / dsp.power(noise))
    assert (measured > 9.95).all() and (measured < 20.05).all()


def test_rir_keeps_level_and_timing(windows, rir_bank):
    aug = Augmenter(only(p_rir=1.0), rir_bank, None, seed=0)
    out = aug(windows)
    assert torch.allclose(dsp.power(out), dsp.power(windows), rtol=1e-3)
    # The direct path is aligned: the burst still starts where it was placed.
    for i in range(windows.shape[0]):
        start = 4000 + 1000 * i
        assert float(out[i, start - 400 : start - 100].abs().max()) < 0.05
        assert float(out[i, start + 100 : start + 400].abs().max()) > 0.1


def test_empty_banks_skip_quietly(windows):
    aug = Augmenter(only(p_rir=1.0, p_background=1.0), None, None, seed=0)
    assert torch.equal(aug(windows), windows)


def test_eval_mode_still_augments(windows, noise_bank):
    aug = Augmenter(only(p_gain=1.0, gain_db=(-6.0, -3.0)), None, noise_bank, seed=0).eval()
    out = aug(windows)
    ratio = dsp.power(out) / dsp.power(windows)
    assert (ratio < 10 ** (-2.9 / 10)).all()


def test_config_from_mapping_rejects_typos_and_bad_values():
    cfg = AugmentationConfig.from_config(
        {"batch_size": 8, "rounds": 2, "p_rir": 0.1, "snr_db": [0, 5]}
    )
    assert cfg.p_rir == 0.1 and cfg.snr_db == (0.0, 5.0)
    with pytest.raises(ConfigError, match="p_backround"):
        AugmentationConfig.from_config({"p_backround": 0.5})
    with pytest.raises(ConfigError, match="probability"):
        AugmentationConfig(p_gain=1.5)
    with pytest.raises(ConfigError, match="min is above max"):
        AugmentationConfig(snr_db=(10.0, 0.0))
    assert dataclasses.replace(cfg, p_eq=0.0).p_eq == 0.0


def test_yaml_groups_compose():
    from wakeforge.core.config import compose_config

    for name in ("default", "none", "heavy"):
        cfg = AugmentationConfig.from_config(compose_config([f"augmentation={name}"]).augmentation)
        if name == "none":
            assert cfg.p_background == 0.0 and cfg.p_gain == 0.0


def test_build_augmenter_loads_both_banks(tmp_path, windows):
    from wakeforge.augment.pipeline import build_augmenter

    cfg = AugmentationConfig(
        n_simulated_rirs=2, rir_duration_s=0.25, background_segment_s=2.5, background_generated_s=10
    )
    aug = build_augmenter(cfg, cache_dir=tmp_path, seed=0, extra_clips=[windows[0].numpy()])
    assert aug.rir_bank.shape == (2, 4000) and aug.background_bank.shape == (4, 40000)
    out = aug(windows)
    assert out.shape == windows.shape and float(out.abs().max()) <= 1.0
    silent = build_augmenter(dataclasses.replace(cfg, p_rir=0.0), cache_dir=tmp_path, seed=0)
    assert silent.rir_bank.shape[0] == 0  # no RIRs loaded or simulated when unused
