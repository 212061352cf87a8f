"""openWakeWord's streaming feature path (melspectrogram + embedding) with onnxruntime."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, EMBEDDING_DIM, SAMPLE_RATE_HZ
from wakeforge.core.errors import WakeforgeError
from wakeforge.evaluation.streaming.frames import (EMBED_BATCH, FC_BLOCK, INITIAL_NOISE_AMPLITUDE, INITIAL_NOISE_S,
                                                   MEL_CONTEXT_SAMPLES, MEL_WINDOW, N_MELS)


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
        # The same embedding graph over a whole run of mel frames (identical numbers, ~5x faster
        # than re-embedding each 76-frame window, which overlaps the next by 68 frames).
        from wakeforge.features.onnx_extractor import fully_convolutional_embedding

        self._emb_fc = ort.InferenceSession(
            fully_convolutional_embedding(str(feature_paths.embedding_onnx)), opts, providers=prov
        )
        self._emb_fc_in = self._emb_fc.get_inputs()[0].name
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

    def embed_ends(self, frames: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Embeddings of the windows ``frames[e - 76 : e]`` for each ``e`` in ``ends`` -> ``[n, 96]``.

        Where the ends step by 8 frames (every chunk after the first gives 8 mel frames), the
        windows are computed in one pass of the fully convolutional graph per block of
        :data:`FC_BLOCK` windows; other ends fall back to :meth:`embed`.
        """
        ends = np.asarray(ends, dtype=np.int64)
        if len(ends) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        if len(ends) < 2 or np.any(np.diff(ends) != 8) or ends[0] < MEL_WINDOW:
            return self.embed(np.stack([frames[e - MEL_WINDOW : e] for e in ends]))
        out = np.empty((len(ends), EMBEDDING_DIM), np.float32)
        first = int(ends[0]) - MEL_WINDOW
        for b in range(0, len(ends), FC_BLOCK):
            n = min(FC_BLOCK, len(ends) - b)
            s0 = first + 8 * b
            x = np.ascontiguousarray(frames[s0 : s0 + 8 * (n - 1) + MEL_WINDOW], dtype=np.float32)
            (emb,) = self._emb_fc.run(None, {self._emb_fc_in: x[None, :, :, None]})
            out[b : b + n] = emb.reshape(EMBEDDING_DIM, -1)[:, :n].T
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
        mels = [np.ones((MEL_WINDOW, N_MELS), np.float32)]
        for i in range(n):
            end = (i + 1) * CHUNK_SAMPLES
            mels.append(self.melspec(audio[max(0, end - CHUNK_SAMPLES - MEL_CONTEXT_SAMPLES) : end]))
        frames = np.concatenate(mels)
        # The detector's mel buffer after chunk i ends at frame ends[i]; its embedding input is
        # the 76 frames before that.
        ends = np.cumsum([len(m) for m in mels])[1:]
        return np.concatenate([self.initial_embeddings, self.embed_ends(frames, ends)])

    def stream_blocks(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """:meth:`stream` for audio that arrives in blocks, in bounded memory.

        Yields the embeddings of the chunks each block completes (``[n, 96]``, maybe ``n = 0``);
        concatenated after :attr:`initial_embeddings` they equal ``stream(whole audio)``. The
        mel model runs once per chunk, as in the detector: its -80 dB floor is a maximum over
        the whole input batch, so chunks batched together would change each other's frames.

        Args:
            blocks: int16 audio at 16 kHz, in blocks of any length.
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
                mels.extend(self.melspec(row) for row in rows)
            ctx = ext[-MEL_CONTEXT_SAMPLES:]
            ends = np.cumsum([MEL_WINDOW] + [len(m) for m in mels])[1:]
            frames = np.concatenate([mel_buf, *mels])
            mel_buf = frames[-MEL_WINDOW:].copy()
            yield self.embed_ends(frames, ends)
