"""The discrete grid of voice settings and its train/test split.

A voice setting is ``engine x model x speaker x accent x pitch bin x formant bin``. The pitch
and formant ranges are cut into equal bins; a clip samples its exact pitch/formant values
uniformly *within* its setting's bins, so every clip of a setting sounds like one speaker with
natural variation, and different settings sound like different speakers.

``split_settings`` holds out ``test_fraction`` of each model's settings for the ``*_test``
splits, chosen by a seeded hash of the setting key: the same settings are held out by every
rerun and every shard, and test clips come only from voices never used for training. Groups
named in ``whole_speaker_models`` (e.g. Kokoro's style blends) hold out whole speakers instead:
every accent and bucket of a held-out speaker is a test setting.

Example:
    >>> from wakeforge.generation.tts.base import BaseVoice
    >>> grid = settings_grid([BaseVoice("piper", "joe", "", a) for a in ("en-us", "en-029")], 3, 3)
    >>> len(grid)
    18
    >>> train, test = split_settings(grid, 0.2, seed=1)
    >>> len(test), set(train).isdisjoint(test)
    (4, True)
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Collection, Sequence

from wakeforge.generation.tts.base import BaseVoice, VoiceSetting


def settings_grid(
    voices: Sequence[BaseVoice], pitch_bins: int, formant_bins: int
) -> list[VoiceSetting]:
    """Every (voice, pitch bin, formant bin) combination, in a fixed order."""
    return [
        VoiceSetting(v, p, f)
        for v in voices
        for p in range(max(1, int(pitch_bins)))
        for f in range(max(1, int(formant_bins)))
    ]


def bin_range(lo: float, hi: float, n_bins: int, index: int) -> tuple[float, float]:
    """Bounds of bin ``index`` when ``[lo, hi]`` is cut into ``n_bins`` equal parts.

    Example:
        >>> bin_range(-3.0, 3.0, 3, 1)
        (-1.0, 1.0)
    """
    n = max(1, int(n_bins))
    width = (float(hi) - float(lo)) / n
    return float(lo) + index * width, float(lo) + (index + 1) * width


def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}|{key}".encode()).hexdigest()


def split_settings(
    settings: Sequence[VoiceSetting],
    test_fraction: float,
    seed: int,
    whole_speaker_models: Collection[tuple[str, str]] = (),
) -> tuple[list[VoiceSetting], list[VoiceSetting]]:
    """Hold out ``test_fraction`` of each model's settings (at least one when it has two or more).

    In the ``(engine, model)`` groups of ``whole_speaker_models`` the unit held out is a speaker
    (``voice.speaker``, with all its accents and buckets) rather than one setting.
    Returns ``(train, test)``; both keep the input order.
    """
    groups: dict[tuple[str, str], list[VoiceSetting]] = defaultdict(list)
    for s in settings:
        groups[(s.voice.engine, s.voice.model)].append(s)
    test_keys: set[str] = set()
    frac = min(max(float(test_fraction), 0.0), 1.0)
    for group, members in groups.items():
        whole = group in whole_speaker_models

        def unit(s: VoiceSetting, whole: bool = whole) -> str:
            return f"{s.voice.engine}:{s.voice.model}:{s.voice.speaker}" if whole else s.key

        units = sorted({unit(s) for s in members})
        if len(units) < 2 or frac <= 0:
            continue
        n_test = min(len(units) - 1, max(1, math.ceil(frac * len(units) - 1e-9)))
        held = set(sorted(units, key=lambda u: _rank(seed, u))[:n_test])
        test_keys.update(s.key for s in members if unit(s) in held)
    train = [s for s in settings if s.key not in test_keys]
    test = [s for s in settings if s.key in test_keys]
    return train, test
