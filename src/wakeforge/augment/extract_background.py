"""Convert Hugging Face-style Parquet audio to 16 kHz mono WAVs for the background bank.

Usage (argparse, no Hydra: it is a one-off converter, and ``--help`` answers instantly)::

    python -m wakeforge.augment.extract_background                       # default folders
    python -m wakeforge.augment.extract_background /data/audioset/*.parquet
    python -m wakeforge.augment.extract_background IN_DIR --output OUT_DIR --column audio

Inputs are Parquet files or folders searched recursively for ``*.parquet``; the default is
``{training_data_dir}/background_clips``. Output goes to ``{training_data_dir}/background_clips/wav``
unless ``--output`` is given; ``training_data_dir`` is ``paths.training_data_dir`` from
``conf/paths/default.yaml`` (``$WAKEFORGE_ROOT/data/training-data``), or ``--training-data-dir``.
Point ``augmentation.background_paths`` at the output folder afterwards.

The audio column (``--column``, default: the first column that looks like audio) may hold
``{bytes, path}`` structs (Hugging Face ``Audio`` in storage form: any format libsndfile reads;
``path`` is used when ``bytes`` is null), ``{array, sampling_rate}`` structs (decoded form) or
plain binary. Any rate and channel count: rows are mixed to mono and resampled to 16 kHz.

Files are read one record batch at a time (``ParquetFile.iter_batches``), so memory stays at a
few rows. Each WAV is written atomically and then recorded in ``{output}/manifest.jsonl``; a
rerun skips rows already done (and files entirely done without reading them). Rows that cannot
be decoded, or are silent, are reported one line each, recorded as failed (not retried), and
counted in the closing summary line.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.errors import AudioError, ConfigError, cli_entry

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
#: Rows decoded per record batch: audio rows can be minutes long, keep batches small.
DEFAULT_BATCH_ROWS = 16


@dataclass
class ExtractionSummary:
    """What one run did (rows)."""

    total_rows: int = 0
    written: int = 0
    already_done: int = 0
    failed: int = 0
    failed_before: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"extract_background: {self.written} WAVs written ({_duration(self.seconds)} of audio), "
            f"{self.already_done} already done, {self.failed} corrupt/silent rows skipped"
            + (f" (+{self.failed_before} from earlier runs)" if self.failed_before else "")
            + f", {self.total_rows} rows in all"
        )


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def default_training_data_dir() -> Path:
    """``paths.training_data_dir`` as ``conf/paths/default.yaml`` resolves it (no Hydra needed)."""
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[3] / "conf" / "paths" / "default.yaml"
    if not conf.is_file():  # installed without the repo's conf/: the same default by hand
        return Path(os.environ.get("WAKEFORGE_ROOT", ".")) / "data" / "training-data"
    cfg = OmegaConf.create({"paths": OmegaConf.load(conf)})
    return Path(str(cfg.paths.training_data_dir))


def find_parquet_files(inputs: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """``(file, label)`` for every Parquet file; labels are unique, filesystem-safe names.

    The label is the path relative to the input folder (``train/0000.parquet`` ->
    ``train__0000``), so Hugging Face layouts with equal file names per split do not collide.
    """
    found: list[tuple[Path, str]] = []
    for entry in inputs:
        root = Path(entry).expanduser()
        if root.is_dir():
            for f in sorted(root.rglob("*.parquet")):
                found.append((f, _safe(f.relative_to(root).with_suffix(""))))
        elif root.is_file():
            found.append((root, _safe(Path(root.stem))))
        else:
            raise ConfigError(
                f"{root} does not exist; pass Parquet files or folders that hold them"
            )
    labels = [label for _, label in found]
    if len(set(labels)) != len(labels):
        raise ConfigError(
            "two input Parquet files map to the same output name; pass them as one folder"
        )
    return found


def _safe(rel: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(rel.parts)).strip("_") or "parquet"


def find_audio_column(schema: Any, wanted: str | None = None) -> str:
    """Name of the column holding audio in a pyarrow schema.

    Raises:
        ConfigError: ``wanted`` is missing, or no column looks like audio.
    """
    import pyarrow as pa

    names = list(schema.names)
    if wanted:
        if wanted not in names:
            raise ConfigError(
                f"no column {wanted!r} in the Parquet file (columns: {names}); fix --column"
            )
        return wanted
    for name in names:
        typ = schema.field(name).type
        if pa.types.is_struct(typ):
            sub = {typ.field(i).name for i in range(typ.num_fields)}
            if "bytes" in sub or {"array", "sampling_rate"} <= sub:
                return name
    for name in names:
        if pa.types.is_binary(schema.field(name).type) or pa.types.is_large_binary(
            schema.field(name).type
        ):
            return name
    raise ConfigError(f"no audio column found (columns: {names}); pass --column NAME")


def decode_row(
    value: Any, label: str, parquet_dir: Path, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> np.ndarray:
    """Decode one cell of the audio column to mono float32 at ``sample_rate_hz``.

    Raises:
        AudioError: the cell holds no audio, or audio that cannot be decoded or is silent.
    """
    from wakeforge.audio.io import decode_audio, from_array

    if value is None:
        raise AudioError(f"{label}: empty cell")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return decode_audio(bytes(value), sample_rate_hz, name=label)
    if isinstance(value, dict):
        if value.get("bytes"):
            return decode_audio(value["bytes"], sample_rate_hz, name=label)
        if value.get("array") is not None and value.get("sampling_rate"):
            arr = np.asarray(value["array"], dtype=np.float32)
            if arr.size == 0:
                raise AudioError(f"{label}: audio is empty (0 samples)")
            return from_array(arr, int(value["sampling_rate"]), sample_rate_hz, name=label)
        path = value.get("path")
        if path:
            candidate = Path(path) if Path(path).is_absolute() else parquet_dir / path
            if candidate.is_file():
                return decode_audio(candidate, sample_rate_hz, name=label)
            raise AudioError(
                f"{label}: no audio bytes and {path!r} is not a file next to the Parquet"
            )
    raise AudioError(f"{label}: cell holds no audio bytes or array")


def _iter_rows(path: Path, column: str | None, batch_rows: int) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    col = find_audio_column(pf.schema_arrow, column)
    row = 0
    for batch in pf.iter_batches(batch_size=batch_rows, columns=[col]):
        for value in batch.column(0).to_pylist():
            yield row, value
            row += 1


def extract_background(
    inputs: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    column: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: bool = True,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> ExtractionSummary:
    """Convert the audio rows of Parquet files to 16 kHz mono 16-bit WAVs (resumable).

    Args:
        inputs: Parquet files, or folders searched recursively for ``*.parquet``.
        output_dir: where ``{label}_{row:06d}.wav`` and ``manifest.jsonl`` go.
        column: audio column; ``None`` picks the first audio-like column.
        batch_rows: rows per record batch read from a file.
        progress: show a progress bar (on terminals).
        sample_rate_hz: output sample rate.

    Returns:
        Counts of written, already-done and failed rows.

    Raises:
        ConfigError: an input is missing, holds no Parquet file, or has no audio column.
    """
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from wakeforge.audio.io import write_wav
    from wakeforge.utils.atomic import Manifest, clean_stale_tmp

    files = find_parquet_files(inputs)
    if not files:
        raise ConfigError(
            f"no *.parquet files in {[str(p) for p in inputs]}; pass the folder that holds them"
        )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(out)
    manifest = Manifest(out / MANIFEST_NAME)
    done = manifest.done()
    summary = ExtractionSummary()
    counts = {}
    for path, label in files:
        try:
            counts[label] = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a broken file
            raise ConfigError(
                f"{path}: not a readable Parquet file ({exc}); re-download or remove it"
            ) from None
    summary.total_rows = sum(counts.values())
    bar = tqdm(
        total=summary.total_rows, unit="row", desc="extracting", disable=None if progress else True
    )
    try:
        for path, label in files:
            keys = {f"{label}:{r}": r for r in range(counts[label])}
            finished = {k for k in keys if _is_done(done.get(k), out)}
            if len(finished) == len(keys):  # nothing to do: do not even read the file
                _count_done(summary, [done[k] for k in finished])
                bar.update(len(keys))
                continue
            for row, value in _iter_rows(path, column, batch_rows):
                key = f"{label}:{row}"
                bar.update(1)
                if key in finished:
                    _count_done(summary, [done[key]])
                    continue
                try:
                    audio = decode_row(value, f"{path.name} row {row}", path.parent, sample_rate_hz)
                except AudioError as exc:
                    # libsndfile names the in-memory buffer by its address: noise in a report.
                    reason = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "bytes", str(exc))
                    summary.failed += 1
                    summary.failures.append(reason)
                    bar.write(f"skipped: {reason}", file=sys.stderr)
                    manifest.append({"key": key, "status": "failed", "reason": reason})
                    continue
                name = f"{label}_{row:06d}.wav"
                write_wav(out / name, audio, sample_rate_hz)
                seconds = audio.size / sample_rate_hz
                manifest.append(
                    {"key": key, "status": "ok", "wav": name, "seconds": round(seconds, 3)}
                )
                summary.written += 1
                summary.seconds += seconds
    finally:
        bar.close()
    log.info("%s", summary.line())
    return summary


def _is_done(record: dict[str, Any] | None, out: Path) -> bool:
    if record is None:
        return False
    if record.get("status") == "failed":
        return True
    return (out / str(record.get("wav", ""))).is_file()


def _count_done(summary: ExtractionSummary, records: list[dict[str, Any]]) -> None:
    for r in records:
        if r.get("status") == "failed":
            summary.failed_before += 1
        else:
            summary.already_done += 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wakeforge.augment.extract_background",
        description=(
            "Convert Hugging Face-style Parquet audio (an 'audio' column of {bytes, path} or "
            "{array, sampling_rate}) to 16 kHz mono WAVs for augmentation.background_paths. "
            "Resumable: a rerun skips rows already converted."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        help="Parquet files or folders (recursive). Default: {training_data_dir}/background_clips",
    )
    parser.add_argument(
        "--output",
        "-o",
        help="output folder. Default: {training_data_dir}/background_clips/wav",
    )
    parser.add_argument(
        "--training-data-dir",
        help="overrides paths.training_data_dir of conf/paths/default.yaml "
        "($WAKEFORGE_ROOT/data/training-data)",
    )
    parser.add_argument("--column", help="audio column name. Default: the first audio-like column")
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=DEFAULT_BATCH_ROWS,
        help="rows read per record batch (memory)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


@cli_entry
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = Path(args.training_data_dir) if args.training_data_dir else default_training_data_dir()
    inputs = args.inputs or [str(base / "background_clips")]
    output = Path(args.output) if args.output else base / "background_clips" / "wav"
    if args.batch_rows < 1:
        raise ConfigError("--batch-rows must be >= 1")
    extract_background(
        inputs,
        output,
        column=args.column,
        batch_rows=args.batch_rows,
        progress=not args.no_progress,
    )
    print(f"WAVs in {output}; use them with augmentation.background_paths=[{output}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
