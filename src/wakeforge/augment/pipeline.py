"""The augmentation chain: one ``nn.Module`` that augments a batch of windows on any device.

Order of the chain, from the talker to the recording (each step per example, with its own
probability from ``conf/augmentation/*.yaml``):

1. pitch shift (another voice),
2. room impulse response (the room; level restored afterwards),
3. background at a sampled SNR (other sound sources in the room),
4. coloured noise (microphone/electronics noise),
5. parametric EQ and one of low-pass / high-pass / band-pass / band-stop (the device),
6. tanh distortion (cheap amplifiers, clipping),
7. gain (distance and input level),
8. hard clipping at full scale (a hot input level; off by default),

then a row is peak-normalised only if it would clip. openWakeWord applies the room after the
background (reverberating the noise too) and picks filters, noise and background per batch;
here every example draws its own parameters.

torch-audiomentations provides the gain (and :meth:`Augmenter._run_ta` is the hook for adding
any of its batch transforms). Its coloured noise, filters and pitch shift loop over examples in
Python and its file-based background/RIR transforms are broken on torchaudio 2.11, so background
mixing, RIR convolution, coloured noise, EQ + filters (one shared FFT), distortion and pitch
shift are batched ops in :mod:`wakeforge.augment.dsp` (measurements there). Every random draw
comes from one seeded CPU ``torch.Generator``; torch-audiomentations draws from torch's global
RNG, so each of its calls runs inside ``torch.random.fork_rng`` seeded from that generator: the
same seed gives the same output on CPU, and the caller's global RNG state is left untouched.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.augment import dsp
from wakeforge.augment.config import PASSTHROUGH_KEYS, AugmentationConfig, Range
from wakeforge.augment.rir import RIR_ONSET_SAMPLES

__all__ = [
    "EQ_CENTERS_HZ",
    "PASSTHROUGH_KEYS",
    "AugmentationConfig",
    "Augmenter",
    "Range",
    "build_augmenter",
]

log = logging.getLogger(__name__)

#: Centre frequencies of the parametric EQ bands (openWakeWord uses a seven-band EQ too).
EQ_CENTERS_HZ = (100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0)


class Augmenter(nn.Module):
    """Random per-example augmentation of ``[B, T]`` windows (see the module docstring).

    The banks are non-persistent buffers, so ``augmenter.to(device)`` moves them to the device
    once; every batch then stays there. Unlike torch-audiomentations' transforms, the chain
    augments in eval mode too: the caller decides when to call it (training batches only).

    Args:
        config: probabilities and ranges.
        rir_bank: ``[n, L]`` RIRs from :func:`~wakeforge.augment.rir.load_rir_bank` (direct path
            at :data:`~wakeforge.augment.rir.RIR_ONSET_SAMPLES`), or ``None``.
        background_bank: ``[n, L]`` segments from
            :func:`~wakeforge.augment.background.load_background_bank`, or ``None``.
        seed: seed of the internal generator.
        sample_rate_hz: sample rate of the waveforms.

    Example:
        >>> aug = Augmenter(AugmentationConfig(p_rir=0, p_background=0), seed=0)
        >>> aug(torch.randn(2, 16000) * 0.1).shape
        torch.Size([2, 16000])
    """

    rir_bank: Tensor
    background_bank: Tensor
    eq_centers_hz: Tensor

    def __init__(
        self,
        config: AugmentationConfig | None = None,
        rir_bank: Tensor | None = None,
        background_bank: Tensor | None = None,
        seed: int = 0,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
    ) -> None:
        super().__init__()
        self.config = config or AugmentationConfig()
        self.sample_rate_hz = sample_rate_hz
        empty = torch.zeros(0, 1)
        self.register_buffer(
            "rir_bank", (rir_bank if rir_bank is not None else empty).float(), persistent=False
        )
        self.register_buffer(
            "background_bank",
            (background_bank if background_bank is not None else empty).float(),
            persistent=False,
        )
        self.register_buffer("eq_centers_hz", torch.tensor(EQ_CENTERS_HZ), persistent=False)
        self.generator = torch.Generator()
        self.reseed(seed)
        self._rir_spec_cache: dict[tuple[int, str], Tensor] = {}
        if self.config.p_rir > 0 and self.rir_bank.shape[0] == 0:
            log.warning(
                "augmentation.p_rir=%s but the RIR bank is empty: no reverb", self.config.p_rir
            )
        if self.config.p_background > 0 and self.background_bank.shape[0] == 0:
            log.warning(
                "augmentation.p_background=%s but the background bank is empty: no backgrounds",
                self.config.p_background,
            )
        # Kept in a plain dict, not as submodules: their eval mode would turn them into no-ops.
        self._ta = _make_ta_transforms(self.config, sample_rate_hz)

    def reseed(self, seed: int) -> None:
        """Restart the internal generator: the next batches repeat those after the last reseed."""
        self.generator.manual_seed(int(seed))

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"rirs={self.rir_bank.shape[0]}, backgrounds={self.background_bank.shape[0]}, "
            f"p_rir={c.p_rir}, p_background={c.p_background}, p_colored_noise={c.p_colored_noise}, "
            f"p_eq={c.p_eq}, p_filter={c.p_filter}, p_distortion={c.p_distortion}, "
            f"p_pitch_shift={c.p_pitch_shift}, p_gain={c.p_gain}, p_clip={c.p_clip}"
        )

    @torch.no_grad()
    def forward(self, waveforms: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment a batch.

        Args:
            waveforms: ``[B, T]`` float audio in [-1, 1] on any device.
            generator: CPU generator to draw from instead of the internal one.

        Returns:
            ``[B, T]`` augmented audio, same dtype and device, within [-1, 1] (rows are
            peak-normalised only when they would clip). With every probability 0, input
            within [-1, 1] comes back unchanged.
        """
        if waveforms.dim() != 2:
            raise ValueError(
                f"Augmenter expects [batch, time] waveforms, got shape {tuple(waveforms.shape)}"
            )
        g = generator if generator is not None else self.generator
        c = self.config
        x = waveforms.detach().to(torch.float32).clone()
        batch, length = x.shape
        if batch == 0 or length == 0:
            return waveforms.clone()
        dev = x.device

        idx = self._select(c.p_pitch_shift, batch, g, dev)
        if idx is not None:
            semis = _uniform(c.pitch_shift_semitones, idx.numel(), g).to(dev)
            sub = x[idx]
            x[idx] = dsp.match_rms(dsp.pitch_shift(sub, semis, self.sample_rate_hz), sub)

        idx = self._select(c.p_rir, batch, g, dev) if self.rir_bank.shape[0] else None
        if idx is not None:
            pick = torch.randint(0, self.rir_bank.shape[0], (idx.numel(),), generator=g).to(dev)
            sub = x[idx]
            spectra = self._rir_spectra(dsp.fft_conv_size(length, self.rir_bank.shape[1]))
            wet = dsp.fft_convolve(sub, self.rir_bank[pick], RIR_ONSET_SAMPLES, spectra[pick])
            x[idx] = dsp.match_rms(wet, sub)

        idx = self._select(c.p_background, batch, g, dev) if self.background_bank.shape[0] else None
        if idx is not None:
            noise = self._background(idx.numel(), length, g)
            snr = _uniform(c.snr_db, idx.numel(), g).to(dev)
            x[idx] = dsp.mix_at_snr(x[idx], noise, snr)

        idx = self._select(c.p_colored_noise, batch, g, dev)
        if idx is not None:
            decay = _uniform(c.colored_noise_f_decay, idx.numel(), g)
            noise = dsp.colored_noise(idx.numel(), length, decay, g, dev)
            snr = _uniform(c.colored_noise_snr_db, idx.numel(), g).to(dev)
            x[idx] = dsp.mix_at_snr(x[idx], noise, snr)

        x = self._spectral(x, g)

        idx = self._select(c.p_distortion, batch, g, dev)
        if idx is not None:
            drive = _uniform(c.distortion_drive_db, idx.numel(), g).to(dev)
            x[idx] = dsp.tanh_distortion(x[idx], drive)

        idx = self._select(c.p_gain, batch, g, dev)
        if idx is not None:
            x[idx] = self._run_ta("gain", x[idx], g)

        idx = self._select(c.p_clip, batch, g, dev)
        if idx is not None:
            drive = _uniform(c.clip_drive_db, idx.numel(), g).to(dev)
            x[idx] = dsp.hard_clip(x[idx], drive)

        peak = x.abs().amax(dim=-1, keepdim=True)
        x = torch.where(peak > 1.0, x / peak.clamp(min=1.0), x)
        return x.to(waveforms.dtype)

    def _spectral(self, x: Tensor, g: torch.Generator) -> Tensor:
        """EQ and filter in one FFT pass over the rows that draw either (or both)."""
        c = self.config
        batch = x.shape[0]
        eq_rows = torch.rand(batch, generator=g) < c.p_eq
        filter_rows = torch.rand(batch, generator=g) < c.p_filter
        rows = (eq_rows | filter_rows).nonzero().squeeze(1)
        if rows.numel() == 0:
            return x
        k = rows.numel()
        eq_gain = _uniform(c.eq_gain_db, k * len(EQ_CENTERS_HZ), g).view(k, -1)
        eq_gain = eq_gain * eq_rows[rows, None]  # 0 dB for rows that only filter
        kind = torch.randint(0, 4, (k,), generator=g)
        lo, hi = self._filter_bands(kind, g)
        use_filter = filter_rows[rows]
        dev = x.device
        eq_gain, kind, lo, hi, use_filter = (t.to(dev) for t in (eq_gain, kind, lo, hi, use_filter))
        centers = self.eq_centers_hz

        def response(freqs: Tensor) -> Tensor:
            resp = dsp.eq_response(freqs, eq_gain, centers)
            filt = dsp.filter_response(freqs, kind, lo, hi)
            return resp * torch.where(use_filter[:, None], filt, torch.ones_like(filt))

        idx = rows.to(dev)
        x[idx] = dsp.apply_response(x[idx], self.sample_rate_hz, response)
        return x

    def _filter_bands(self, kind: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """Cutoffs ``(low_hz, high_hz)`` per row for :func:`dsp.filter_response` kinds 0-3.

        Low-pass and high-pass cutoffs are log-uniform in ``lowpass_hz`` / ``highpass_hz``;
        band-pass is a telephone-like band (centre 1-2 kHz, width 1.5-1.9 x centre: a narrow band
        would erase the phrase); band-stop follows openWakeWord (torch-audiomentations'
        defaults: centre 200-4000 Hz, width 0.5-1.99 x centre).
        """
        c = self.config
        n = kind.numel()
        nyquist = self.sample_rate_hz / 2.0
        lp = _log_uniform((c.lowpass_hz[0], min(c.lowpass_hz[1], nyquist * 0.98)), n, g)
        hp = _log_uniform(c.highpass_hz, n, g)
        bp_c, bp_w = _log_uniform((1000.0, 2000.0), n, g), _uniform((1.5, 1.9), n, g)
        bs_c, bs_w = _log_uniform((200.0, 4000.0), n, g), _uniform((0.5, 1.99), n, g)
        center = torch.where(kind == 2, bp_c, bs_c)
        width = torch.where(kind == 2, bp_w, bs_w)
        band_lo = center * (1.0 - width / 2.0)
        band_hi = (center * (1.0 + width / 2.0)).clamp(max=nyquist * 0.98)
        low = torch.where(kind == 1, hp, band_lo).clamp(min=1.0)
        high = torch.where(kind == 0, lp, band_hi)
        return low, high

    @staticmethod
    def _select(p: float, batch: int, g: torch.Generator, dev: torch.device) -> Tensor | None:
        """Indices (on ``dev``) of the examples a transform with probability ``p`` applies to."""
        if p <= 0.0:
            return None
        mask = torch.rand(batch, generator=g) < p
        if not bool(mask.any()):
            return None
        return mask.nonzero().squeeze(1).to(dev)

    def _background(self, n: int, length: int, g: torch.Generator) -> Tensor:
        """``[n, length]`` random stretches of random background segments (looped if short)."""
        bank = self.background_bank
        seg = torch.randint(0, bank.shape[0], (n,), generator=g)
        seg_len = bank.shape[1]
        hi = seg_len - length + 1 if seg_len >= length else seg_len
        start = torch.randint(0, hi, (n,), generator=g)
        return dsp.crop_rows(bank, seg, start, length)

    def _rir_spectra(self, n_fft: int) -> Tensor:
        """``rfft`` of the whole RIR bank at size ``n_fft``, computed once per size and device."""
        key = (n_fft, str(self.rir_bank.device))
        cached = self._rir_spec_cache.get(key)
        if cached is None:
            cached = torch.fft.rfft(self.rir_bank, n=n_fft)
            self._rir_spec_cache = {key: cached}  # one entry: window length rarely changes
        return cached

    def _run_ta(self, name: str, x: Tensor, g: torch.Generator) -> Tensor:
        """Run one torch-audiomentations transform (p=1) on ``[n, T]`` under a forked, seeded RNG."""
        transform = self._ta[name]
        transform.train()
        seed = int(torch.randint(0, 2**62, (1,), generator=g))
        devices: list[int] = []
        if x.device.type == "cuda":
            devices = [
                x.device.index if x.device.index is not None else torch.cuda.current_device()
            ]
        with torch.random.fork_rng(devices=devices):
            torch.random.default_generator.manual_seed(seed)
            if devices:
                with torch.cuda.device(devices[0]):
                    torch.cuda.manual_seed(seed)
            out = transform(x[:, None, :], sample_rate=self.sample_rate_hz).samples
        return out[:, 0, :]


def _uniform(bounds: Range, n: int, g: torch.Generator) -> Tensor:
    lo, hi = bounds
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _log_uniform(bounds: Range, n: int, g: torch.Generator) -> Tensor:
    lo, hi = bounds
    return lo * torch.pow(hi / lo, torch.rand(n, generator=g))


def _make_ta_transforms(c: AugmentationConfig, sample_rate_hz: int) -> dict[str, nn.Module]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch-audiomentations' import-time deprecation notes
        import torch_audiomentations as ta

    common: dict[str, Any] = {
        "p": 1.0,
        "mode": "per_example",
        "sample_rate": sample_rate_hz,
        "output_type": "dict",
    }
    return {"gain": ta.Gain(min_gain_in_db=c.gain_db[0], max_gain_in_db=c.gain_db[1], **common)}


def build_augmenter(
    config: AugmentationConfig,
    *,
    cache_dir: str | os.PathLike[str],
    seed: int,
    extra_clips: Sequence[Any] | None = None,
    device: str | torch.device = "cpu",
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> Augmenter:
    """Load both banks as configured and return an :class:`Augmenter` on ``device``.

    Args:
        config: augmentation settings.
        cache_dir: cache root (simulated RIRs land in ``{cache_dir}/rirs``).
        seed: seed of the banks and of the augmenter's generator.
        extra_clips: speech clips (arrays or paths) for generated babble, e.g. stage 1 negatives.
        device: where the banks live and augmentation runs.
        sample_rate_hz: sample rate.

    Returns:
        The augmenter; its ``background_bank`` also serves :func:`place_clips` as padding.
    """
    from wakeforge.augment.background import load_background_bank
    from wakeforge.augment.rir import load_rir_bank

    rirs = None
    if config.p_rir > 0:
        rirs = load_rir_bank(
            config.rir_paths,
            cache_dir,
            config.n_simulated_rirs,
            seed,
            duration_s=config.rir_duration_s,
            sample_rate_hz=sample_rate_hz,
        )
    backgrounds = load_background_bank(
        config.background_paths,
        config.background_paths_duplication_rate,
        extra_clips=extra_clips,
        seed=seed,
        max_seconds=config.background_max_s,
        segment_s=config.background_segment_s,
        generated_seconds=config.background_generated_s,
        sample_rate_hz=sample_rate_hz,
        household_share=config.background_household_share,
    )
    return Augmenter(config, rirs, backgrounds, seed=seed, sample_rate_hz=sample_rate_hz).to(device)
