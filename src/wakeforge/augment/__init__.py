"""Stage 2 augmentation library: RIR and background banks, clip placement, the augmenter.

Imports are lazy so ``import wakeforge.augment`` stays cheap (torch loads on first use).

Public API:
    - :class:`AugmentationConfig` (``config``), :class:`Augmenter`, :func:`build_augmenter` (``pipeline``)
    - :func:`place_clips`, :func:`window_samples`, :func:`padding_noise` (``placement``)
    - :func:`load_rir_bank`, :func:`simulate_rirs`, :data:`RIR_ONSET_SAMPLES` (``rir``)
    - :func:`load_background_bank` (``background``)
"""

from __future__ import annotations


from wakeforge.utils.lazy import lazy_exports

_EXPORTS = {
    "AugmentationConfig": "config",
    "Augmenter": "pipeline",
    "build_augmenter": "pipeline",
    "place_clips": "placement",
    "padding_noise": "placement",
    "window_samples": "placement",
    "load_rir_bank": "rir",
    "simulate_rirs": "rir",
    "RIR_ONSET_SAMPLES": "rir",
    "load_background_bank": "background",
}

__all__ = [
    "RIR_ONSET_SAMPLES",
    "AugmentationConfig",
    "Augmenter",
    "build_augmenter",
    "load_background_bank",
    "load_rir_bank",
    "padding_noise",
    "place_clips",
    "simulate_rirs",
    "window_samples",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
