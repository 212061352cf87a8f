"""Scoring with heads on a shared feature stream: :class:`StreamingScorer`, :class:`FileScores`,
and the several-heads functions :func:`score_many`, :func:`score_file_many`,
:func:`score_stream_many`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ
from wakeforge.core.errors import AssetError, WakeforgeError
from wakeforge.evaluation.streaming.features import StreamingFeatures
from wakeforge.evaluation.streaming.frames import (DEFAULT_PAD_DBFS, DEFAULT_PAD_S, WARMUP_FRAMES,
                                                   frame_end_times, lead_in_chunks)
from wakeforge.evaluation.streaming.heads import load_head
from wakeforge.evaluation.streaming.mixing import file_rng, prepare_audio, to_int16


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
