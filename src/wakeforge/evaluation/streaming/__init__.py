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

This package reproduces those steps with onnxruntime instead of calling ``Model.predict`` chunk
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

from wakeforge.audio.constants import CHUNK_SAMPLES, EMBEDDING_DIM, SAMPLE_RATE_HZ
from wakeforge.evaluation.streaming.features import StreamingFeatures
from wakeforge.evaluation.streaming.frames import (DEFAULT_PAD_DBFS, DEFAULT_PAD_S, EMBED_BATCH, FRAME_S,
                                                   INITIAL_NOISE_AMPLITUDE, INITIAL_NOISE_S,
                                                   MEL_CONTEXT_SAMPLES, MEL_WARMUP_CHUNKS, MEL_WINDOW,
                                                   N_MELS, WARMUP_FRAMES, frame_end_times,
                                                   lead_in_chunks)
from wakeforge.evaluation.streaming.heads import load_head
from wakeforge.evaluation.streaming.mixing import (active_rms, file_rng, mix_at_snr, pad_with_noise,
                                                   pink_noise, prepare_audio, to_int16)
from wakeforge.evaluation.streaming.scorer import (FileScores, StreamingScorer, score_file_many,
                                                   score_many, score_stream_many)

__all__ = [
    "CHUNK_SAMPLES", "DEFAULT_PAD_DBFS", "DEFAULT_PAD_S", "EMBEDDING_DIM", "EMBED_BATCH", "FRAME_S",
    "INITIAL_NOISE_AMPLITUDE", "INITIAL_NOISE_S", "MEL_CONTEXT_SAMPLES", "MEL_WARMUP_CHUNKS",
    "MEL_WINDOW", "N_MELS", "SAMPLE_RATE_HZ", "WARMUP_FRAMES", "FileScores", "StreamingFeatures",
    "StreamingScorer", "active_rms", "file_rng", "frame_end_times", "lead_in_chunks", "load_head",
    "mix_at_snr", "pad_with_noise", "pink_noise", "prepare_audio", "score_file_many", "score_many",
    "score_stream_many", "to_int16",
]
