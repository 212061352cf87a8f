"""Audio constants fixed by openWakeWord's feature models."""

#: openWakeWord's feature models take 16 kHz mono audio.
SAMPLE_RATE_HZ = 16_000
#: One embedding frame is 8 mel frames of 10 ms: 80 ms = 1280 samples.
FRAME_SAMPLES = 1280
#: The detector feeds audio in chunks of this many samples (80 ms).
CHUNK_SAMPLES = 1280
#: openWakeWord heads see 16 embedding frames of 96 values.
N_FRAMES = 16
EMBEDDING_DIM = 96
