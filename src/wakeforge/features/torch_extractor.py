"""openWakeWord's feature models ported to torch: batched, on any device, per-clip floor.

The module is built at run time from the two ONNX files (weights read with ``onnx``; nothing is
committed), so it always matches the pinned models. ``onnx2torch`` cannot convert the mel graph
(its Clip has a dynamic minimum) and pulls in torchvision, hence this hand-written port of the
two small graphs:

``melspectrogram.onnx`` (per clip)::

    x[B, T] (int16 range) -> Conv1d STFT, real & imag kernels [257, 1, 512], stride 160
    -> real² + imag² -> @ melW [257, 32] -> clamp(1e-10) -> 10·log10
    -> floor at max - 80 dB -> [B, F, 32],  F = (T - 512)//160 + 1

The ONNX graph takes that max over the whole batch; here it is taken per clip (what
openWakeWord computes, since it runs the model one clip at a time), so batching never couples
clips of different loudness. openWakeWord then rescales ``x / 10 + 2``.

``embedding_model.onnx`` (defined on 76-frame windows taken every 8 frames)::

    [N, 1, 76, 32] -> 20 × (Conv2d with fused batch norm -> LeakyReLU(0.2) -> max(x, -0.4)),
    5 max-pools, last conv without bias/activation -> [N, 96]

Here it runs fully convolutionally over each clip's whole spectrogram (see
:meth:`TorchFeatureExtractor.embed_mels`: exactly the per-window result, ~4x faster), in
channels-last layout (NCHW was 2.4x slower on CPU) and in small chunks of clips.

Example:
    >>> fx = TorchFeatureExtractor()                                   # doctest: +SKIP
    >>> fx(torch.randn(4, 32000) * 0.1).shape                          # doctest: +SKIP
    torch.Size([4, 16, 96])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wakeforge.core.errors import AssetError, WakeforgeError
from wakeforge.features.assets import FeatureModelPaths, feature_model_paths
from wakeforge.features.onnx_extractor import (
    EMBEDDING_DIM,
    INT16_SCALE,
    N_MELS,
    WINDOW_FRAMES,
    WINDOW_STEP,
    min_samples,
    n_frames,
    n_mel_frames,
)

#: Clips per embedding pass on CPU: small chunks keep activations in cache (one thread, 2-s
#: clips: 1 -> 137, 8 -> 177, 64 -> 125 clips/s).
CPU_CHUNK_CLIPS = 8
#: Clips per pass on accelerators; bounds activation memory (~2.5 MB per 2-s clip).
GPU_CHUNK_CLIPS = 1024
#: Mel frames per detector chunk (1280 samples / hop 160) and where the chunk grid starts
#: relative to frame 0 of a clip (frames 8k-4 .. 8k+3 are one chunk; see _chunk_floor).
CHUNK_FRAMES = 8
CHUNK_FRAME_OFFSET = 4
#: Floor modes of the mel front end.
FLOORS = ("chunk", "clip")


def _load_onnx(path: Path) -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return (graph, initializers, Constant-node values) of an ONNX file."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:  # pragma: no cover - onnx is in requirements.txt
        raise AssetError("the torch feature extractor needs `onnx`; pip install onnx") from exc
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf decode errors have many types
        raise AssetError(
            f"{path} is not a readable ONNX file ({exc}); delete it to re-fetch"
        ) from exc
    inits = {i.name: numpy_helper.to_array(i).copy() for i in model.graph.initializer}
    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t).copy()
    return model.graph, inits, consts


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _value(name: str, inits: dict[str, np.ndarray], consts: dict[str, np.ndarray]) -> np.ndarray:
    if name in inits:
        return inits[name]
    return consts[name]


class _MelFrontEnd(nn.Module):
    """Port of ``melspectrogram.onnx`` with a per-chunk or per-clip floor, plus the rescale."""

    def __init__(self, path: Path, floor: str = "chunk") -> None:
        super().__init__()
        if floor not in FLOORS:
            raise WakeforgeError(f"features.floor={floor!r}: use one of {', '.join(FLOORS)}")
        self.floor = floor
        graph, inits, consts = _load_onnx(path)
        convs = [n for n in graph.node if n.op_type == "Conv"]
        matmuls = [n for n in graph.node if n.op_type == "MatMul"]
        clips = [n for n in graph.node if n.op_type == "Clip"]
        reduces = [n for n in graph.node if n.op_type == "ReduceMax"]
        if len(convs) != 2 or len(matmuls) != 1 or len(clips) != 2 or len(reduces) != 1:
            raise AssetError(f"{path} is not openWakeWord's melspectrogram graph; "
                             "delete it so it is fetched again")
        real_w, imag_w = (inits[c.input[1]] for c in convs)  # graph order: real, then imag
        # One Conv1d producing [real; imag] channels halves the passes over the audio.
        self.register_buffer("stft", torch.from_numpy(np.concatenate([real_w, imag_w])).float())
        self.register_buffer("mel_fb", torch.from_numpy(inits[matmuls[0].input[1]]).float())
        self.hop = int(_attrs(convs[0])["strides"][0])
        self.n_bins = int(real_w.shape[0])
        self.amin = float(_value(clips[0].input[1], inits, consts))  # 1e-10 power floor
        # "max - top_db": the Sub right after ReduceMax subtracts the dynamic range (80 dB).
        sub = next(n for n in graph.node
                   if n.op_type == "Sub" and n.input[0] == reduces[0].output[0])
        self.top_db = float(_value(sub.input[1], inits, consts))
        # The graph computes 10*ln(x)/ln(10); written the same way (not log10) to stay within
        # float32 rounding of it.
        self.ln10 = float(np.float32(2.3025851249694824))

    def forward(self, audio: Tensor, warp: Tensor | None = None) -> Tensor:
        """Args: audio ``[B, T]`` float in [-1, 1]; warp: optional ``[B]`` frequency-warp
        factors (see :func:`warp_power`). Returns ``[B, F, 32]`` rescaled log-mel."""
        x = (audio.float() * INT16_SCALE).unsqueeze(1)  # the models expect int16-range values
        spec = F.conv1d(x, self.stft, stride=self.hop)  # [B, 2*257, F]
        real, imag = spec[:, : self.n_bins], spec[:, self.n_bins :]
        power = (real * real + imag * imag).transpose(1, 2)  # [B, F, 257]
        if warp is not None:
            power = warp_power(power, warp)
        mel = torch.matmul(power, self.mel_fb)  # [B, F, 32]
        db = torch.log(mel.clamp_min(self.amin)) * 10.0 / self.ln10
        if self.floor == "chunk":
            return torch.maximum(db, self._chunk_floor(db)) / 10 + 2
        floor = db.amax(dim=(1, 2), keepdim=True) - self.top_db  # per clip, unlike the graph
        db = torch.maximum(db, floor)
        return db / 10 + 2

    def _chunk_floor(self, db: Tensor) -> Tensor:
        """``max - 80 dB`` over each detector chunk's 8 frames, as the streaming detector has it.

        The detector runs the graph on every 80 ms chunk (1280 samples plus 480 of context =
        8 frames), so its floor is per chunk. Frames ``8k - 4 .. 8k + 3`` form one chunk: then
        every 76-frame embedding window (starting at a multiple of 8) ends on a chunk boundary
        and holds 4 frames of one chunk and 9 whole chunks, exactly like the detector's window
        after each chunk. Where a window's loudness range exceeds 80 dB (quiet rooms, digital
        silence next to speech) this differs from a per-clip floor; elsewhere it is the same.
        """
        b, f, m = db.shape
        lead = CHUNK_FRAME_OFFSET
        n = -(-(f + lead) // CHUNK_FRAMES) * CHUNK_FRAMES
        pad = db.new_full((b, n, m), float("-inf"))
        pad[:, lead : lead + f] = db
        peak = pad.view(b, n // CHUNK_FRAMES, CHUNK_FRAMES * m).amax(dim=2)   # [B, G]
        floor = (peak - self.top_db).repeat_interleave(CHUNK_FRAMES, dim=1)[:, lead : lead + f]
        return floor.unsqueeze(-1)


def warp_power(power: Tensor, factors: Tensor) -> Tensor:
    """Vocal-tract length perturbation: each row's spectrum stretched along frequency.

    Bin ``k`` of row ``b`` takes the (linearly interpolated) power at bin ``k / factors[b]``, so a
    factor above 1 moves formants up (a shorter vocal tract) and below 1 down, with pitch and
    timing unchanged -- unlike speed perturbation, which moves all three together (Jaitly &
    Hinton's VTLP; a linear warp, clamped at Nyquist). Factor 1 returns the row unchanged.

    Args:
        power: ``[B, F, K]`` power spectra (K linear frequency bins).
        factors: ``[B]`` warp factors, e.g. drawn from [0.9, 1.1].
    """
    b, f, k = power.shape
    src = torch.arange(k, device=power.device, dtype=power.dtype).view(1, k) / factors.view(b, 1).to(power)
    src = src.clamp(0, k - 1)
    lo = src.floor().long().clamp(max=k - 2)
    w = (src - lo.to(src)).unsqueeze(1)  # [B, 1, K]
    lo = lo.unsqueeze(1).expand(b, f, k)
    return power.gather(2, lo) * (1 - w) + power.gather(2, lo + 1) * w


class _Clamp(nn.Module):
    """``max(x, lo)`` in place: the graph's ``Max`` against a constant after each LeakyReLU.

    In place because the embedding only runs under ``no_grad`` on fresh conv outputs; it saves
    one pass over the activations (~8 % of the embedding time on CPU).
    """

    def __init__(self, lo: float) -> None:
        super().__init__()
        self.lo = lo

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp_min_(self.lo)

    def extra_repr(self) -> str:
        return f"min={self.lo}"


def _build_embedding(path: Path) -> nn.Sequential:
    """Walk ``embedding_model.onnx`` node by node and build the equivalent torch layers."""
    graph, inits, consts = _load_onnx(path)
    layers: list[nn.Module] = []
    for node in graph.node:
        op = node.op_type
        a = _attrs(node)
        if op == "Reshape":
            # [N,76,32,1] -> [N,1,76,32] at the input and [N,96,1,1] -> [N,1,1,96] at the output:
            # done by embed_mels' own layout handling.
            continue
        if op == "Conv":
            w = torch.from_numpy(inits[node.input[1]]).float()
            b = torch.from_numpy(inits[node.input[2]]).float() if len(node.input) > 2 else None
            if int(a.get("group", 1)) != 1 or list(a.get("dilations", [1, 1])) != [1, 1]:
                raise AssetError(f"{path}: unexpected grouped/dilated Conv; delete it to re-fetch")
            pads = list(a.get("pads", [0, 0, 0, 0]))  # [top, left, bottom, right]
            if pads[0] != pads[2] or pads[1] != pads[3] or pads[0] != 0:
                # time (H) must stay unpadded for the fully convolutional evaluation
                raise AssetError(f"{path}: unexpected Conv padding {pads}; delete it to re-fetch")
            conv = nn.Conv2d(
                w.shape[1], w.shape[0], tuple(w.shape[2:]),
                stride=tuple(a.get("strides", [1, 1])), padding=(0, pads[1]), bias=b is not None,
            )
            conv.weight.data.copy_(w)
            if b is not None:
                conv.bias.data.copy_(b)
            layers.append(conv)
        elif op == "LeakyRelu":
            layers.append(nn.LeakyReLU(float(np.float32(a.get("alpha", 0.01))), inplace=True))
        elif op == "Max":
            lo = np.asarray(_value(node.input[1], inits, consts))
            if lo.size != 1:
                raise AssetError(f"{path}: unexpected non-scalar Max; delete it to re-fetch")
            layers.append(_Clamp(float(lo.reshape(()))))
        elif op == "MaxPool":
            if any(a.get("pads", [0, 0, 0, 0])):
                raise AssetError(f"{path}: padded MaxPool not supported; delete it to re-fetch")
            layers.append(nn.MaxPool2d(tuple(a["kernel_shape"]), tuple(a["strides"])))
        else:
            raise AssetError(f"{path}: unexpected op {op} in the embedding graph; "
                             "delete it so it is fetched again")
    seq = nn.Sequential(*layers)
    # The fully convolutional evaluation needs a total time stride equal to the window step.
    time_stride = int(np.prod([m.stride[0] for m in seq if isinstance(m, nn.MaxPool2d)]))
    if time_stride != WINDOW_STEP:
        raise AssetError(f"{path}: time stride {time_stride} != {WINDOW_STEP}; not the "
                         "openWakeWord embedding model, delete it to re-fetch")
    for p in seq.parameters():
        p.requires_grad_(False)  # frozen feature model: never trained
    return seq


class TorchFeatureExtractor(nn.Module):
    """openWakeWord features (audio -> mel -> 96-dim embeddings) as a batched torch module.

    Matches :class:`~wakeforge.features.onnx_extractor.OnnxFeatureExtractor` to ~1e-4 on
    embeddings (unit-tested at <= 1e-3). Move it with ``.to(device)``; its weights never
    require grad and it never builds an autograd graph.

    Args:
        paths: Feature model files; ``None`` fetches/verifies them via
            :func:`~wakeforge.features.assets.feature_model_paths`.
        chunk_clips: Clips per embedding pass; ``None`` picks 8 on CPU and 1024 on
            accelerators at each call.
        channels_last: Run the embedding convs in channels-last layout (2.4x faster than NCHW
            on CPU here).
        floor: ``"chunk"`` (default): the mel model's ``max - 80 dB`` floor per 80 ms chunk,
            as openWakeWord's streaming detector computes it (features equal the detector's);
            ``"clip"``: one floor per clip, as ``AudioFeatures.embed_clips`` batch features.
    """

    def __init__(
        self,
        paths: FeatureModelPaths | None = None,
        chunk_clips: int | None = None,
        channels_last: bool = True,
        floor: str = "chunk",
    ) -> None:
        super().__init__()
        self.paths = paths if paths is not None else feature_model_paths()
        self.mel = _MelFrontEnd(Path(self.paths.melspec_onnx), floor)
        self.embedding = _build_embedding(Path(self.paths.embedding_onnx))
        self.chunk_clips = chunk_clips
        self.channels_last = channels_last
        if channels_last:
            self.embedding.to(memory_format=torch.channels_last)
        self.eval()

    n_frames = staticmethod(n_frames)
    n_mel_frames = staticmethod(n_mel_frames)

    def train(self, mode: bool = True) -> TorchFeatureExtractor:
        # A frozen feature model has no training behaviour; a parent LightningModule calls
        # .train() on its children, so stay in eval either way.
        return super().train(False)

    @property
    def device(self) -> torch.device:
        """Device the weights are on."""
        return self.mel.stft.device

    def _chunk(self, device: torch.device) -> int:
        if self.chunk_clips is not None:
            return max(1, int(self.chunk_clips))
        return CPU_CHUNK_CLIPS if device.type == "cpu" else GPU_CHUNK_CLIPS

    def melspectrogram(self, audio: Tensor, warp: Tensor | None = None) -> Tensor:
        """Rescaled log-mel spectrograms with a per-clip floor.

        Args:
            audio: ``[B, T]`` float in [-1, 1], 16 kHz.
            warp: optional ``[B]`` vocal-tract warp factors (:func:`warp_power`); training only.

        Returns:
            ``[B, F, 32]`` float32, ``F = (T - 512)//160 + 1``.
        """
        with torch.no_grad():
            return self.mel(audio, warp)

    def embed_mels(self, mels: Tensor) -> Tensor:
        """Embeddings of rescaled log-mel spectrograms, all windows of a clip in one pass.

        The embedding graph is "valid" along time (its time kernels are unpadded) and its three
        time-wise max-pools give a total time stride of 8, the window step, so every window
        start (a multiple of 8) is aligned with every pooling grid. Running the convolutions
        over the whole ``F``-frame spectrogram therefore yields exactly the per-window outputs,
        ``(F - 76)//8 + 1`` of them (equal to 0.0 in the tests), without recomputing the ~9.5x
        overlap of 76-frame windows taken every 8 frames.

        Args:
            mels: ``[B, F, 32]`` float32, ``F >= 76`` (``F == 76``: one window per row).

        Returns:
            ``[B, W, 96]`` float32, ``W = (F - 76)//8 + 1``.
        """
        if mels.dim() != 3 or mels.shape[-1] != N_MELS or mels.shape[1] < WINDOW_FRAMES:
            raise WakeforgeError(
                f"mel input has shape {tuple(mels.shape)}; "
                f"expected [B, F >= {WINDOW_FRAMES}, {N_MELS}]"
            )
        with torch.no_grad():
            b, f, _ = mels.shape
            w = (f - WINDOW_FRAMES) // WINDOW_STEP + 1
            x = mels.float().unsqueeze(1)  # [B, 1, F, 32]: time = H, mel = W, as in the graph
            out = x.new_empty((b, w, EMBEDDING_DIM))
            step = self._chunk(mels.device)
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            for s in range(0, b, step):
                y = self.embedding(x[s : s + step].contiguous(memory_format=fmt))  # [b,96,W',1]
                out[s : s + step] = y[:, :, :w, 0].transpose(1, 2)
            return out

    def forward(self, audio: Tensor, warp: Tensor | None = None) -> Tensor:
        """openWakeWord features of a batch of equal-length clips.

        Runs under ``torch.no_grad`` (not ``inference_mode``, so that the result can feed a
        head that is being trained).

        Args:
            audio: ``[B, T]`` float in [-1, 1] at 16 kHz on the module's device,
                ``T >= 12512`` (2 s = 32000 samples gives 16 frames).
            warp: optional ``[B]`` vocal-tract warp factors (augmentation; ``None`` = the
                detector's features).

        Returns:
            ``[B, n_frames(T), 96]`` float32 on the same device.
        """
        if audio.dim() != 2:
            raise WakeforgeError(
                f"audio has shape {tuple(audio.shape)}; expected [B, T] equal-length clips"
            )
        if audio.shape[1] < min_samples():
            raise WakeforgeError(
                f"clips of {audio.shape[1]} samples are too short for one feature frame; use at "
                f"least {min_samples()} samples ({min_samples() / 16000:.2f} s) at 16 kHz"
            )
        return self.embed_mels(self.melspectrogram(audio, warp))

    @torch.inference_mode()
    def extract(self, audio: np.ndarray | Tensor, batch_size: int = 256) -> np.ndarray:
        """NumPy convenience: features of clips, ``batch_size`` clips per forward pass.

        Args:
            audio: ``[N, T]`` int16, or float in [-1, 1].
            batch_size: Clips per forward pass (bounds memory: ~3 MB per 2-s clip on CPU).

        Returns:
            ``[N, n_frames(T), 96]`` float32 NumPy array.
        """
        if isinstance(audio, np.ndarray):
            if audio.dtype == np.int16:
                audio = audio.astype(np.float32) / INT16_SCALE
            audio = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
        if audio.dim() != 2:
            raise WakeforgeError(f"audio has shape {tuple(audio.shape)}; expected [N, T]")
        n = audio.shape[0]
        out = np.empty((n, n_frames(audio.shape[1]), EMBEDDING_DIM), np.float32)
        step = max(1, int(batch_size))
        for s in range(0, n, step):
            out[s : s + step] = self(audio[s : s + step].to(self.device)).cpu().numpy()
        return out

    def extra_repr(self) -> str:
        return f"chunk_clips={self.chunk_clips}, channels_last={self.channels_last}"
