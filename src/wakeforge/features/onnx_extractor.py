"""Reference feature extractor: openWakeWord's two ONNX models run with plain onnxruntime.

It reproduces ``openwakeword.utils.AudioFeatures(inference_framework="onnx").embed_clips``
exactly (the same float32 onnxruntime kernels; max abs difference 0.0 in the tests).

The pipeline, per clip (16 kHz, int16-range values as float32):

1. ``melspectrogram.onnx``: ``[1, T]`` -> ``[1, 1, F, 32]`` log-mel in dB, ``F = (T-512)//160+1``.
   Its floor (``max - 80 dB``) is a ReduceMax over the *whole input batch*, so clips of
   different loudness would change each other's features if batched: run it per clip, as
   openWakeWord does (batching it bought nothing anyway: ~780 clips/s either way).
2. rescale ``x / 10 + 2`` (openWakeWord's match to Google's TF-Hub front end).
3. windows of 76 mel frames, step 8 -> ``[W, 76, 32, 1]``, ``W = (F - 76)//8 + 1``.
4. ``embedding_model.onnx``: ``[W, 76, 32, 1]`` -> ``[W, 1, 1, 96]``.

Steps 3-4 have a faster equivalent, used by default: the embedding graph is "valid" along time
and its time-wise pools have a total stride of 8 (the window step), so the same graph with its
two fixed-shape Reshapes relaxed (built in memory from the pinned file) computes all windows of a
clip in one pass over ``[1, F, 32, 1]`` instead of recomputing the ~9.5x window overlap. Its
output is bit-identical to the per-window run (asserted by the tests against openWakeWord) and
~5x faster.
"""

from __future__ import annotations

import logging

import numpy as np

from wakeforge.core.errors import AssetError, WakeforgeError
from wakeforge.features.assets import FeatureModelPaths, feature_model_paths

log = logging.getLogger(__name__)

#: STFT geometry of melspectrogram.onnx (Conv1d kernel 512, stride 160).
STFT_WINDOW = 512
HOP = 160
N_MELS = 32
#: Embedding model input: 76 mel frames, a new window every 8 frames (80 ms).
WINDOW_FRAMES = 76
WINDOW_STEP = 8
EMBEDDING_DIM = 96
#: openWakeWord feeds int16-range values; float audio in [-1, 1] is scaled by this.
INT16_SCALE = 32767.0
#: Clips whose mel spectrograms are held at once in embed_clips (~25 kB each for 2 s).
CLIP_BLOCK = 256
#: Default rows per embedding-model call, measured fastest on one CPU thread:
#: clips for the fully convolutional graph, 76-frame windows for the original one.
DEFAULT_CLIPS_PER_CALL = 8
DEFAULT_WINDOWS_PER_CALL = 16


