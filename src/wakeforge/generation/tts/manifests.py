"""Where clips live on disk: manifests (resume, shards) and real recordings of the phrase.

Each split folder holds ``NNNNNN.wav`` (synthetic) and ``real_<hash>.wav`` (recordings) plus
``manifest.jsonl`` (``manifest.shard{i}of{n}.jsonl`` while a shard runs): one JSON record per
finished clip. :func:`reconcile_split` decides what a rerun can keep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.errors import ConfigError
from wakeforge.utils.atomic import Manifest, clean_stale_tmp, write_text_atomic

log = logging.getLogger(__name__)

#: Share of real recordings (``data.positive_paths``) that go to ``positive_test``.
REAL_TEST_FRACTION = 0.2
CLIP_RE = re.compile(r"^(\d{6}|real_[0-9a-f]{12})\.wav$")


def real_recordings(paths: Sequence[str]) -> list[tuple[str, Path, str]]:
    """``(key, file, split)`` for every audio file under ``positive_paths`` (80/20 by hash)."""
    from wakeforge.audio.io import list_audio_files

    files: list[Path] = []
    for p in paths:
        root = Path(os.path.expanduser(p))
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            found = list_audio_files(root)
            if not found:
                log.warning("data.positive_paths: no audio files in %s", root)
            files += found
        else:
            raise ConfigError(
                f"data.positive_paths: {root} does not exist; fix the path or remove it"
            )
    import soundfile as sf

    items = []
    unreadable = []
    for f in sorted(set(files)):
        try:  # undecodable files must not take a train/test slot
            sf.info(str(f))
        except Exception:
            unreadable.append(f.name)
            continue
        digest = hashlib.sha1(str(f.resolve()).encode()).hexdigest()
        items.append((f"real_{digest[:12]}", f, digest))
    if unreadable:
        log.warning("data.positive_paths: skipped %d unreadable file(s): %s", len(unreadable), ", ".join(unreadable[:5]))
    ranked = sorted(items, key=lambda t: t[2])
    n_test = round(REAL_TEST_FRACTION * len(items)) if len(items) >= 2 else 0
    test_keys = {k for k, _, _ in ranked[:n_test]}
    return [(k, f, "positive_test" if k in test_keys else "positive_train") for k, f, _ in items]


def process_real(
    key: str,
    path: Path,
    out_dir: Path,
    *,
    text: str,
    min_s: float,
    max_s: float,
    spec_id: str,
) -> dict[str, Any] | None:
    """Load, trim and check one recording; write ``out_dir/{key}.wav`` and return its record.

    Returns None (with a warning) for unreadable recordings or ones outside ``[min_s, max_s]``.
    """
    from wakeforge.audio.io import load_audio, write_wav
    from wakeforge.core.errors import AudioError
    from wakeforge.generation.tts.perturb import dither_to_int16, normalize_peak, trim_silence

    try:
        audio = load_audio(path)
    except AudioError as exc:
        log.warning("skipping real recording: %s", exc)
        return None
    y = trim_silence(audio, SAMPLE_RATE_HZ)
    dur = len(y) / SAMPLE_RATE_HZ
    if not min_s <= dur <= max_s:
        log.warning(
            "skipping real recording %s: %.2f s after trimming silence (allowed %.2f-%.2f s)",
            path,
            dur,
            min_s,
            max_s,
        )
        return None
    pcm = dither_to_int16(normalize_peak(y), np.random.default_rng(int(key[5:13], 16)))
    write_wav(out_dir / f"{key}.wav", pcm, SAMPLE_RATE_HZ)
    return {
        "key": key,
        "file": f"{key}.wav",
        "split": out_dir.name,
        "source": "real",
        "kind": "positive",
        "text": text,
        "engine": "recording",
        "voice": str(path),
        "voice_setting": f"recording:{path.parent.name}",
        "duration_s": round(dur, 4),
        "num_samples": len(pcm),
        "rejected": 0,
        "spec_id": spec_id,
    }


def real_spec_id(path: Path, *extra: object) -> str:
    """Fingerprint of a recording (path, size, mtime) and the settings that shape its clip."""
    st = path.stat()
    payload = "|".join(str(x) for x in (path.resolve(), st.st_size, st.st_mtime_ns, *extra))
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def manifest_name(shard: tuple[int, int] | None) -> str:
    return "manifest.jsonl" if shard is None else f"manifest.shard{shard[0]}of{shard[1]}.jsonl"


def wav_frames(path: Path) -> int:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - any unreadable file is redone
        return -1
    if info.samplerate != SAMPLE_RATE_HZ or info.channels != 1:
        return -1
    return int(info.frames)


def reconcile_split(
    split_dir: Path, planned: Mapping[str, str], shard: tuple[int, int] | None
) -> dict[str, dict[str, Any]]:
    """Valid finished clips of one split, keyed by clip key; tidies the folder.

    A clip counts as done when a manifest (any shard's) has a record whose ``spec_id`` matches
    the plan and whose WAV exists with the recorded length. Temp files, WAVs no longer planned
    and their records are removed; this run's manifest is rewritten compacted (an unsharded
    run merges every shard's manifest into ``manifest.jsonl``).
    """
    split_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(split_dir)
    records: dict[str, dict[str, Any]] = {}
    manifests = sorted(split_dir.glob("manifest*.jsonl"))
    for mpath in manifests:
        for rec in Manifest(mpath).records():
            key = str(rec.get("key", ""))
            if key in planned and rec.get("spec_id") == planned[key]:
                records[key] = rec
    done: dict[str, dict[str, Any]] = {}
    for key, rec in records.items():
        if wav_frames(split_dir / rec["file"]) == int(rec.get("num_samples", -2)):
            done[key] = rec
    for wav in split_dir.glob("*.wav"):
        if CLIP_RE.match(wav.name) and wav.stem not in planned:
            wav.unlink(missing_ok=True)
    own = split_dir / manifest_name(shard)
    if shard is None:
        keep = [done[k] for k in sorted(done)]
        write_text_atomic(own, "".join(json.dumps(r) + "\n" for r in keep))
        for mpath in manifests:
            if mpath.name != own.name:
                mpath.unlink(missing_ok=True)
    else:
        mine = {str(r.get("key")) for r in Manifest(own).records()}
        keep = [done[k] for k in sorted(done) if k in mine]
        write_text_atomic(own, "".join(json.dumps(r) + "\n" for r in keep))
    return done
