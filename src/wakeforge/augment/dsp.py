"""Batched signal operations on ``[batch, time]`` tensors, each example with its own parameters.

Everything here runs on whatever device the input lives on and draws no random numbers: the
caller (:class:`wakeforge.augment.pipeline.Augmenter`) samples the parameters with its seeded
generator and passes them in, which keeps the output reproducible.

Hand-written pieces and why:

* :func:`fft_convolve` / :func:`mix_at_snr`: torch-audiomentations' ``ApplyImpulseResponse`` and
  ``AddBackgroundNoise`` read files per batch and fail with torchaudio 2.11
  (``torchaudio.info`` is gone); the banks live in memory on the device instead.
* :func:`pitch_shift`: torch-audiomentations' ``PitchShift`` only uses "fast" ratios, and at
  16 kHz the only fast ratios within ±3 semitones are 0.977 and 1.024 (±0.4 semitones); it also
  runs one example at a time (≈ 40 ms per 2 s clip on one CPU core). This phase vocoder takes any
  ratio per example and processes the whole batch in one STFT.
* :func:`eq_response` and :func:`tanh_distortion` replace openWakeWord's per-clip numpy
  ``audiomentations`` transforms (``SevenBandParametricEQ``, ``TanhDistortion``).
* :func:`filter_response` and :func:`colored_noise`: torch-audiomentations' filters and coloured
  noise loop over examples in Python (≈ 5 ms and 2.5 ms per 2 s clip on one core); these run
  the whole batch in one FFT (EQ and filter share it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

#: Frame length (20 ms at 16 kHz) used to measure the active level of a signal.
LEVEL_FRAME_SAMPLES = 320
#: Frames quieter than the loudest frame by more than this count as pauses/padding.
ACTIVE_FLOOR_DB = -40.0
_EPS = 1e-12


def power(x: Tensor) -> Tensor:
    """Mean power of each row.

    Args:
        x: ``[B, T]`` waveforms.

    Returns:
        ``[B]`` mean of ``x**2`` over time.
    """
    return x.pow(2).mean(dim=-1)


def active_power(
    x: Tensor, frame: int = LEVEL_FRAME_SAMPLES, floor_db: float = ACTIVE_FLOOR_DB
) -> Tensor:
    """Mean power over the active frames of each row (a simple speech active level).

    A placed phrase fills only part of a 2 s window; measuring its power over the whole window
    would make every SNR a few dB easier than asked. Frames whose power is within ``floor_db``
    of the row's loudest frame count as active; the rest (padding, pauses) are ignored.

    Args:
        x: ``[B, T]`` waveforms.
        frame: frame length in samples.
        floor_db: activity threshold relative to the loudest frame, in dB (negative).

    Returns:
        ``[B]`` active power (same units as ``x**2``).

    Example:
        >>> x = torch.zeros(1, 3200); x[0, :1600] = 1.0
        >>> float(active_power(x))
        1.0
    """
    b, t = x.shape
    n = max(t // frame, 1)
    usable = min(t, n * frame)
    frames = x[:, :usable].reshape(b, n, -1).pow(2).mean(dim=-1)  # [B, n]
    threshold = frames.amax(dim=-1, keepdim=True) * (10.0 ** (floor_db / 10.0))
    mask = frames >= threshold
    return (frames * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1)


def mix_at_snr(signal: Tensor, noise: Tensor, snr_db: Tensor) -> Tensor:
    """Add ``noise`` scaled so that active signal power / noise power equals ``snr_db``.

    Args:
        signal: ``[B, T]`` waveforms.
        noise: ``[B, T]`` noise (any level; must not be all zeros).
        snr_db: ``[B]`` target SNR in dB.

    Returns:
        ``[B, T]`` ``signal + scale * noise``.
    """
    p_sig = active_power(signal)
    p_noise = power(noise).clamp(min=_EPS)
    scale = torch.sqrt(p_sig / (p_noise * torch.pow(10.0, snr_db / 10.0)))
    return signal + scale[:, None] * noise


def fft_convolve(
    x: Tensor, kernels: Tensor, onset: int = 0, kernel_spec: Tensor | None = None
) -> Tensor:
    """Linear convolution of each row with its own kernel via ``torch.fft``, cut to ``T``.

    Args:
        x: ``[B, T]`` waveforms.
        kernels: ``[B, L]`` impulse responses (direct path at sample ``onset``).
        onset: samples to drop from the start so the direct path lines up with the input
            (keeps the phrase end where placement put it).
        kernel_spec: ``[B, n // 2 + 1]`` precomputed ``rfft(kernels, n)`` with
            ``n = fft_conv_size(T, L)`` (the augmenter caches its bank's spectra).

    Returns:
        ``[B, T]`` convolved signals.
    """
    t = x.shape[-1]
    n = fft_conv_size(t, kernels.shape[-1])
    if kernel_spec is None:
        kernel_spec = torch.fft.rfft(kernels.float(), n=n)
    spec = torch.fft.rfft(x.float(), n=n) * kernel_spec
    return torch.fft.irfft(spec, n=n)[:, onset : onset + t]


def fft_conv_size(signal_len: int, kernel_len: int) -> int:
    """FFT size for a linear convolution of these lengths."""
    return _fft_size(signal_len + kernel_len - 1)


def _fft_size(n: int) -> int:
    """Smallest size >= n of the form 2^a * 3^b * 5^c (fast for every FFT backend)."""
    best = 1 << (n - 1).bit_length()
    p3 = 1
    while p3 < best:
        p35 = p3
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 5
        p3 *= 3
    return best


def crop_rows(bank: Tensor, rows: Tensor, starts: Tensor, length: int) -> Tensor:
    """Stretches ``bank[rows[i], starts[i] : starts[i] + length]``, looping rows shorter than that.

    Args:
        bank: ``[n, L]`` segments.
        rows: ``[k]`` row indices (CPU).
        starts: ``[k]`` start samples (CPU); ``start + length <= L`` unless ``L < length``.
        length: samples per stretch.

    Returns:
        ``[k, length]`` on ``bank.device``.
    """
    seg_len = bank.shape[1]
    if seg_len >= length:
        # Plain slices: a [k, length] int64 index tensor for gather would cost more than the copy.
        return torch.stack(
            [bank[r, s : s + length] for r, s in zip(rows.tolist(), starts.tolist())]
        )
    pos = (starts[:, None] + torch.arange(length)[None, :]) % seg_len
    return bank[rows[:, None].to(bank.device), pos.to(bank.device)]


def match_rms(y: Tensor, reference: Tensor) -> Tensor:
    """Rescale each row of ``y`` to the RMS of the same row of ``reference`` (``[B, T]``)."""
    scale = torch.sqrt(power(reference) / power(y).clamp(min=_EPS))
    return y * scale[:, None]


def colored_noise(
    batch: int, length: int, f_decay: Tensor, generator: torch.Generator, device: torch.device
) -> Tensor:
    """Gaussian noise with power spectrum ``1 / f**f_decay`` per row, unit RMS.

    torch-audiomentations' ``AddColoredNoise`` shapes one 1 s noise per example in a Python
    loop and tiles it (a 1 Hz periodicity); this shapes the whole window for all rows in one
    FFT.

    Args:
        batch: number of rows.
        length: samples per row.
        f_decay: ``[batch]`` spectral decay: 0 white, 1 pink, 2 brown, -1 blue.
        generator: CPU generator (a device generator is seeded from it for CUDA).
        device: where to create the noise.

    Returns:
        ``[batch, length]`` float32 noise.
    """
    white = randn((batch, length), generator, device)
    n_bins = length // 2 + 1
    bins = torch.arange(n_bins, device=device).clamp(min=1).float()
    weight = torch.pow(bins[None, :], -f_decay.to(device).float()[:, None] / 2.0)
    shaped = torch.fft.irfft(torch.fft.rfft(white) * weight, n=length)
    return shaped / power(shaped).clamp(min=_EPS).sqrt()[:, None]


def randn(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    """Standard normal numbers drawn reproducibly from a CPU generator, created on ``device``."""
    if torch.device(device).type == "cpu":
        return torch.randn(shape, generator=generator)
    # Drawing on the host and copying would cost a transfer per batch: seed a device generator.
    dev_gen = torch.Generator(device=device)
    dev_gen.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
    return torch.randn(shape, generator=dev_gen, device=device)


def filter_response(
    freqs: Tensor, kind: Tensor, low_hz: Tensor, high_hz: Tensor, order: int = 4
) -> Tensor:
    """Zero-phase Butterworth-shaped magnitude responses, one filter per row.

    Args:
        freqs: ``[F]`` frequencies in Hz.
        kind: ``[B]`` 0 low-pass (cutoff ``high_hz``), 1 high-pass (cutoff ``low_hz``),
            2 band-pass, 3 band-stop (band ``low_hz``..``high_hz``).
        low_hz: ``[B]`` lower cutoff in Hz.
        high_hz: ``[B]`` upper cutoff in Hz.
        order: Butterworth order (``6 * order`` dB per octave).

    Returns:
        ``[B, F]`` gains in [0, 1].
    """
    f = freqs[None, :].clamp(min=1.0)
    lowpass = 1.0 / torch.sqrt(1.0 + (f / high_hz[:, None]) ** (2 * order))
    highpass = 1.0 / torch.sqrt(1.0 + (low_hz[:, None] / f) ** (2 * order))
    kind = kind[:, None]
    bandpass = lowpass * highpass
    return torch.where(
        kind == 0,
        lowpass,
        torch.where(kind == 1, highpass, torch.where(kind == 2, bandpass, 1.0 - bandpass)),
    )


def eq_response(
    freqs: Tensor, gains_db: Tensor, centers_hz: Tensor, width_octaves: float = 1.0
) -> Tensor:
    """Multi-band peaking EQ curve: Gaussian bumps in log-frequency (FWHM ``width_octaves``).

    Args:
        freqs: ``[F]`` frequencies in Hz.
        gains_db: ``[B, K]`` gain of each band in dB.
        centers_hz: ``[K]`` band centres in Hz.
        width_octaves: band width in octaves.

    Returns:
        ``[B, F]`` linear gains.
    """
    log_f = torch.log2(freqs.clamp(min=20.0))
    sigma = width_octaves / 2.3548  # FWHM -> standard deviation
    bumps = torch.exp(
        -0.5 * ((log_f[None, :] - torch.log2(centers_hz.float())[:, None]) / sigma) ** 2
    )
    return torch.pow(10.0, (gains_db.float() @ bumps) / 20.0)


def apply_response(
    x: Tensor,
    sample_rate_hz: int,
    response_fn: Callable[[Tensor], Tensor],
    pad: int = 2048,
    grid: int = 1025,
) -> Tensor:
    """Filter each row by a zero-phase magnitude response in the FFT domain.

    The responses used here are smooth, so their impulse responses are short; ``pad`` zeros
    keep the tail of the last samples from wrapping onto the first ones. For the same reason
    the response is evaluated on ``grid`` frequencies and interpolated linearly to every bin
    (evaluating it per bin cost more than the FFTs).

    Args:
        x: ``[B, T]`` waveforms.
        sample_rate_hz: sample rate of ``x``.
        response_fn: maps ``[F]`` frequencies in Hz (on ``x.device``) to ``[B, F]`` gains.
        pad: zero padding in samples.
        grid: frequencies at which ``response_fn`` is evaluated (0 Hz to Nyquist).

    Returns:
        ``[B, T]`` filtered waveforms.

    Example:
        >>> x = torch.randn(2, 1000)
        >>> y = apply_response(x, 16000, lambda f: torch.ones(2, f.numel()))
        >>> bool(torch.allclose(x, y, atol=1e-5))
        True
    """
    t = x.shape[-1]
    n = _fft_size(t + pad)
    spec = torch.fft.rfft(x.float(), n=n)
    coarse = torch.linspace(0.0, sample_rate_hz / 2.0, grid, device=x.device)
    gains = response_fn(coarse)  # [B, grid]
    gains = torch.nn.functional.interpolate(
        gains[:, None, :], size=spec.shape[-1], mode="linear", align_corners=True
    )
    return torch.fft.irfft(spec * gains[:, 0, :], n=n)[:, :t]


def tanh_distortion(x: Tensor, drive_db: Tensor) -> Tensor:
    """Soft clipping ``tanh(g * x / peak)``, RMS-matched to the input.

    Args:
        x: ``[B, T]`` waveforms.
        drive_db: ``[B]`` drive in dB: 0 dB rounds the peaks slightly, 20 dB clips hard.

    Returns:
        ``[B, T]`` distorted waveforms at the input's RMS.
    """
    peak = x.abs().amax(dim=-1, keepdim=True).clamp(min=_EPS)
    gain = torch.pow(10.0, drive_db / 20.0)[:, None]
    return match_rms(torch.tanh(gain * x / peak), x)


def hard_clip(x: Tensor, drive_db: Tensor) -> Tensor:
    """Full-scale clipping: each row brought to peak 1, driven ``drive_db`` further, clipped at +-1.

    Unlike :func:`tanh_distortion` the level is not restored: a clipped recording is as loud
    as the converter allows, with flattened peaks (real recordings from a close or hot
    microphone look like this).

    Args:
        x: ``[B, T]`` waveforms.
        drive_db: ``[B]`` drive above full scale in dB (0 dB leaves the row peak-normalised).

    Returns:
        ``[B, T]`` waveforms within [-1, 1].
    """
    peak = x.abs().amax(dim=-1, keepdim=True).clamp(min=_EPS)
    gain = torch.pow(10.0, drive_db / 20.0)[:, None]
    return (gain * x / peak).clamp(-1.0, 1.0)


def pitch_shift(
    x: Tensor,
    semitones: Tensor,
    sample_rate_hz: int,
    n_fft: int = 512,
    hop: int = 256,
) -> Tensor:
    """Shift each row's pitch by its own amount, keeping duration and timing.

    A phase vocoder stretches each row in time by ``r = 2 ** (semitones / 12)`` (all rows in one
    batched STFT, reading input frame ``m / r`` for output frame ``m``); resampling by ``r`` then
    restores the duration and multiplies every frequency by ``r``. Output sample ``n`` maps back
    to input time ``n``, so a phrase end stays where placement put it. Bins that would alias
    when shifting up are cleared before resampling.

    Args:
        x: ``[B, T]`` waveforms.
        semitones: ``[B]`` shifts in semitones (positive = higher).
        sample_rate_hz: sample rate (only used to keep the signature explicit).
        n_fft: STFT size.
        hop: STFT hop. 50 % overlap is ≈ 3x faster than the textbook 75 % (hop 128) for a
            slightly smeary result (log-spectral distance of a ±3-semitone round trip on
            speech-like audio: 0.67 vs 0.57); augmentation does not need studio quality.

    Returns:
        ``[B, T]`` pitch-shifted waveforms.
    """
    del sample_rate_hz  # the shift is a ratio; kept for call-site clarity
    t = x.shape[1]
    device = x.device
    ratio = torch.pow(2.0, semitones.to(device).float() / 12.0)  # [B]
    # Time stretch by `ratio` (longer when shifting up), anti-aliased for the resampling below.
    stretched = time_stretch(x, ratio, n_fft, hop, anti_alias=True)  # [B, L]

    # Resample: output sample n reads stretched sample n * r (linear interpolation).
    src = torch.arange(t, device=device)[None, :] * ratio[:, None]
    s0 = src.floor().long().clamp(max=stretched.shape[-1] - 1)
    s1 = (s0 + 1).clamp(max=stretched.shape[-1] - 1)
    w = src - src.floor()
    out = torch.lerp(stretched.gather(1, s0), stretched.gather(1, s1), w)
    return out.to(x.dtype)


def time_stretch(
    x: Tensor, ratio: Tensor, n_fft: int = 512, hop: int = 256, anti_alias: bool = False
) -> Tensor:
    """Stretch each row in time by its own ``ratio`` (> 1: longer, slower), keeping pitch.

    A phase vocoder: all rows in one batched STFT, output frame ``m`` reads input frame
    ``m / ratio`` (magnitudes interpolated, phase advances accumulated per bin).

    Args:
        x: ``[B, T]`` waveforms.
        ratio: ``[B]`` stretch factors (duration multipliers).
        n_fft / hop: STFT size and hop.
        anti_alias: clear the bins that would alias if the result were then resampled by
            ``ratio`` (what :func:`pitch_shift` does).

    Returns:
        ``[B, L]`` with ``L`` for the largest ratio; row ``i`` holds ``~T * ratio[i]`` samples
        of stretched signal, then its last frame repeated (cut the row to its own length).

    Example:
        >>> y = time_stretch(torch.randn(2, 8000), torch.tensor([0.8, 1.25]))
        >>> y.shape[1] >= 1.25 * 8000 - 512
        True
    """
    b = x.shape[0]
    device = x.device
    ratio = ratio.to(device).float()
    window = torch.hann_window(n_fft, device=device)
    spec = torch.stft(x.float(), n_fft, hop, window=window, center=True, return_complex=True)
    n_bins, n_frames = spec.shape[1], spec.shape[2]

    n_out = math.ceil((n_frames - 1) * float(ratio.max())) + 1
    pos = (torch.arange(n_out, device=device)[None, :] / ratio[:, None]).clamp(max=n_frames - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=n_frames - 1)
    frac = (pos - i0)[:, None, :]  # [B, 1, M]
    idx0 = i0[:, None, :].expand(b, n_bins, n_out)
    idx1 = i1[:, None, :].expand(b, n_bins, n_out)
    mag = spec.abs()
    phase = spec.angle()
    mag_out = torch.lerp(mag.gather(2, idx0), mag.gather(2, idx1), frac)
    # Phase advance between the two neighbouring input frames, unwrapped around each bin's
    # expected advance, accumulated over output frames (the classic phase vocoder).
    expected = (2.0 * math.pi * hop / n_fft) * torch.arange(n_bins, device=device)[None, :, None]
    delta = phase.gather(2, idx1) - phase.gather(2, idx0) - expected
    delta = delta - 2.0 * math.pi * torch.round(delta / (2.0 * math.pi)) + expected
    acc = torch.cumsum(delta, dim=2) - delta  # phase at frame m = phase0 + sum of advances < m
    phase_out = phase[:, :, :1] + acc
    if anti_alias:
        # After resampling by r > 1, bin k lands at k * r; clear bins beyond Nyquist.
        keep = (
            torch.arange(n_bins, device=device)[None, :] <= (n_bins - 1) / ratio.clamp(min=1.0)[:, None]
        )
        mag_out = mag_out * keep[:, :, None]
    stretched_spec = torch.polar(mag_out, phase_out)
    return torch.istft(
        stretched_spec, n_fft, hop, window=window, center=True, length=(n_out - 1) * hop
    )