def n_mel_frames(n_samples: int) -> int:
    """Number of mel frames the melspectrogram model gives for ``n_samples`` (0 if too short)."""
    return max(0, (int(n_samples) - STFT_WINDOW) // HOP + 1)


def n_frames(n_samples: int) -> int:
    """Number of 96-dim embedding frames for a clip of ``n_samples`` at 16 kHz.

    A 2 s clip (32000 samples) gives 16; anything under 12512 samples (0.78 s) gives 0.
    """
    mel = n_mel_frames(n_samples)
    return 0 if mel < WINDOW_FRAMES else (mel - WINDOW_FRAMES) // WINDOW_STEP + 1


def min_samples() -> int:
    """Shortest clip (samples) that yields one embedding frame: 12512."""
    return STFT_WINDOW + (WINDOW_FRAMES - 1) * HOP


def to_int16_range(audio: np.ndarray) -> np.ndarray:
    """Return audio as float32 in openWakeWord's int16 range.

    Args:
        audio: int16 samples, or float in [-1, 1] (scaled by 32767, not rounded).

    Returns:
        float32 array of the same shape.
    """
    audio = np.asarray(audio)
    if audio.dtype == np.int16:
        return audio.astype(np.float32)
    if np.issubdtype(audio.dtype, np.floating):
        return audio.astype(np.float32) * np.float32(INT16_SCALE)
    raise WakeforgeError(
        f"audio has dtype {audio.dtype}; pass int16 samples or float audio in [-1, 1]"
    )


def fully_convolutional_embedding(path: str) -> bytes:
    """Serialise a copy of ``embedding_model.onnx`` that takes whole spectrograms.

    The input Reshape ``[N, 76, 32, 1] -> [N, 1, 76, 32]`` becomes ``[N, 1, F, 32]`` and the
    output Reshape ``[N, 96, 1, 1] -> [N, 1, 1, 96]`` is dropped, so the graph maps
    ``[N, F, 32, 1]`` to ``[N, 96, W', 1]`` whose first ``(F - 76)//8 + 1`` time steps are the
    per-window embeddings.

    Raises:
        AssetError: The graph does not have the expected Reshape -> ... -> Reshape form.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    first, last = g.node[0], g.node[-1]
    if first.op_type != "Reshape" or last.op_type != "Reshape" or first.input[0] != g.input[0].name:
        raise AssetError(f"{path} is not openWakeWord's embedding graph; delete it to re-fetch")
    name = "wakeforge_full_input_shape"
    # 0 copies the batch dim, -1 takes all frames: [N, F, 32, 1] -> [N, 1, F, 32]
    g.initializer.append(numpy_helper.from_array(np.array([0, 1, -1, N_MELS], np.int64), name))
    first.input[1] = name
    conv_out = last.input[0]
    g.node.remove(last)
    g.output[0].name = conv_out
    g.output[0].type.tensor_type.ClearField("shape")
    g.input[0].type.tensor_type.shape.dim[1].dim_param = "frames"
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return model.SerializeToString()


class OnnxFeatureExtractor:
    """openWakeWord features with onnxruntime; bit-identical to ``AudioFeatures.embed_clips``.

    Args:
        paths: Feature model files; ``None`` fetches/verifies them with
            :func:`~wakeforge.features.assets.feature_model_paths`.
        ncpu: onnxruntime intra-op threads.
        providers: onnxruntime execution providers (default CPU).
        fully_convolutional: Run the embedding over whole spectrograms (identical results,
            ~5x faster); ``False`` runs the original graph on each 76-frame window.

    Example:
        >>> ex = OnnxFeatureExtractor()                                  # doctest: +SKIP
        >>> ex.embed_clips(np.zeros((2, 32000), np.int16) + 1).shape     # doctest: +SKIP
        (2, 16, 96)
    """

    def __init__(
        self,
        paths: FeatureModelPaths | None = None,
        ncpu: int = 1,
        providers: list[str] | None = None,
        fully_convolutional: bool = True,
    ) -> None:
        import onnxruntime as ort

        self.paths = paths if paths is not None else feature_model_paths()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(ncpu)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        providers = providers or ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(
            str(self.paths.melspec_onnx), sess_options=opts, providers=providers
        )
        self.fully_convolutional = fully_convolutional
        emb_model = (fully_convolutional_embedding(str(self.paths.embedding_onnx))
                     if fully_convolutional else str(self.paths.embedding_onnx))
        self._emb = ort.InferenceSession(emb_model, sess_options=opts, providers=providers)
        self._mel_in = self._mel.get_inputs()[0].name
        self._emb_in = self._emb.get_inputs()[0].name

    n_frames = staticmethod(n_frames)

    def melspec(self, audio: np.ndarray) -> np.ndarray:
        """Rescaled log-mel spectrogram of one clip.

        Args:
            audio: ``[T]`` int16, or float in [-1, 1].

        Returns:
            ``[F, 32]`` float32, ``x / 10 + 2`` of the model's dB output, ``F = (T-512)//160+1``.
        """
        audio = np.asarray(audio)
        if audio.ndim != 1:
            raise WakeforgeError(f"melspec takes one clip [T]; got shape {audio.shape}")
        if audio.shape[0] < STFT_WINDOW:
            raise WakeforgeError(
                f"clip of {audio.shape[0]} samples is shorter than one STFT window "
                f"({STFT_WINDOW}); pad it"
            )
        (out,) = self._mel.run(None, {self._mel_in: to_int16_range(audio)[None, :]})
        # openWakeWord's default melspec_transform, in the same float32 order.
        return out[0, 0] / 10 + 2

    def melspec_batch(self, audio: np.ndarray) -> np.ndarray:
        """Per-clip mel spectrograms of equal-length clips.

        Args:
            audio: ``[N, T]`` int16, or float in [-1, 1].

        Returns:
            ``[N, F, 32]`` float32.
        """
        audio = self._check_clips(audio)
        out = np.empty((audio.shape[0], n_mel_frames(audio.shape[1]), N_MELS), np.float32)
        for i, clip in enumerate(audio):  # per clip: the model's floor is batch-wide
            out[i] = self.melspec(clip)
        return out

    def embed_mels(self, mels: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Embeddings of rescaled mel spectrograms.

        Args:
            mels: ``[N, F, 32]`` float32 (output of :meth:`melspec_batch`), ``F >= 76``.
            batch_size: Rows per onnxruntime call: clips (fully convolutional, default 8) or
                windows (per-window graph, default 16). Small batches are fastest on CPU.

        Returns:
            ``[N, W, 96]`` float32, ``W = (F - 76)//8 + 1``.
        """
        mels = np.asarray(mels, dtype=np.float32)
        if mels.ndim != 3 or mels.shape[2] != N_MELS or mels.shape[1] < WINDOW_FRAMES:
            raise WakeforgeError(
                f"mel input has shape {mels.shape}; expected [N, F >= {WINDOW_FRAMES}, {N_MELS}]"
            )
        n, f, _ = mels.shape
        w = (f - WINDOW_FRAMES) // WINDOW_STEP + 1
        if self.fully_convolutional:
            out = np.empty((n, w, EMBEDDING_DIM), np.float32)
            step = max(1, int(batch_size or DEFAULT_CLIPS_PER_CALL))
            for s in range(0, n, step):
                (y,) = self._emb.run(None, {self._emb_in: mels[s : s + step, :, :, None]})
                # [n, 96, W', 1] -> [n, W, 96]
                out[s : s + step] = y[:, :, :w, 0].transpose(0, 2, 1)
            return out
        # All windows of all clips as one strided view [N*W, 76, 32] (copied batch by batch).
        view = np.lib.stride_tricks.sliding_window_view(mels, WINDOW_FRAMES, axis=1)
        windows = view[:, ::WINDOW_STEP][:, :w].transpose(0, 1, 3, 2).reshape(
            n * w, WINDOW_FRAMES, N_MELS)
        flat = np.empty((n * w, EMBEDDING_DIM), np.float32)
        step = max(1, int(batch_size or DEFAULT_WINDOWS_PER_CALL))
        for s in range(0, n * w, step):
            batch = np.ascontiguousarray(windows[s : s + step])[..., None]
            (y,) = self._emb.run(None, {self._emb_in: batch})
            flat[s : s + step] = y.reshape(-1, EMBEDDING_DIM)
        return flat.reshape(n, w, EMBEDDING_DIM)

    def embed_clips(self, audio: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """openWakeWord features of equal-length clips.

        Args:
            audio: ``[N, T]`` int16, or float32/float64 in [-1, 1] (scaled by 32767 like
                openWakeWord's int16 input, not rounded); 16 kHz; ``T >= 12512``.
            batch_size: Rows per embedding-model call (see :meth:`embed_mels`).

        Returns:
            ``[N, W, 96]`` float32; ``W = 16`` for 2 s clips.
        """
        audio = self._check_clips(audio)
        if audio.shape[1] < min_samples():
            raise WakeforgeError(
                f"clips of {audio.shape[1]} samples are too short for one feature frame; "
                f"use at least {min_samples()} samples ({min_samples() / 16000:.2f} s) at 16 kHz"
            )
        n = audio.shape[0]
        out = np.empty((n, n_frames(audio.shape[1]), EMBEDDING_DIM), np.float32)
        for s in range(0, n, CLIP_BLOCK):  # bounded memory for the mel stage
            mels = self.melspec_batch(audio[s : s + CLIP_BLOCK])
            out[s : s + CLIP_BLOCK] = self.embed_mels(mels, batch_size=batch_size)
        return out

    @staticmethod
    def _check_clips(audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim != 2:
            raise WakeforgeError(
                f"audio has shape {audio.shape}; expected [N, T] equal-length clips "
                "(stack them, or pass one clip as audio[None])"
            )
        return audio
