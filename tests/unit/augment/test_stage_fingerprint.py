"""Stage 2's settings fingerprint: keys added later do not invalidate earlier runs while off."""
from __future__ import annotations

from omegaconf import OmegaConf

from wakeforge.augment.stage import _fingerprint


def _cfg(**aug):
    base = {"p_background": 0.75, "snr_db": [-5.0, 15.0], **aug}
    return OmegaConf.create({"seed": 1, "augmentation": base,
                             "data": {"clip_duration_s": 2.0, "negative_end_fraction": 0.5,
                                      "negative_windows_per_clip": 8, "negative_window_hop_s": 0.16},
                             "features": {"floor": "chunk"}})


def test_hard_clipping_off_keeps_old_fingerprint_on_changes_it():
    old = _fingerprint(_cfg(), ["positive"], 1)
    assert _fingerprint(_cfg(p_clip=0.0, clip_drive_db=[3.0, 15.0]), ["positive"], 1) == old
    on = _fingerprint(_cfg(p_clip=0.25, clip_drive_db=[3.0, 15.0]), ["positive"], 1)
    assert on != old
    assert _fingerprint(_cfg(p_clip=0.25, clip_drive_db=[3.0, 9.0]), ["positive"], 1) != on


def test_household_backgrounds_off_keep_old_fingerprint_on_change_it():
    old = _fingerprint(_cfg(), ["background", "1000"], 1)
    assert _fingerprint(_cfg(background_household_share=0.0), ["background", "1000"], 1) == old
    assert _fingerprint(_cfg(background_household_share=0.3), ["background", "1000"], 1) != old
