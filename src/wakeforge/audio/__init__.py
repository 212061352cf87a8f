"""Audio I/O and clip utilities shared by every stage."""

from wakeforge.audio.constants import SAMPLE_RATE_HZ

__all__ = ["SAMPLE_RATE_HZ"]
