"""Compare two finished runs: same clips, same feature rows, same model card keys?

    python scripts/compare_runs.py RUN_A/WORK_DIR RUN_B/WORK_DIR

WORK_DIR is a run's ``{output_dir}/{model_name}`` folder. Used to check that a refactor keeps
behaviour identical (issue #15): run ``python -m wakeforge.train experiment=smoke
paths.root_dir=...`` before and after, then compare. Compared:

* stage 1's clip manifests (every record's file name, text, kind, voice, prosody, length;
  timings and paths left out); the WAV bytes are compared too but only reported: espeak-ng's
  breathy variants (whisper, ...) add unseeded noise, so a few clips differ between two runs
  of the same code;
* stage 2's feature row counts (``features/manifest.json``);
* the model card's keys (``{model_name}.json``, two levels deep).

Exits 1 and prints each difference when the runs differ, else prints one ``same:`` line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

#: Manifest fields that legitimately differ between two runs of the same config.
VOLATILE = {"seconds", "elapsed_s", "created", "time", "path", "worker", "pid"}


def clip_records(work: Path) -> dict[str, dict]:
    out = {}
    for manifest in sorted(work.glob("*/manifest.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            key = f"{manifest.parent.name}/{rec.get('file')}"
            out[key] = {k: v for k, v in rec.items() if k not in VOLATILE}
    return out


def clip_digests(work: Path) -> dict[str, str]:
    out = {}
    for wav in sorted(work.glob("*/*.wav")):
        out[f"{wav.parent.name}/{wav.name}"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    return out


def feature_rows(work: Path) -> dict[str, int]:
    """``{file: rows}``. (The manifest's fingerprints also hash each clip's mtime, so they differ
    between any two runs; resuming an earlier run in place is what shows they still match.)"""
    manifest = work / "features" / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    return {k: int(v.get("rows", -1)) if isinstance(v, dict) else -1 for k, v in data.items()}


def card_keys(work: Path) -> list[str]:
    card = work / f"{work.name}.json"
    data = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}
    keys = []
    for k, v in data.items():
        keys.append(k)
        if isinstance(v, dict):
            keys += [f"{k}.{kk}" for kk in v]
    return sorted(keys)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = (Path(x) for x in argv)
    diffs = []
    ca, cb = clip_records(a), clip_records(b)
    if not ca:
        diffs.append(f"no clip manifests under {a}")
    for key in sorted(set(ca) | set(cb)):
        if ca.get(key) != cb.get(key):
            diffs.append(f"clip {key}: {ca.get(key)} != {cb.get(key)}")
    da, db = clip_digests(a), clip_digests(b)
    audio = sorted(k for k in set(da) & set(db) if da[k] != db[k])
    if audio:
        engines = sorted({f"{ca.get(k, {}).get('engine')}:{ca.get(k, {}).get('voice')}" for k in audio})
        print(f"note: audio bytes differ in {len(audio)} of {len(da)} clips (voices {', '.join(engines)}); "
              "records, lengths and texts are compared strictly")
    fa, fb = feature_rows(a), feature_rows(b)
    if fa != fb:
        diffs.append(f"feature rows: {fa} != {fb}")
    ka, kb = card_keys(a), card_keys(b)
    if ka != kb:
        diffs.append(f"card keys only in A: {sorted(set(ka) - set(kb))}; only in B: {sorted(set(kb) - set(ka))}")
    for d in diffs[:40]:
        print(d)
    if diffs:
        print(f"{len(diffs)} difference(s)")
        return 1
    print(f"same: {len(ca)} clip records, {len(da) - len(audio)} of {len(da)} WAVs byte-identical, feature rows {fa}, {len(ka)} card keys")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
