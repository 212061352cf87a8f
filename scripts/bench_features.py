#!/usr/bin/env python
"""Benchmark openWakeWord feature extraction: openWakeWord itself vs wakeforge's extractors.

Times, on the same N synthetic 2-s clips in one run:

* ``openwakeword.utils.AudioFeatures.embed_clips`` (onnx, ``ncpu`` threads) - the baseline,
* :class:`wakeforge.features.OnnxFeatureExtractor` (plain onnxruntime, same models),
* :class:`wakeforge.features.TorchFeatureExtractor` on CPU (``torch.set_num_threads``), and on
  CUDA when available,

and prints clips/s, the speed ratio to the baseline and the max abs difference of each result
to the baseline's features.

Usage::

    python scripts/bench_features.py --n 200 [--threads 1] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

SR = 16_000


def synth_clips(n: int, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Speech-like harmonic bursts over noise at random levels.

    Returns:
        ``[n, seconds * 16000]`` int16.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = np.empty((n, t.size), np.int16)
    for i in range(n):
        f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(k * phase) / k for k in range(1, 12))
        x *= np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, None)
        level, floor = 10 ** rng.uniform(-2.5, -0.3), 10 ** rng.uniform(-3.5, -2)
        x = x / np.abs(x).max() * level + rng.normal(0, floor, t.size)
        out[i] = np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="number of 2-s clips")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for every runner")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per runner (after warm-up)")
    ap.add_argument("--no-cuda", action="store_true", help="skip the CUDA run")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)

    import torch
    from openwakeword.utils import AudioFeatures

    from wakeforge.features import OnnxFeatureExtractor, TorchFeatureExtractor, feature_model_paths

    torch.set_num_threads(args.threads)
    paths = feature_model_paths()
    clips = synth_clips(args.n)
    clips_f32 = clips.astype(np.float32) / 32767.0

    oww = AudioFeatures(
        melspec_model_path=str(paths.melspec_onnx),
        embedding_model_path=str(paths.embedding_onnx),
        inference_framework="onnx",
        ncpu=args.threads,
    )
    onnx_fx = OnnxFeatureExtractor(paths, ncpu=args.threads)
    onnx_win = OnnxFeatureExtractor(paths, ncpu=args.threads, fully_convolutional=False)
    torch_fx = TorchFeatureExtractor(paths)

    runners: list[tuple[str, Callable[[], np.ndarray]]] = [
        (f"openwakeword AudioFeatures.embed_clips (onnx, {args.threads} thr)",
         lambda: oww.embed_clips(clips, batch_size=128, ncpu=args.threads)),
        (f"wakeforge OnnxFeatureExtractor per-window ({args.threads} thr)",
         lambda: onnx_win.embed_clips(clips)),
        (f"wakeforge OnnxFeatureExtractor ({args.threads} thr)",
         lambda: onnx_fx.embed_clips(clips)),
        (f"wakeforge TorchFeatureExtractor cpu ({args.threads} thr)",
         lambda: torch_fx.extract(clips_f32, batch_size=64)),
    ]
    if torch.cuda.is_available() and not args.no_cuda:
        gpu_fx = TorchFeatureExtractor(paths).to("cuda")
        on_gpu = torch.from_numpy(clips_f32).cuda()

        def run_gpu() -> np.ndarray:
            with torch.inference_mode():
                out = gpu_fx(on_gpu)
            torch.cuda.synchronize()
            return out.cpu().numpy()

        def run_gpu_from_host() -> np.ndarray:
            return gpu_fx.extract(clips_f32, batch_size=1024)

        name = torch.cuda.get_device_name(0)
        runners.append((f"wakeforge TorchFeatureExtractor cuda ({name}, audio on GPU)", run_gpu))
        runners.append((f"wakeforge TorchFeatureExtractor cuda ({name}, from host)",
                        run_gpu_from_host))

    print(f"{args.n} clips x 2 s, {args.threads} CPU thread(s), best/median of {args.repeats} "
          f"runs after a warm-up; torch {torch.__version__}")
    # Warm up every runner, then time them round-robin so that load from other processes on a
    # shared machine hits all runners alike; report the best and the median round.
    outputs = [fn() for _, fn in runners]
    times: list[list[float]] = [[] for _ in runners]
    for _ in range(args.repeats):
        for i, (_, fn) in enumerate(runners):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    baseline = outputs[0]
    base_rate = args.n / min(times[0])
    results = []
    for (name, _), out, ts in zip(runners, outputs, times, strict=True):
        rate, med_rate = args.n / min(ts), args.n / statistics.median(ts)
        diff = float(np.abs(out - baseline).max())
        results.append({"runner": name, "clips_per_s_best": rate, "clips_per_s_median": med_rate,
                        "ratio_to_openwakeword": rate / base_rate, "max_abs_diff": diff})
        print(f"  {name:<62} {rate:8.1f} clips/s (median {med_rate:7.1f})  "
              f"x{rate / base_rate:5.2f}  max|diff| {diff:.2g}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"n": args.n, "threads": args.threads, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
