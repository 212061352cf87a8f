"""Record takes of the wake phrase for ``python -m wakeforge.personalize``.

Usage::

    python -m wakeforge.record --phrase "hey jarvis" --n 20 my_takes/
    python -m wakeforge.record --phrase computer --n 10 --device 2 my_takes/   # --list-devices

Prompts for each take, records ``--seconds`` of audio from the microphone (16 kHz mono), checks
it (level, clipping, length of the sound after trimming silence, nothing but silence) and saves
good ones as ``take_NNN.wav`` (trimmed and levelled like stage 1's clips); a bad take is
explained and asked for again. Existing takes in DIR are kept and counted. Needs the ``mic``
extra: ``pip install -e .[mic]`` (sounddevice and the PortAudio library it ships).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from wakeforge.audio.constants import SAMPLE_RATE_HZ
from wakeforge.core.errors import WakeforgeError, cli_entry


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m wakeforge.record",
                                description="Record and check takes of the wake phrase for personalize.")
    p.add_argument("folder", metavar="DIR", help="where the takes go (take_NNN.wav)")
    p.add_argument("--phrase", required=True, help="the wake phrase to say")
    p.add_argument("--n", type=int, default=20, help="takes to have in DIR (default 20)")
    p.add_argument("--seconds", type=float, default=3.0, help="recording length per take (default 3)")
    p.add_argument("--device", default=None, help="input device (index or name; default: the system's)")
    p.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    p.add_argument("--min-s", type=float, default=0.3, help="shortest phrase after trimming (default 0.3 s)")
    p.add_argument("--max-s", type=float, default=1.9, help="longest phrase after trimming (default 1.9 s)")
    return p


def _sounddevice():  # noqa: ANN202 - optional module
    try:
        import sounddevice as sd
    except ImportError:
        raise WakeforgeError("recording needs the `mic` extra: pip install -e .[mic] (sounddevice)") from None
    except OSError as exc:  # PortAudio missing
        raise WakeforgeError(f"sounddevice cannot load PortAudio ({exc}); install it (Debian: apt install libportaudio2)") from None
    return sd


def existing_takes(folder: Path) -> list[Path]:
    return sorted(folder.glob("take_[0-9][0-9][0-9].wav"))


def save_take(folder: Path, audio: np.ndarray, index: int) -> Path:
    """Write a checked take as 16-bit WAV (atomically)."""
    from wakeforge.audio.io import write_wav
    from wakeforge.generation.tts.perturb import dither_to_int16

    pcm = dither_to_int16(audio, np.random.default_rng(index))
    return write_wav(folder / f"take_{index:03d}.wav", pcm, SAMPLE_RATE_HZ)


@cli_entry
def main(argv: list[str] | None = None) -> int:
    from wakeforge.personal.recordings import check_take

    args = build_parser().parse_args(argv)
    if not str(args.phrase).strip():
        raise WakeforgeError("--phrase is empty; give the wake phrase to say, e.g. --phrase \"hey jarvis\"")
    if not 1 <= args.n <= 500:
        raise WakeforgeError(f"--n {args.n}: give 1-500 takes (5-50 is what personalize wants)")
    if not 1.0 <= args.seconds <= 10.0:
        raise WakeforgeError(f"--seconds {args.seconds}: give 1-10 s per take")
    sd = _sounddevice()
    if args.list_devices:
        print(sd.query_devices())
        return 0
    device = int(args.device) if args.device is not None and str(args.device).isdigit() else args.device
    try:
        sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE_HZ, dtype="float32")
    except Exception as exc:  # noqa: BLE001 - PortAudio errors have many types
        raise WakeforgeError(f"no usable input device ({' '.join(str(exc).split())}); plug in a microphone or pick "
                             "one with --device (see --list-devices)") from None
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    have = existing_takes(folder)
    index = int(have[-1].stem[5:]) + 1 if have else 1
    print(f"{len(have)} take(s) already in {folder}; recording {max(0, args.n - len(have))} more. "
          f"Say \"{args.phrase}\" once after each prompt, as you would to the device.", flush=True)
    while len(existing_takes(folder)) < args.n:
        input(f"[take {len(existing_takes(folder)) + 1}/{args.n}] press Enter, then say \"{args.phrase}\"... ")
        audio = sd.rec(int(args.seconds * SAMPLE_RATE_HZ), samplerate=SAMPLE_RATE_HZ, channels=1,
                       dtype="float32", device=device)
        sd.wait()
        take, why = check_take(audio.reshape(-1), min_s=args.min_s, max_s=args.max_s)
        if take is None:
            print(f"  not kept: {why}. Again.", flush=True)
            continue
        path = save_take(folder, take, index)
        index += 1
        print(f"  kept {path.name} ({len(take) / SAMPLE_RATE_HZ:.2f} s)", flush=True)
    print(f"{args.n} takes in {folder}. Next: python -m wakeforge.personalize --model MODEL --recordings {folder}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
