"""Clips -> placed windows -> augmented audio -> openWakeWord features, in batches on a device.

One code path for both modes of stage 2: ``python -m wakeforge.augment`` (precompute to
``.npy``) and ``data.stream=true`` (the DataModule featurises fresh augmentations every batch).
"""

from __future__ import annotations

import math

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from wakeforge.audio.io import list_audio_files, load_audio
from wakeforge.core.errors import AudioError, WakeforgeError

log = logging.getLogger(__name__)


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU warns and uses the CPU."""
    name = str(name or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        log.warning("device=%s requested but no CUDA device is available: using the CPU", name)
        return torch.device("cpu")
    return torch.device(name)


def load_clip_folder(folder: str | Path, what: str = "clips") -> tuple[list[np.ndarray], list[str]]:
    """All readable clips of a folder as 16 kHz float32 arrays (bad files skipped and counted)."""
    folder = Path(folder)
    files = list_audio_files(folder) if folder.is_dir() else []
    clips, names, bad = [], [], []
    for f in files:
        try:
            clips.append(load_audio(f))
            names.append(f.name)
        except AudioError as exc:
            bad.append(str(exc))
    if bad:
        log.warning(
            "%s: skipped %d of %d files (unreadable, empty, silent or NaN; first: %s)",
            folder, len(bad), len(files), bad[0],
        )
    if not clips:
        raise WakeforgeError(
            f"no {what} in {folder}; run `python -m wakeforge.generate` (or the full `python -m wakeforge.train`) first"
        )
    return clips, names


def seeded_generator(*parts: int) -> torch.Generator:
    """A CPU generator whose seed depends only on ``parts`` (e.g. seed, class, split, row)."""
    seq = np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts])
    g = torch.Generator()
    g.manual_seed(int(seq.generate_state(1, dtype=np.uint64)[0] & 0x7FFFFFFFFFFFFFFF))
    return g


def _per_clip(
    clips: Sequence[np.ndarray],
    p: float,
    factor_range: tuple[float, float],
    generator: torch.Generator,
    apply: Callable[[np.ndarray, float], np.ndarray],
    min_len: int,
    log_uniform: bool = False,
) -> list[np.ndarray]:
    """``apply(float32 clip, factor)`` on each clip drawn with probability ``p`` (others as they are).

    Two draws per call, in this order, whatever ``p``: which clips, then a factor for every
    clip (uniform in ``factor_range``, or log-uniform).
    """
    if p <= 0.0:
        return list(clips)
    n = len(clips)
    hit = (torch.rand(n, generator=generator) < p).tolist()
    lo, hi = (math.log(v) for v in factor_range) if log_uniform else factor_range
    u = lo + (hi - lo) * torch.rand(n, generator=generator)
    factors = (torch.exp(u) if log_uniform else u).tolist()
    out: list[np.ndarray] = []
    for clip, h, f in zip(clips, hit, factors, strict=True):
        if not h or abs(f - 1.0) < 1e-3 or len(clip) < min_len:
            out.append(clip)
            continue
        x = clip.astype(np.float32) / 32768.0 if clip.dtype == np.int16 else clip.astype(np.float32)
        out.append(apply(x, f))
    return out


class ClipFeaturizer:
    """Turn clips into ``[B, n_frames, 96]`` feature windows.

    Args:
        augmenter: :class:`~wakeforge.augment.pipeline.Augmenter` on ``device``.
        extractor: :class:`~wakeforge.features.torch_extractor.TorchFeatureExtractor` on ``device``.
        length_samples: window length (2 s = 32000 samples gives exactly 16 frames).
        n_frames: frames kept, counted back from the window end (the head's input).
        end_jitter_s / pad_dbfs: placement settings from the augmentation config.
    """

    def __init__(
        self,
        augmenter: torch.nn.Module,
        extractor: torch.nn.Module,
        length_samples: int,
        n_frames: int = 16,
        end_jitter_s: Sequence[float] = (0.0, 0.2),
        pad_dbfs: Sequence[float] = (-60.0, -40.0),
        device: torch.device | str = "cpu",
        end_fraction: float = 0.5,
        negative_windows: int = 1,
        negative_hop_frames: int = 2,
        p_speed: float = 0.0,
        speed_factor: Sequence[float] = (0.85, 1.15),
        p_vtlp: float = 0.0,
        vtlp_factor: Sequence[float] = (0.9, 1.1),
        p_tempo: float = 0.0,
        tempo_factor: Sequence[float] = (0.8, 1.25),
    ) -> None:
        self.augmenter = augmenter
        self.extractor = extractor
        self.length = int(length_samples)
        self.n_frames = int(n_frames)
        self.end_jitter_s = (float(end_jitter_s[0]), float(end_jitter_s[1]))
        self.pad_dbfs = (float(pad_dbfs[0]), float(pad_dbfs[1]))
        self.device = torch.device(device)
        self.end_fraction = float(end_fraction)
        self.negative_windows = max(1, int(negative_windows))
        self.negative_hop_frames = max(1, int(negative_hop_frames))
        self.p_speed = float(p_speed)
        self.speed_factor = (float(speed_factor[0]), float(speed_factor[1]))
        self.p_tempo = float(p_tempo)
        self.tempo_factor = (float(tempo_factor[0]), float(tempo_factor[1]))
        self.p_vtlp = float(p_vtlp)
        self.vtlp_factor = (float(vtlp_factor[0]), float(vtlp_factor[1]))
        bank = getattr(augmenter, "background_bank", None)
        # Placement runs on the CPU with a CPU generator; keep a CPU copy of the padding bank.
        self._pad_bank = bank.detach().cpu() if bank is not None and bank.numel() > 1 else None

    def perturb_speed(self, clips: Sequence[np.ndarray], generator: torch.Generator) -> list[np.ndarray]:
        """Each clip sped up or slowed down by a random factor with probability ``p_speed``.

        Linear interpolation in time (np.interp; a few microseconds per clip): tempo, pitch and
        formants move together, as in Kaldi-style speed perturbation, so one synthetic voice
        becomes a range of vocal-tract sizes and speaking rates. Written here rather than with
        torchaudio's resampler, which needs one filter per rate and runs ~100x slower per clip.
        """
        def resample(x: np.ndarray, f: float) -> np.ndarray:
            t = np.arange(0.0, len(x) - 1, f)
            return np.interp(t, np.arange(len(x)), x).astype(np.float32)

        return _per_clip(clips, self.p_speed, self.speed_factor, generator, resample, min_len=2)

    def perturb_tempo(self, clips: Sequence[np.ndarray], generator: torch.Generator) -> list[np.ndarray]:
        """Each clip spoken faster or slower with probability ``p_tempo``, pitch and formants kept.

        The factor is drawn log-uniformly from ``tempo_factor`` (> 1 = faster) and applied with
        a phase vocoder (:func:`wakeforge.augment.dsp.time_stretch`, 75 % overlap). People say a
        wake phrase at many rates; unlike :meth:`perturb_speed` this changes only the rate.
        """
        from wakeforge.augment.dsp import time_stretch

        def stretch(x: np.ndarray, f: float) -> np.ndarray:
            y = time_stretch(torch.from_numpy(x)[None], torch.tensor([1.0 / f]), hop=128)[0]
            return y[: max(1, int(round(len(x) / f)))].numpy().astype(np.float32)

        return _per_clip(clips, self.p_tempo, self.tempo_factor, generator, stretch, min_len=1024,
                         log_uniform=True)

    def warp_factors(self, n: int, generator: torch.Generator) -> Tensor | None:
        """Per-row vocal-tract warp factors (1.0 where not drawn), or ``None`` when off."""
        if self.p_vtlp <= 0.0:
            return None
        hit = torch.rand(n, generator=generator) < self.p_vtlp
        lo, hi = self.vtlp_factor
        f = lo + (hi - lo) * torch.rand(n, generator=generator)
        return torch.where(hit, f, torch.ones_like(f)).to(self.device)

    def _extract(self, x: Tensor, generator: torch.Generator, augment: bool) -> Tensor:
        warp = self.warp_factors(len(x), generator) if augment else None
        return self.extractor(x) if warp is None else self.extractor(x, warp=warp)

    def windows(self, clips: Sequence[np.ndarray], mode: str, generator: torch.Generator) -> Tensor:
        """Place clips into windows. ``mode``: ``end`` (phrase ends at the window end),
        ``random`` (anywhere), or ``mixed`` (each clip ``end`` with probability
        ``end_fraction``, else ``random``).

        Negatives need ``mixed``: the detector slides over every position, so each negative
        utterance is at some moment aligned exactly like a positive. Trained only on
        randomly placed negatives, a head learns "speech that ends at the window end" instead of
        the phrase, and fires on most speech in streaming use (measured: 203 of 300 held-out
        negative clips accepted vs 15 with windows validated at random offsets).
        """
        from wakeforge.augment.placement import place_clips

        clips = self.perturb_tempo(self.perturb_speed(clips, generator), generator)

        def place(items: Sequence[np.ndarray], how: str) -> Tensor:
            return place_clips(
                items, self.length, mode=how, end_jitter_s=self.end_jitter_s, background=self._pad_bank,
                rng=generator, pad_dbfs=self.pad_dbfs,
            )

        if mode != "mixed":
            return place(clips, mode)
        at_end = (torch.rand(len(clips), generator=generator) < self.end_fraction).tolist()
        out = torch.empty(len(clips), self.length)
        for flag, how in ((True, "end"), (False, "random")):
            idx = [i for i, e in enumerate(at_end) if e == flag]
            if idx:
                out[idx] = place([clips[i] for i in idx], how)
        return out

    def background_windows(self, batch: int, generator: torch.Generator, level_dbfs: Sequence[float] = (-45.0, -12.0)) -> Tensor:
        """Speech-free windows: random crops of the background bank at random levels."""
        if self._pad_bank is None:
            raise WakeforgeError("no background bank to draw background windows from; set augmentation.background_paths")
        bank = self._pad_bank
        n, L = bank.shape
        idx = torch.randint(0, n, (batch,), generator=generator)
        out = torch.empty(batch, self.length)
        for i, j in enumerate(idx.tolist()):
            if L >= self.length:
                s = int(torch.randint(0, L - self.length + 1, (), generator=generator))
                seg = bank[j, s : s + self.length]
            else:
                seg = bank[j].repeat(self.length // L + 1)[: self.length]
            rms = seg.pow(2).mean().sqrt().clamp_min(1e-6)
            lo, hi = float(level_dbfs[0]), float(level_dbfs[1])
            db = lo + (hi - lo) * float(torch.rand((), generator=generator))
            out[i] = seg / rms * (10 ** (db / 20))
        peak = out.abs().amax(dim=-1, keepdim=True)
        return torch.where(peak > 1.0, out / peak.clamp(min=1.0), out)

    @torch.no_grad()
    def features(self, windows: Tensor, generator: torch.Generator, augment: bool = True) -> Tensor:
        """Augment (optionally) and featurise ``[B, T]`` windows -> ``[B, n_frames, 96]``."""
        x = windows.to(self.device, non_blocking=True)
        if augment:
            x = self.augmenter(x, generator=generator)
        feats = self._extract(x, generator, augment)
        if feats.shape[1] < self.n_frames:
            raise WakeforgeError(
                f"windows of {self.length} samples give {feats.shape[1]} frames < {self.n_frames}; raise data.clip_duration_s"
            )
        return feats[:, -self.n_frames :]

    def __call__(self, clips: Sequence[np.ndarray], mode: str, generator: torch.Generator, augment: bool = True) -> Tensor:
        return self.features(self.windows(clips, mode, generator), generator, augment)

    @torch.no_grad()
    def negative_rows(self, clips: Sequence[np.ndarray], generator: torch.Generator, augment: bool = True) -> Tensor:
        """Feature rows of negative clips as the streaming detector sees them: ``negative_windows``
        rows per clip (clip-major), the model window sliding ``negative_hop_frames`` x 80 ms at a time.

        Each clip is placed in one longer window with its end drawn uniformly between 0-200 ms
        before the first row's window end and the last row's window end; one augmentation and
        one embedding pass over the long window give every row (the embedding model is
        convolutional in time, so a row equals featurising its own stretch of the long window).
        The rows cover the clip starting, running past the window end (cut off), ending right at
        the window end (where a positive would fire) and followed by noise. With one window per
        clip this is :meth:`__call__` in ``mixed`` mode.

        Returns:
            ``[len(clips) * negative_windows, n_frames, 96]``.
        """
        from wakeforge.audio.constants import FRAME_SAMPLES, SAMPLE_RATE_HZ
        from wakeforge.augment.placement import place_clips

        k, hop = self.negative_windows, self.negative_hop_frames
        if k <= 1:
            return self(clips, "mixed", generator, augment)
        extra = (k - 1) * hop * FRAME_SAMPLES
        clips = self.perturb_speed(clips, generator)
        windows = place_clips(
            clips, self.length + extra, mode="end",
            end_jitter_s=(self.end_jitter_s[0], self.end_jitter_s[1] + extra / SAMPLE_RATE_HZ),
            background=self._pad_bank, rng=generator, pad_dbfs=self.pad_dbfs,
        )
        x = windows.to(self.device, non_blocking=True)
        if augment:
            x = self.augmenter(x, generator=generator)
        feats = self._extract(x, generator, augment)
        need = self.n_frames + (k - 1) * hop
        if feats.shape[1] < need:
            raise WakeforgeError(
                f"windows of {x.shape[1]} samples give {feats.shape[1]} frames < {need}; raise data.clip_duration_s"
            )
        feats = feats[:, feats.shape[1] - need :]
        rows = torch.stack([feats[:, j * hop : j * hop + self.n_frames] for j in range(k)], dim=1)
        return rows.reshape(len(clips) * k, self.n_frames, feats.shape[-1])
