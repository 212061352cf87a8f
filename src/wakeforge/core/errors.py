"""User-facing errors: one line that says what was wrong and how to fix it.

Every expected mistake (bad config value, missing file, unreadable audio, ...) raises
:class:`WakeforgeError`. Entry points wrap their body in :func:`cli_errors`, which prints the
message as a single ``error: ...`` line on stderr and exits with status 2 instead of showing a
traceback. Set ``WAKEFORGE_TRACEBACK=1`` to see the traceback anyway.

``cli_errors`` also turns SIGTERM (``docker stop``, SLURM pre-emption, ``kill``) into the same
clean stop as Ctrl-C: one ``interrupted: ...`` line that says what was kept (stages record it
with :func:`note_kept`) and how to resume, exit status 143 (130 for Ctrl-C). A write that fails
because a folder is read-only or the disk is full is one ``error: ...`` line naming the folder.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 2


class WakeforgeError(Exception):
    """An expected problem with the user's input or environment; the message names the fix."""


class ConfigError(WakeforgeError):
    """A config key is missing, misspelt or has an invalid value."""


class AudioError(WakeforgeError):
    """An audio file cannot be read or is unusable (corrupt, empty, silent, non-finite)."""


class AssetError(WakeforgeError):
    """A model file (feature model, voice, reference head) is missing or corrupt."""


class OutOfMemory(WakeforgeError):
    """CUDA or host memory ran out; the message names the config knobs that lower it."""


#: The knobs that lower memory use, named in every out-of-memory message.
MEMORY_KNOBS = (
    "data.batch_n_per_class, augmentation.batch_size, data.n_samples_val or model.head.layer_size"
)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for ``MemoryError``, ``torch.cuda.OutOfMemoryError`` and CUDA/CPU allocator errors.

    Checked by type name so this module never imports torch.
    """
    if isinstance(exc, MemoryError):
        return True
    for cls in type(exc).__mro__:
        if cls.__name__ == "OutOfMemoryError":
            return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "defaultcpuallocator: can't allocate memory" in text
    return False


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """SIGTERM arrived: unwind like Ctrl-C (``finally`` blocks and cleanups run).

    A ``BaseException`` so ``except Exception`` blocks do not swallow it, and not a
    ``KeyboardInterrupt`` so Lightning re-raises it instead of calling ``sys.exit(1)``.
    """

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


#: What the running stage has finished so far, by topic (shown in the ``interrupted:`` line).
_KEPT: dict[str, str] = {}


def note_kept(topic: str, text: str) -> None:
    """Record what a stage has safely on disk (``"augment": "120 of 400 rows of x.npy"``)."""
    _KEPT[topic] = text


def interrupted_line(signame: str) -> str:
    kept = "; ".join(f"{k}: {v}" for k, v in _KEPT.items())
    what = f" ({kept})" if kept else ""
    return f"interrupted: {signame}; finished work is kept{what}; rerun the same command to continue."


_HANDLER_PID: int | None = None


def _on_sigterm(signum: int, frame: Any) -> None:
    if os.getpid() != _HANDLER_PID:  # a forked worker inherited the handler: die as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Interrupted(signum)


def install_sigterm_handler() -> None:
    """Make SIGTERM raise :class:`Interrupted` in the main thread of this process."""
    global _HANDLER_PID
    if threading.current_thread() is not threading.main_thread():
        return
    _HANDLER_PID = os.getpid()
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, _on_sigterm)


#: The run's output folder (set by the checks), named when a failed write names no file.
OUTPUT_DIR: str | None = None

#: errno values of a write that cannot succeed where it is attempted, and the fix for each.
_WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "it is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted (read-only or immutable)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def write_error_line(exc: OSError) -> str | None:
    """One line for an OSError of a failed write (read-only, full, not a folder), else None."""
    if exc.errno not in _WRITE_ERRORS:
        return None
    target = exc.filename or getattr(exc, "filename2", None)
    why = _WRITE_ERRORS[exc.errno]
    if not target:  # a write() on an open file (ENOSPC mid-file) names no file
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        folder = OUTPUT_DIR or os.getcwd()
        return (f"cannot write to {folder} ({why}); free some space or point paths.root_dir at a bigger "
                "disk, then rerun the same command: finished work is kept")
    folder = os.path.dirname(os.path.abspath(os.fsdecode(target)))
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space or point paths.root_dir at a bigger disk"
    else:
        fix = "make it writable or point paths.root_dir at a writable folder"
    return (f"cannot write to {folder} ({why}: {os.fsdecode(target)}); {fix}, then rerun the same "
            "command: finished work is kept")


def _report(message: str) -> None:
    first = " ".join(str(message).split())
    print(f"error: {first}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected errors into one ``error: ...`` line and exit status 2.

    SIGTERM is handled like Ctrl-C while the block runs (one ``interrupted`` line, exit 143).
    """
    install_sigterm_handler()
    try:
        yield
    except WakeforgeError as exc:
        if os.environ.get("WAKEFORGE_TRACEBACK"):
            raise
        _report(str(exc))
        sys.exit(EXIT_USER_ERROR)
    except (KeyboardInterrupt, Interrupted) as exc:
        sigterm = isinstance(exc, Interrupted)
        print(interrupted_line("SIGTERM received" if sigterm else "Ctrl-C"), file=sys.stderr, flush=True)
        sys.exit(128 + signal.SIGTERM if sigterm else 130)
    except OSError as exc:
        line = None if os.environ.get("WAKEFORGE_TRACEBACK") else write_error_line(exc)
        if line is None:
            raise
        _report(line)
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:
        if not is_out_of_memory(exc) or os.environ.get("WAKEFORGE_TRACEBACK"):
            raise
        _report(f"out of memory: lower {MEMORY_KNOBS} and rerun (finished work is kept).")
        sys.exit(EXIT_USER_ERROR)


def cli_entry(func: F) -> F:
    """Decorator form of :func:`cli_errors` for ``main()`` functions."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with cli_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
