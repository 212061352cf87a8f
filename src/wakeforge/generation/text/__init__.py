"""Text for stage 1: positive variants, adversarial near-misses, general negative sentences."""
