"""Speech that is not the phrase, made from clips of the phrase: reversed, halved, shuffled, spliced.

Positive clips carry the phrase *and* everything else about how it was recorded: the voice,
the room, the microphone, the loudness. A head that sees only those clips as positives can learn
"this voice on this channel" instead of the phrase and then fires on anything the same voices
say. Rearranging the clips keeps everything but the phrase: each clip reversed, its first part
and its last part alone, its four quarters in a shuffled order, and a splice of it with another
clip. Used as negatives by ``python -m wakeforge.personalize`` (the household's takes) and, with
``data.batch_n_per_class.rearranged_negative``, by stage 2 (the synthetic positives).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Shortest piece kept (100 ms at 16 kHz).
MIN_SAMPLES = 1600


def rearranged(clips: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """Five rearrangements of each clip (fewer when a piece is under 100 ms), float32.

    Example:
        >>> x = np.arange(16000, dtype=np.float32)
        >>> out = rearranged([x, x[::2]], seed=0)
        >>> len(out), bool(np.array_equal(out[0], x[::-1]))
        (10, True)
    """
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    items = [np.asarray(c, dtype=np.float32) for c in clips]
    for a in items:
        n = len(a)
        out.append(a[::-1].copy())
        cut = int(n * rng.uniform(0.4, 0.6))
        out += [a[:cut].copy(), a[cut:].copy()]
        q = np.array_split(a, 4)
        order = rng.permutation(4)
        while (order == np.arange(4)).all():
            order = rng.permutation(4)
        out.append(np.concatenate([q[i] for i in order]))
    # Splices of two different clips (a piece of one, then a piece of another): the voices'
    # sounds in new orders, as in other things the same people say.
    if len(items) >= 2:
        for i, a in enumerate(items):
            b = items[(i + 1 + int(rng.integers(len(items) - 1))) % len(items)]
            pa = a[int(len(a) * rng.uniform(0.3, 0.6)):] if rng.random() < 0.5 else a[: int(len(a) * rng.uniform(0.4, 0.7))]
            pb = b[: int(len(b) * rng.uniform(0.4, 0.7))] if rng.random() < 0.5 else b[::-1][: int(len(b) * 0.5)]
            out.append(np.concatenate([pa, pb]))
    return [c for c in out if len(c) >= MIN_SAMPLES]


def rearranged_subset(clips: Sequence[np.ndarray], n_out: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """About ``n_out`` rearranged clips from an evenly spaced subset of ``clips`` (five per source).

    Returns:
        ``(rearranged clips, indices of the source clips used)``.
    """
    n_src = max(1, min(len(clips), int(n_out) // 5))
    step = max(1, len(clips) // n_src)
    picked = list(range(0, len(clips), step))[:n_src]
    return rearranged([clips[i] for i in picked], seed), picked
