"""wakeforge: train custom openWakeWord wake word models offline."""

__version__ = "0.1.0"
