"""The torch port matches the onnxruntime reference and is batch-independent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wakeforge.core.errors import WakeforgeError

from ._audio import chirp, make_clips

PARITY_TOL = 1e-3
#: Near-pure tones over a -60 dB floor fill the whole 80 dB mel range; the STFT bins near the
#: floor are then float32 cancellation noise in *both* implementations (a float64 STFT in torch
#: does not get closer to onnxruntime), measured up to ~1.2e-3 on embeddings of magnitude ~12.
PURE_TONE_TOL = 3e-3


def test_parity_with_onnx(torch_extractor, onnx_extractor, clips_2s, record_property):
    """Speech-like, noise and chirp clips at -60..-1 dBFS, all in one torch batch."""
    ref = onnx_extractor.embed_clips(clips_2s)
    with torch.inference_mode():
        got = torch_extractor(torch.from_numpy(clips_2s)).numpy()
    assert got.shape == ref.shape == (len(clips_2s), 16, 96)
    diff = float(np.abs(got - ref).max())
    record_property("max_abs_diff_torch_vs_onnx", diff)
    print(f"torch vs onnx embeddings: max abs diff {diff:.3g} "
          f"(typical |x| {np.abs(ref).mean():.3g})")
    assert diff <= PARITY_TOL


def test_parity_on_pure_tones(torch_extractor, onnx_extractor, record_property):
    rng = np.random.default_rng(7)
    clips = np.stack([chirp(rng, 32000, noise_floor=1e-3) * 10 ** (db / 20)
                      for db in (-50, -30, -10, -1)]).astype(np.float32)
    diff = float(np.abs(torch_extractor.extract(clips) - onnx_extractor.embed_clips(clips)).max())
    record_property("max_abs_diff_pure_tone", diff)
    print(f"torch vs onnx on pure-tone chirps: max abs diff {diff:.3g}")
    assert diff <= PURE_TONE_TOL


def test_parity_of_reference_head_scores(torch_extractor, onnx_extractor, clips_2s):
    import onnxruntime as ort

    from wakeforge.features.assets import reference_model_path

    head = ort.InferenceSession(str(reference_model_path("hey_jarvis")),
                                providers=["CPUExecutionProvider"])
    name = head.get_inputs()[0].name
    ref = onnx_extractor.embed_clips(clips_2s[:6])
    got = torch_extractor.extract(clips_2s[:6])
    s_ref = np.array([head.run(None, {name: f[None]})[0].item() for f in ref])
    s_got = np.array([head.run(None, {name: f[None]})[0].item() for f in got])
    assert np.abs(s_ref - s_got).max() <= 1e-4


def test_floor_is_per_clip(torch_extractor):
    """A loud clip in the batch must not change a quiet clip's features (ONNX's floor would)."""
    clips = make_clips(4, 2.0, seed=3)
    clips[0] *= 1e-3 / np.abs(clips[0]).max()
    clips[1] *= 0.9 / np.abs(clips[1]).max()
    x = torch.from_numpy(clips)
    together = torch_extractor(x)
    alone = torch.cat([torch_extractor(x[i : i + 1]) for i in range(len(clips))])
    # float rounding of different GEMM shapes only; a batch-wide floor would differ by >> 1
    assert (together - alone).abs().max().item() <= 1e-4


@pytest.mark.parametrize("seconds", [1.0, 3.0])
def test_shapes_follow_n_frames(torch_extractor, onnx_extractor, seconds):
    clips = make_clips(3, seconds, seed=4)
    got = torch_extractor(torch.from_numpy(clips))
    assert got.shape == (3, torch_extractor.n_frames(clips.shape[1]), 96)
    assert np.abs(got.numpy() - onnx_extractor.embed_clips(clips)).max() <= PARITY_TOL


def test_chunk_size_and_layout_do_not_change_results(feature_paths, clips_2s):
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    x = torch.from_numpy(clips_2s[:3])
    a = TorchFeatureExtractor(feature_paths, chunk_clips=1)(x)
    b = TorchFeatureExtractor(feature_paths, chunk_clips=1000, channels_last=False)(x)
    assert (a - b).abs().max().item() <= 1e-4


def test_fully_convolutional_equals_per_window(torch_extractor, clips_2s):
    """One pass over the whole spectrogram = the graph applied to each 76-frame window."""
    mels = torch_extractor.melspectrogram(torch.from_numpy(clips_2s[:2]))  # [2, 197, 32]
    full = torch_extractor.embed_mels(mels)
    windows = mels.unfold(1, 76, 8).transpose(2, 3)  # [2, 16, 76, 32]
    per_window = torch_extractor.embed_mels(windows.reshape(-1, 76, 32)).reshape(full.shape)
    assert (full - per_window).abs().max().item() <= 1e-5


def test_frozen_and_gradient_free(torch_extractor, clips_2s):
    assert all(not p.requires_grad for p in torch_extractor.parameters())
    torch_extractor.train()
    assert not torch_extractor.training
    out = torch_extractor(torch.from_numpy(clips_2s[:1]).requires_grad_(True))
    assert not out.requires_grad
    # the output can feed a head that is being trained (no inference-mode tensors)
    head = torch.nn.Linear(96, 1)
    head(out).sum().backward()
    assert head.weight.grad is not None


def test_bad_input(torch_extractor):
    with pytest.raises(WakeforgeError, match="too short"):
        torch_extractor(torch.zeros(1, 8000))
    with pytest.raises(WakeforgeError, match=r"\[B, T\]"):
        torch_extractor(torch.zeros(32000))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_parity(feature_paths, onnx_extractor, clips_2s):
    from wakeforge.features.torch_extractor import TorchFeatureExtractor

    fx = TorchFeatureExtractor(feature_paths).to("cuda")
    torch.backends.cudnn.allow_tf32 = False
    got = fx(torch.from_numpy(clips_2s).cuda()).cpu().numpy()
    assert np.abs(got - onnx_extractor.embed_clips(clips_2s)).max() <= PARITY_TOL
