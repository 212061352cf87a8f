"""The detector's constants and frame timing: 80 ms score frames, warm-up, lead-in."""

from __future__ import annotations

import numpy as np

from wakeforge.audio.constants import CHUNK_SAMPLES, SAMPLE_RATE_HZ


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
#: Windows per fully convolutional embedding call (41 s of audio: bounds the activations to tens of MB).
FC_BLOCK = 512


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
