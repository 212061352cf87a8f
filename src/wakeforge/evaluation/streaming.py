"""Score audio every 80 ms exactly as openWakeWord's streaming detector does.

``openwakeword.Model.predict`` fed 1280-sample int16 chunks does, per chunk:

1. append the chunk to a raw-audio buffer and run ``melspectrogram.onnx`` on the buffer's last
   ``1280 + 480 = 1760`` samples (only 1280 on the very first chunk), on that chunk alone, so
   the model's ``max - 80 dB`` floor is per chunk; rescale ``x / 10 + 2`` and append the mel
   frames (5 on the first chunk, 8 afterwards) to a mel buffer that starts as ``ones(76, 32)``;
2. run ``embedding_model.onnx`` on the mel buffer's last 76 frames and append the 96-value
   embedding to a feature buffer that starts with the embeddings of 4 s of uniform int16 noise
   in ``[-1000, 1000)``;
3. run the head on the feature buffer's last ``n_in`` (16 for most heads) embeddings;
4. report 0 for the first 5 chunks after a reset (the detector's warm-up).

This module reproduces those steps with onnxruntime instead of calling ``Model.predict`` chunk
by chunk: the same per-chunk mel calls and embedding windows, without copying openWakeWord's
10 s raw-audio deque into a Python list on every chunk (about 20 % faster on long recordings;
the embedding model dominates either way, ~1.2 ms per 80 ms frame on one core), and one
feature pass can feed several heads. ``tests/unit/eval/test_streaming.py`` checks the scores against
``openwakeword.Model.predict`` on the same audio. The one deliberate difference: the initial
noise is drawn from a seeded generator, so scores are reproducible.

Heads may be ``.onnx`` (onnxruntime) or ``.tflite`` (``ai_edge_litert``); both run on the same
ONNX features, so the two files of one model can be compared head to head.

Short clips need context, and a freshly started detector is not in its steady state: for
its first ``n_in + 8`` chunks (2 s for a 16-frame head) the head's window still holds the
start-up noise embeddings or embeddings of the initial ``ones`` mel buffer, which can score a
few percent on their own. :meth:`StreamingScorer.score_audio` therefore prepends that many
chunks of low white noise (never digital silence: the per-chunk floor turns zeros into loud
artefacts, DESIGN.md "Streaming vs batch features") and drops their scores, and appends
``pad_s`` (default 1 s) of the same noise so the window sees a phrase that ends the file.
Frame ``i`` of the returned scores covers the file up to ``(i + 1) * 0.08`` s
(:func:`frame_end_times`); frames after the file's end look at the tail padding.

Example:
    >>> scorer = StreamingScorer("alexa_v0.1.onnx")                       # doctest: +SKIP
    >>> scores = scorer.score_audio(load_audio("alexa_test.wav"))        # doctest: +SKIP
    >>> float(scores.max()) > 0.5                                        # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, EMBEDDING_DIM, SAMPLE_RATE_HZ
from wakeforge.core.errors import AssetError, AudioError, WakeforgeError

log = logging.getLogger(__name__)

#: Seconds per score frame (one 1280-sample chunk).
FRAME_S = CHUNK_SAMPLES / SAMPLE_RATE_HZ
#: Extra samples of context the detector gives the mel model on each chunk (3 hops of 160).
MEL_CONTEXT_SAMPLES = 480
#: Mel frames per embedding window.
MEL_WINDOW = 76
N_MELS = 32
#: openWakeWord reports 0 until this many predictions are in its buffer.
WARMUP_FRAMES = 5
#: Seconds of uniform int16 noise openWakeWord embeds to fill its initial feature buffer.
INITIAL_NOISE_S = 4.0
INITIAL_NOISE_AMPLITUDE = 1000
#: Default padding after each file and the padding level (white noise RMS, dB full scale).
DEFAULT_PAD_S = 1.0
DEFAULT_PAD_DBFS = -60.0
#: Chunks until the mel buffer holds only real audio (5 + 8 * 9 >= 76 mel frames).
MEL_WARMUP_CHUNKS = 9
#: Windows per embedding-model call when scoring a whole file.
EMBED_BATCH = 16


def frame_end_times(n_frames: int, offset_s: float = 0.0) -> np.ndarray:
    """Time (s) of the end of the audio each score frame has seen.

    Args:
        n_frames: Number of score frames.
        offset_s: Seconds of audio before the file that the frames include (0 for
            :meth:`StreamingScorer.score_audio`, which drops its lead-in frames).

    Returns:
        ``[n_frames]`` float64: ``(i + 1) * 0.08 - offset_s``.

    Example:
        >>> frame_end_times(3).round(2).tolist()
        [0.08, 0.16, 0.24]
    """
    return (np.arange(n_frames, dtype=np.float64) + 1.0) * FRAME_S - float(offset_s)


def lead_in_chunks(n_inputs: int) -> int:
    """Chunks after a reset until a head's window holds only embeddings of real audio.

    Example:
        >>> lead_in_chunks(16), lead_in_chunks(34)
        (25, 43)
    """
    return MEL_WARMUP_CHUNKS + int(n_inputs)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (or int16) to int16, as a sound card would deliver it.

    Scales by 32768, the inverse of soundfile's int16 -> float, so a 16-bit WAV read with
    ``load_audio`` gives back exactly the samples the detector would read from the file.

    Example:
        >>> to_int16(np.array([-1.0, -0.5, 0.0, 1.0], np.float32)).tolist()
        [-32768, -16384, 0, 32767]
    """
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio
    scaled = np.round(audio.astype(np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def pad_with_noise(
    audio: np.ndarray,
    before_samples: int,
    after_samples: int,
    rng: np.random.Generator,
    level_dbfs: float = DEFAULT_PAD_DBFS,
) -> np.ndarray:
    """Surround float audio with low white noise.

    Args:
        audio: ``[T]`` float32 in [-1, 1], 16 kHz.
        before_samples: Samples of noise before the audio.
        after_samples: Samples of noise after it.
        rng: Source of the noise.
        level_dbfs: Noise RMS in dB full scale (-60 dBFS is about int16 std 33).

    Returns:
        ``[before + T + after]`` float32.

    Example:
        >>> out = pad_with_noise(np.zeros(100, np.float32), 160, 40, np.random.default_rng(0))
        >>> out.shape, bool(np.all(out[:160] != 0))
        ((300,), True)
    """
    audio = np.asarray(audio, dtype=np.float32)
    std = 10.0 ** (level_dbfs / 20.0)
    pre = rng.normal(0.0, std, max(int(before_samples), 0)).astype(np.float32)
    post = rng.normal(0.0, std, max(int(after_samples), 0)).astype(np.float32)
    return np.concatenate([pre, audio, post])


def active_rms(audio: np.ndarray, frame: int = 320, floor_db: float = 30.0) -> float:
    """RMS of the frames within ``floor_db`` of the loudest 20 ms frame (speech level).

    Leading/trailing silence in a clip does not dilute the level an SNR refers to.

    Example:
        >>> a = np.concatenate([np.zeros(16000), 0.5 * np.ones(3200)]).astype(np.float32)
        >>> round(active_rms(a), 3)
        0.5
    """
    audio = np.asarray(audio, dtype=np.float64)
    n = len(audio) // frame
    if n == 0:
        return float(np.sqrt(np.mean(audio**2))) if len(audio) else 0.0
    power = np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1)
    peak = float(power.max())
    if peak <= 0.0:
        return 0.0
    keep = power >= peak * 10.0 ** (-floor_db / 10.0)
    return float(np.sqrt(power[keep].mean()))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS pink (1/f power) noise, float32.

    Example:
        >>> x = pink_noise(16000, np.random.default_rng(0))
        >>> round(float(np.sqrt(np.mean(x ** 2))), 3)
        1.0
    """
    n = int(n)
    spec = np.fft.rfft(rng.normal(size=max(n, 2)))
    f = np.arange(spec.shape[0], dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n=max(n, 2))[:n]
    x -= x.mean()
    rms = float(np.sqrt(np.mean(x**2))) or 1.0
    return (x / rms).astype(np.float32)


def mix_at_snr(
    audio: np.ndarray,
    noise: np.ndarray | None,
    snr_db: float,
    rng: np.random.Generator,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Add noise to ``audio`` so that speech-to-noise ratio is ``snr_db``.

    Args:
        audio: ``[T]`` float32 audio to mix into (e.g. a padded clip).
        noise: Background audio (tiled from a random offset to length ``T``); ``None`` uses
            pink noise.
        snr_db: Target ratio of the speech level (:func:`active_rms` of ``reference``) to the
            noise RMS, in dB.
        rng: Source of the offset / pink noise.
        reference: Audio whose level defines "speech" (default ``audio``); pass the unpadded
            clip when ``audio`` is padded.

    Returns:
        ``[T]`` float32, clipped to [-1, 1].
    """
    audio = np.asarray(audio, dtype=np.float32)
    t = len(audio)
    if noise is None or len(noise) == 0:
        bg = pink_noise(t, rng)
    else:
        noise = np.asarray(noise, dtype=np.float32)
        start = int(rng.integers(0, len(noise)))
        reps = int(np.ceil((start + t) / len(noise)))
        bg = np.tile(noise, reps)[start : start + t]
    bg_rms = float(np.sqrt(np.mean(bg.astype(np.float64) ** 2)))
    level = active_rms(audio if reference is None else reference)
    if bg_rms <= 0.0 or level <= 0.0:
        return audio
    gain = level / bg_rms * 10.0 ** (-float(snr_db) / 20.0)
    return np.clip(audio + gain * bg, -1.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------
# heads


class _Head(Protocol):
    n_inputs: int
    n_outputs: int

    def __call__(self, windows: np.ndarray) -> np.ndarray: ...


def _single_score(out: np.ndarray) -> np.ndarray:
    """``[N, K]`` head output -> ``[N]`` score (K=1: the value; K>1: max over classes 1..K-1)."""
    out = np.asarray(out, dtype=np.float32).reshape(out.shape[0], -1)
    if out.shape[1] == 1:
        return out[:, 0]
    return out[:, 1:].max(axis=1)


class _OnnxHead:
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.sess = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            reason = " ".join(str(exc).split())[:200]
            raise AssetError(f"{path}: cannot load ONNX model ({reason}); re-export it") from None
        inp = self.sess.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        if len(shape) != 3 or shape[2] != EMBEDDING_DIM or not isinstance(shape[1], int):
            raise AssetError(
                f"{path}: input shape {shape} is not an openWakeWord head's [1, frames, 96]; "
                "pass a wake word model, not a feature model"
            )
        self.n_inputs = int(shape[1])
        self.dynamic_batch = not isinstance(shape[0], int)
        out_shape = self.sess.get_outputs()[0].shape
        self.n_outputs = int(out_shape[-1]) if isinstance(out_shape[-1], int) else 1

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        if self.dynamic_batch:
            outs = [self.sess.run(None, {self.input_name: windows[s : s + 1024]})[0]
                    for s in range(0, len(windows), 1024)]
        else:
            outs = [self.sess.run(None, {self.input_name: windows[i : i + 1]})[0]
                    for i in range(len(windows))]
        if not outs:
            return np.zeros(0, np.float32)
        return _single_score(np.concatenate([o.reshape(o.shape[0], -1) for o in outs]))


class _TfliteHead:
    def __init__(self, path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # pragma: no cover - depends on the environment
            try:
                from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]
            except ImportError:
                raise WakeforgeError(
                    f"{path}: no TFLite runtime; `pip install ai-edge-litert` or use the .onnx file"
                ) from None
        from wakeforge.utils.console import native_stderr_filtered

        try:
            with native_stderr_filtered():
                self.interp = Interpreter(model_path=str(path), num_threads=1)
                self.interp.allocate_tensors()
        except Exception as exc:
            reason = " ".join(str(exc).split())[:200]
            raise AssetError(f"{path}: cannot load TFLite model ({reason}); re-export it") from None
        inp = self.interp.get_input_details()[0]
        out = self.interp.get_output_details()[0]
        shape = [int(s) for s in inp["shape"]]
        if len(shape) != 3 or shape[2] != EMBEDDING_DIM:
            raise AssetError(
                f"{path}: input shape {shape} is not an openWakeWord head's [1, frames, 96]"
            )
        if inp["dtype"] != np.float32:
            raise AssetError(
                f"{path}: input dtype {np.dtype(inp['dtype']).name}; openWakeWord feeds float32 "
                "(full-integer-input models cannot be used)"
            )
        self.n_inputs = shape[1]
        self.n_outputs = int(out["shape"][-1])
        self._in = inp["index"]
        self._out = out["index"]

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        res = np.empty((len(windows), self.n_outputs), np.float32)
        for i in range(len(windows)):
            self.interp.set_tensor(self._in, windows[i : i + 1])
            self.interp.invoke()
            res[i] = self.interp.get_tensor(self._out).reshape(-1)
        return _single_score(res)


def load_head(path: str | os.PathLike[str]) -> _Head:
    """Load a wake word head (``.onnx`` or ``.tflite``) as ``windows [N, n_in, 96] -> [N]``.

    Raises:
        AssetError: Missing, unknown-format or unloadable file.
    """
    p = Path(path)
    if not p.is_file():
        raise AssetError(f"{p}: model file not found; check the path or run `python -m "
                         "wakeforge.detect --list` to see the models wakeforge finds")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return _OnnxHead(p)
    if suffix == ".tflite":
        return _TfliteHead(p)
    raise AssetError(f"{p}: unknown model format {suffix!r}; pass a .onnx or .tflite file")


# ------------------------------------------------------------------------------------------
# features


class StreamingFeatures:
    """openWakeWord's streaming feature path (melspectrogram + embedding), with onnxruntime.

    Args:
        feature_paths: Object with ``melspec_onnx`` and ``embedding_onnx`` attributes
            (:class:`wakeforge.features.assets.FeatureModelPaths`); ``None`` fetches/verifies
            the pinned files.
        seed: Seed of the noise that fills the initial feature buffer.
    """

    def __init__(self, feature_paths: Any = None, seed: int = 0) -> None:
        import onnxruntime as ort

        if feature_paths is None:
            from wakeforge.features.assets import feature_model_paths

            feature_paths = feature_model_paths()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        prov = ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(str(feature_paths.melspec_onnx), opts, providers=prov)
        self._emb = ort.InferenceSession(str(feature_paths.embedding_onnx), opts, providers=prov)
        self._mel_in = self._mel.get_inputs()[0].name
        self._emb_in = self._emb.get_inputs()[0].name
        self.feature_paths = feature_paths
        noise = np.random.default_rng(seed).integers(
            -INITIAL_NOISE_AMPLITUDE, INITIAL_NOISE_AMPLITUDE,
            int(INITIAL_NOISE_S * SAMPLE_RATE_HZ),
        ).astype(np.int16)
        mel = self.melspec(noise)
        starts = range(0, mel.shape[0] - MEL_WINDOW + 1, 8)
        #: Embeddings of the start-up noise: what the feature buffer holds after a reset.
        self.initial_embeddings = self.embed(np.stack([mel[s : s + MEL_WINDOW] for s in starts]))
        self.reset()

    def melspec(self, audio_int16: np.ndarray) -> np.ndarray:
        """Rescaled mel frames of one int16 chunk as openWakeWord computes them: ``[F, 32]``."""
        x = np.asarray(audio_int16, dtype=np.int16).astype(np.float32)[None, :]
        (out,) = self._mel.run(None, {self._mel_in: x})
        return np.squeeze(out).reshape(-1, N_MELS) / 10 + 2

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embeddings of mel windows ``[N, 76, 32]`` -> ``[N, 96]`` float32."""
        windows = np.asarray(windows, dtype=np.float32)
        out = np.empty((len(windows), EMBEDDING_DIM), np.float32)
        for s in range(0, len(windows), EMBED_BATCH):
            batch = np.ascontiguousarray(windows[s : s + EMBED_BATCH])[..., None]
            (emb,) = self._emb.run(None, {self._emb_in: batch})
            out[s : s + EMBED_BATCH] = emb.reshape(-1, EMBEDDING_DIM)
        return out

    # -- incremental (live) use -----------------------------------------------------------

    def reset(self) -> None:
        """Forget all audio: the state of a freshly started detector."""
        self._raw_tail = np.zeros(0, np.int16)
        self._mel_buf = np.ones((MEL_WINDOW, N_MELS), np.float32)
        self.embeddings = self.initial_embeddings.copy()
        self.n_chunks = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Feed one 1280-sample int16 chunk; returns its new embedding ``[96]``."""
        chunk = np.asarray(chunk, dtype=np.int16)
        if chunk.shape != (CHUNK_SAMPLES,):
            raise WakeforgeError(f"push() takes {CHUNK_SAMPLES} samples; got {chunk.shape}")
        raw = np.concatenate([self._raw_tail, chunk])
        self._raw_tail = raw[-MEL_CONTEXT_SAMPLES:]
        self._mel_buf = np.vstack([self._mel_buf, self.melspec(raw)])[-MEL_WINDOW:]
        emb = self.embed(self._mel_buf[None])[0]
        self.embeddings = np.vstack([self.embeddings, emb[None]])[-128:]
        self.n_chunks += 1
        return emb

    # -- whole files ----------------------------------------------------------------------

    def stream(self, audio_int16: np.ndarray) -> np.ndarray:
        """Embeddings the detector computes for a whole recording, from a fresh reset.

        Args:
            audio_int16: ``[T]`` int16 at 16 kHz; a trailing partial chunk is ignored (the
                detector waits for a full one).

        Returns:
            ``[n_initial + T // 1280, 96]``: the start-up noise embeddings, then one per chunk.
        """
        audio = np.asarray(audio_int16, dtype=np.int16)
        n = len(audio) // CHUNK_SAMPLES
        out = [self.initial_embeddings]
        mel_buf = np.ones((MEL_WINDOW, N_MELS), np.float32)
        pending: list[np.ndarray] = []  # mel windows waiting for one batched embedding call
        for i in range(n):
            end = (i + 1) * CHUNK_SAMPLES
            m = self.melspec(audio[max(0, end - CHUNK_SAMPLES - MEL_CONTEXT_SAMPLES) : end])
            mel_buf = np.vstack([mel_buf, m])[-MEL_WINDOW:]
            pending.append(mel_buf)
            if len(pending) == EMBED_BATCH:
                out.append(self.embed(np.stack(pending)))
                pending = []
        if pending:
            out.append(self.embed(np.stack(pending)))
        return np.concatenate(out)

    def stream_blocks(self, blocks: Iterable[np.ndarray], mel_batch: int = 256) -> Iterator[np.ndarray]:
        """:meth:`stream` for audio that arrives in blocks, in bounded memory.

        Yields the embeddings of the chunks each block completes (``[n, 96]``, maybe ``n = 0``);
        concatenated after :attr:`initial_embeddings` they equal ``stream(whole audio)``. The
        mel model runs on many chunks per call (each row is exactly one chunk's input).

        Args:
            blocks: int16 audio at 16 kHz, in blocks of any length.
            mel_batch: chunks per mel-model call.
        """
        carry = np.zeros(0, np.int16)  # samples of an incomplete chunk
        ctx: np.ndarray | None = None  # the MEL_CONTEXT_SAMPLES before the next chunk
        mel_buf = np.ones((MEL_WINDOW, N_MELS), np.float32)
        span = CHUNK_SAMPLES + MEL_CONTEXT_SAMPLES
        for block in blocks:
            a = np.concatenate([carry, np.asarray(block, dtype=np.int16)])
            n = len(a) // CHUNK_SAMPLES
            carry = a[n * CHUNK_SAMPLES :]
            if n == 0:
                yield np.zeros((0, EMBEDDING_DIM), np.float32)
                continue
            a = a[: n * CHUNK_SAMPLES]
            mels: list[np.ndarray] = []
            i0 = 0
            if ctx is None:  # the very first chunk has no context (as in stream())
                mels.append(self.melspec(a[:CHUNK_SAMPLES]))
                i0 = 1
                ctx = np.zeros(0, np.int16)
            ext = np.concatenate([ctx, a])
            off = len(ctx)
            if n > i0:
                view = np.lib.stride_tricks.sliding_window_view(ext, span)
                first = off + i0 * CHUNK_SAMPLES - MEL_CONTEXT_SAMPLES
                rows = view[first :: CHUNK_SAMPLES][: n - i0]
                for b in range(0, len(rows), mel_batch):
                    x = np.ascontiguousarray(rows[b : b + mel_batch], dtype=np.float32)
                    (out,) = self._mel.run(None, {self._mel_in: x})
                    out = out.reshape(len(x), -1, N_MELS) / 10 + 2
                    mels.extend(out)
            ctx = ext[-MEL_CONTEXT_SAMPLES:]
            ends = np.cumsum([MEL_WINDOW] + [len(m) for m in mels])[1:]
            frames = np.concatenate([mel_buf, *mels])
            windows = np.stack([frames[e - MEL_WINDOW : e] for e in ends])
            mel_buf = frames[-MEL_WINDOW:].copy()
            yield self.embed(windows)


# ------------------------------------------------------------------------------------------
# scorer


@dataclass
class FileScores:
    """Streaming scores of one file.

    Attributes:
        path: The file (or a label).
        scores: ``[n_frames]`` one score per 80 ms, from the file's start through the tail
            padding.
        times_s: ``[n_frames]`` end time of each frame in the file (``> duration_s`` in the
            tail padding).
        duration_s: Length of the file.
    """

    path: str
    scores: np.ndarray
    times_s: np.ndarray
    duration_s: float

    @property
    def max_score(self) -> float:
        return float(self.scores.max()) if len(self.scores) else 0.0

    @property
    def argmax_time_s(self) -> float:
        return float(self.times_s[int(np.argmax(self.scores))]) if len(self.scores) else 0.0


def file_rng(seed: int, label: str) -> np.random.Generator:
    """Generator for one file's padding/mixing noise: same file, same noise, any order."""
    return np.random.default_rng([int(seed), zlib.crc32(label.encode("utf-8"))])


def prepare_audio(
    audio: np.ndarray,
    *,
    lead_chunks: int,
    pad_s: float = DEFAULT_PAD_S,
    pad_dbfs: float = DEFAULT_PAD_DBFS,
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    snr_db: float | None = None,
) -> np.ndarray:
    """Lead-in noise + audio + tail noise (+ optional background at an SNR), as int16.

    Args:
        audio: ``[T]`` float32 in [-1, 1] (int16 is accepted too).
        lead_chunks: Whole 1280-sample chunks of noise before the audio.
        pad_s: Seconds of noise after the audio.
        pad_dbfs: Level of the padding noise.
        rng: Noise source.
        background: Noise to mix in (``None``: pink noise) when ``snr_db`` is given.
        snr_db: Speech-to-noise ratio of the mix; ``None`` mixes nothing.

    Returns:
        ``[lead_chunks * 1280 + T + pad]`` int16.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise AudioError(f"expected mono audio [T]; got shape {audio.shape}")
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    audio = audio.astype(np.float32, copy=False)
    padded = pad_with_noise(audio, int(lead_chunks) * CHUNK_SAMPLES,
                            int(round(float(pad_s) * SAMPLE_RATE_HZ)), rng, pad_dbfs)
    if snr_db is not None:
        padded = mix_at_snr(padded, background, snr_db, rng, reference=audio)
    return to_int16(padded)


class StreamingScorer:
    """Scores audio with one wake word head every 80 ms, as openWakeWord's detector does.

    Args:
        model_path: Head file, ``.onnx`` (onnxruntime) or ``.tflite`` (ai_edge_litert); both
            run on ONNX features.
        feature_paths: :class:`~wakeforge.features.assets.FeatureModelPaths` (or anything with
            ``melspec_onnx`` / ``embedding_onnx``); ``None`` uses the verified cache.
        pad_s: Seconds of low noise appended after each file by :meth:`score_audio`.
        pad_dbfs: RMS level of the padding noise.
        seed: Seed for the start-up noise, padding and background mixing.
        features: A :class:`StreamingFeatures` shared between scorers (see :func:`score_many`).

    Example:
        >>> s = StreamingScorer("alexa_v0.1.onnx")                       # doctest: +SKIP
        >>> s.score_audio(np.zeros(16000, np.float32)).shape              # doctest: +SKIP
        (25,)
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        feature_paths: Any = None,
        *,
        pad_s: float = DEFAULT_PAD_S,
        pad_dbfs: float = DEFAULT_PAD_DBFS,
        seed: int = 0,
        features: StreamingFeatures | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.name = self.model_path.stem
        self.framework = self.model_path.suffix.lower().lstrip(".")
        self.head = load_head(self.model_path)
        self.features = features if features is not None else StreamingFeatures(feature_paths, seed)
        if len(self.features.initial_embeddings) < self.head.n_inputs - 1:
            raise AssetError(f"{self.model_path}: head needs {self.head.n_inputs} frames, more "
                             "than the detector's start-up buffer holds")
        self.pad_s = float(pad_s)
        self.pad_dbfs = float(pad_dbfs)
        self.seed = int(seed)

    @property
    def n_inputs(self) -> int:
        """Embedding frames the head looks at (16 for most heads)."""
        return self.head.n_inputs

    @property
    def lead_chunks(self) -> int:
        """Noise chunks :meth:`score_audio` feeds before a file (and drops the scores of)."""
        return lead_in_chunks(self.n_inputs)

    def score_windows(self, embeddings: np.ndarray) -> np.ndarray:
        """Detector scores for every chunk, given the feature history since a reset.

        Args:
            embeddings: ``[n_initial + n_chunks, 96]`` from :meth:`StreamingFeatures.stream`.

        Returns:
            ``[n_chunks]`` float32, the first 5 set to 0 (detector warm-up), exactly what
            ``openwakeword.Model.predict`` returns chunk by chunk.
        """
        n_init = len(self.features.initial_embeddings)
        n_chunks = len(embeddings) - n_init
        if n_chunks <= 0:
            return np.zeros(0, np.float32)
        k = self.n_inputs
        view = np.lib.stride_tricks.sliding_window_view(embeddings, k, axis=0)  # [M, 96, k]
        # the window of chunk i ends at row n_init + i (inclusive)
        windows = view[n_init + 1 - k : n_init + 1 - k + n_chunks].transpose(0, 2, 1)
        scores = self.head(windows).astype(np.float32)
        scores[:WARMUP_FRAMES] = 0.0
        return scores

    def score_audio(
        self,
        audio_16k_float: np.ndarray,
        *,
        background: np.ndarray | None = None,
        snr_db: float | None = None,
        label: str = "",
    ) -> np.ndarray:
        """Score a recording as a detector in its steady state hears it.

        Feeds :attr:`lead_chunks` chunks of low noise, the audio, then ``pad_s`` of noise
        through a freshly reset detector, and returns the scores from the file's first chunk
        on.

        Args:
            audio_16k_float: ``[T]`` float32 in [-1, 1] at 16 kHz (``load_audio`` output).
            background: Noise to mix in when ``snr_db`` is given (``None``: pink noise).
            snr_db: Mix background at this speech-to-noise ratio (dB); ``None``: no mixing.
            label: Seeds the padding/mixing noise (e.g. the file name), for reproducibility.

        Returns:
            ``[ceil-ish((T + pad) / 1280)]`` float32 scores; frame ``i`` has heard the file up
            to ``(i + 1) * 0.08`` s (:func:`frame_end_times`).
        """
        return score_many([self], audio_16k_float, background=background, snr_db=snr_db,
                          label=label)[0]

    def score_file(
        self,
        path: str | os.PathLike[str],
        *,
        background: np.ndarray | None = None,
        snr_db: float | None = None,
    ) -> FileScores:
        """Load any audio file (any rate/format soundfile reads) and score it.

        Raises:
            AudioError: Unreadable, empty or silent file.
        """
        return score_file_many([self], path, background=background, snr_db=snr_db)[0]

    # -- live -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Reset the live (chunk by chunk) state: a freshly started detector."""
        self.features.reset()

    def process(self, chunk: np.ndarray) -> float:
        """Feed one 80 ms chunk (1280 int16 or float samples); return its score.

        Exactly ``openwakeword.Model.predict`` on that chunk (0 for the first 5 chunks).
        With several scorers on one :class:`StreamingFeatures`, call
        :meth:`StreamingFeatures.push` once per chunk and :meth:`score_latest` per scorer.
        """
        self.features.push(to_int16(chunk))
        return self.score_latest()

    def score_latest(self) -> float:
        """Score of the newest chunk already pushed into :attr:`features`."""
        feats = self.features
        window = feats.embeddings[-self.n_inputs :][None]
        score = float(self.head(window)[0])
        return 0.0 if feats.n_chunks <= WARMUP_FRAMES else score


def _check_shared(scorers: list[StreamingScorer]) -> StreamingFeatures:
    if not scorers:
        raise WakeforgeError("no models to score with")
    feats = scorers[0].features
    if any(s.features is not feats for s in scorers):
        raise WakeforgeError("scorers scored together must share one StreamingFeatures")
    return feats


def score_many(
    scorers: list[StreamingScorer],
    audio_16k_float: np.ndarray,
    *,
    background: np.ndarray | None = None,
    snr_db: float | None = None,
    label: str = "",
) -> list[np.ndarray]:
    """Score one recording with several heads that share one feature stream.

    The features are computed once; every head gets the same lead-in (the longest any of
    them needs) and the same padding. See :meth:`StreamingScorer.score_audio`.

    Returns:
        One ``[n_frames]`` float32 array per scorer, all the same length.
    """
    feats = _check_shared(scorers)
    first = scorers[0]
    lead = max(s.lead_chunks for s in scorers)
    rng = file_rng(first.seed, label or str(len(audio_16k_float)))
    audio = prepare_audio(audio_16k_float, lead_chunks=lead, pad_s=first.pad_s,
                          pad_dbfs=first.pad_dbfs, rng=rng, background=background,
                          snr_db=snr_db)
    emb = feats.stream(audio)
    return [s.score_windows(emb)[lead:] for s in scorers]


def score_file_many(
    scorers: list[StreamingScorer],
    path: str | os.PathLike[str],
    *,
    background: np.ndarray | None = None,
    snr_db: float | None = None,
) -> list[FileScores]:
    """Load an audio file and score it with several heads sharing one feature stream.

    Raises:
        AudioError: Unreadable, empty or silent file.
    """
    from wakeforge.audio.io import load_audio

    audio = load_audio(path)
    all_scores = score_many(scorers, audio, background=background, snr_db=snr_db,
                            label=Path(path).name)
    dur = len(audio) / SAMPLE_RATE_HZ
    return [FileScores(path=str(path), scores=sc, times_s=frame_end_times(len(sc)),
                       duration_s=dur) for sc in all_scores]


def score_stream_many(
    scorers: list[StreamingScorer],
    audio_blocks: Iterable[np.ndarray],
    *,
    label: str,
) -> list[np.ndarray]:
    """:func:`score_many` for a recording read in blocks: same scores, bounded memory.

    Args:
        scorers: Heads sharing one :class:`StreamingFeatures`.
        audio_blocks: The recording as float32 16 kHz mono blocks in [-1, 1].
        label: The file's label (seeds the padding noise exactly as :func:`score_file_many`).

    Returns:
        One ``[n_frames]`` float32 array per scorer (the lead-in dropped, the tail padding kept).
    """
    feats = _check_shared(scorers)
    first = scorers[0]
    lead = max(s.lead_chunks for s in scorers)
    rng = file_rng(first.seed, label)
    std = 10.0 ** (first.pad_dbfs / 20.0)
    # the same draws, in the same order, as pad_with_noise(): the lead-in, then the tail
    pre = rng.normal(0.0, std, lead * CHUNK_SAMPLES).astype(np.float32)
    post = rng.normal(0.0, std, int(round(first.pad_s * SAMPLE_RATE_HZ))).astype(np.float32)

    def int16_blocks() -> Iterator[np.ndarray]:
        yield to_int16(pre)
        for block in audio_blocks:
            yield to_int16(np.asarray(block, dtype=np.float32))
        yield to_int16(post)

    k_max = max(s.n_inputs for s in scorers)
    hist = feats.initial_embeddings[len(feats.initial_embeddings) - (k_max - 1) :]
    parts: list[list[np.ndarray]] = [[] for _ in scorers]
    for emb in feats.stream_blocks(int16_blocks()):
        if not len(emb):
            continue
        full = np.concatenate([hist, emb])
        for s, out in zip(scorers, parts, strict=True):
            k = s.n_inputs
            view = np.lib.stride_tricks.sliding_window_view(full, k, axis=0)  # [M, 96, k]
            start = (k_max - 1) - (k - 1)  # the window that ends at the block's first row
            out.append(s.head(view[start : start + len(emb)].transpose(0, 2, 1)).astype(np.float32))
        hist = full[len(full) - (k_max - 1) :]
    result = []
    for out in parts:
        sc = np.concatenate(out) if out else np.zeros(0, np.float32)
        sc[:WARMUP_FRAMES] = 0.0
        result.append(sc[lead:])
    return result
