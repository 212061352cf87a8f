"""Which real recordings a head misses, and which transform of them it would hear.

    python scripts/real_clip_transforms.py MODEL.onnx FOLDER [--limit N] [--only id,tempo0.85,...]

Scores every clip of FOLDER (one utterance per file, e.g. ../shared/realworld-dev/positives/
computer) as recorded and transformed: `speedF` (resampled: rate, pitch and formants together),
`tempoF` (rate only), `pitch+S` / `pitch-S` (semitones, rate kept), `formantF`, `gain±dB`. A
transform that raises recall points at what the training clips lack (measured on the default
"computer" head: tempo0.85 raised recall at 0.5 from 0.650 to 0.781, formant0.9 to 0.679).
Prints recall at 0.5 and 0.1 per transform and recall by the clip's median pitch.

For diagnosis only: it scores whole-clip features (OnnxFeatureExtractor, one pass per clip, 1 s
of -70 dBFS noise before each clip), not the detector's streaming path, so compare its rows with
each other, never with `python -m wakeforge.benchmark`. It reads the folder; it trains nothing.
"""

from __future__ import annotations

import argparse
import glob

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("folder")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--only", default="id,speed0.85,speed1.15,tempo0.85,tempo1.15,pitch-2.8,pitch+2.8,formant0.9,formant1.1")
    args = ap.parse_args()

    import onnxruntime as ort
    import soundfile as sf
    import torch
    from scipy.signal import resample_poly

    from wakeforge.augment.dsp import pitch_shift
    from wakeforge.features.onnx_extractor import OnnxFeatureExtractor
    from wakeforge.generation.tts.perturb import warp_formants

    sr = 16000
    ext = OnnxFeatureExtractor()
    sess = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    n_in = int(sess.get_inputs()[0].shape[1])
    rng = np.random.default_rng(0)
    length = int(5.6 * sr)

    def prep(a: np.ndarray) -> np.ndarray:
        out = rng.normal(0, 10 ** (-70 / 20), length).astype(np.float32)
        n = min(len(a), length - sr)
        out[sr : sr + n] += a[:n]
        return out

    def score(batch: list[np.ndarray]) -> np.ndarray:
        feats = ext.embed_clips(np.stack(batch) * 32767.0)
        best = []
        for f in feats:
            w = np.stack([f[i : i + n_in] for i in range(f.shape[0] - n_in + 1)]).astype(np.float32)
            best.append(max(float(sess.run(None, {iname: w[i : i + 1]})[0].ravel()[0]) for i in range(len(w))))
        return np.array(best)

    def speed(a: np.ndarray, fac: float) -> np.ndarray:  # fac > 1: faster, higher
        return resample_poly(a, 100, int(round(100 * fac))).astype(np.float32)

    def shift(a: np.ndarray, semis: float) -> np.ndarray:
        return pitch_shift(torch.from_numpy(a)[None], torch.tensor([float(semis)]), sr)[0].numpy()

    def transform(name: str):
        if name == "id":
            return lambda a: a
        for prefix, fn in (("speed", lambda v: lambda a: speed(a, v)),
                           ("tempo", lambda v: lambda a: shift(speed(a, v), -12 * np.log2(v))),
                           ("pitch", lambda v: lambda a: shift(a, v)),
                           ("formant", lambda v: lambda a: warp_formants(a, v)),
                           ("gain", lambda v: lambda a: np.clip(a * 10 ** (v / 20), -1, 1))):
            if name.startswith(prefix):
                return fn(float(name[len(prefix):]))
        raise SystemExit(f"error: unknown transform {name!r}; use id, speedF, tempoF, pitch±S, formantF, gain±dB")

    def f0(a: np.ndarray) -> float:
        fr = a[: len(a) // 640 * 640].reshape(-1, 640)
        e = (fr ** 2).mean(1)
        vals = []
        for x in fr[e > e.max() * 0.1]:
            x = x - x.mean()
            ac = np.correlate(x, x, "full")[639:]
            k = sr // 400 + int(np.argmax(ac[sr // 400 : sr // 70]))
            if ac[k] > 0.4 * ac[0]:
                vals.append(sr / k)
        return float(np.median(vals)) if vals else float("nan")

    files = sorted(glob.glob(f"{args.folder}/*"))[: args.limit]
    clips = []
    for path in files:
        a, file_sr = sf.read(path, dtype="float32")
        a = a.mean(1) if a.ndim > 1 else a
        if file_sr != sr:
            raise SystemExit(f"error: {path} is {file_sr} Hz; this script reads 16 kHz files")
        clips.append(a)
    scores = {}
    for name in args.only.split(","):
        t = transform(name)
        scores[name] = score([prep(t(a)) for a in clips])
        s = scores[name]
        print(f"{name:12s} recall@0.5 {np.mean(s >= 0.5):.3f}  @0.1 {np.mean(s >= 0.1):.3f}  median {np.median(s):.3f}", flush=True)
    if "id" in scores:
        pitch = np.array([f0(a) for a in clips])
        for lo, hi in ((60, 120), (120, 170), (170, 220), (220, 400)):
            m = (pitch >= lo) & (pitch < hi)
            if m.any():
                print(f"median F0 {lo}-{hi} Hz: {m.sum()} clips, recall@0.5 {np.mean(scores['id'][m] >= 0.5):.2f}")


if __name__ == "__main__":
    main()
