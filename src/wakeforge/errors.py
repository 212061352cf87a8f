"""User-facing errors: one line that says what was wrong and how to fix it.

Every expected mistake (bad config value, missing file, unreadable audio, ...) raises
:class:`WakeforgeError`. Entry points wrap their body in :func:`cli_errors`, which prints the
message as a single ``error: ...`` line on stderr and exits with status 2 instead of showing a
traceback. Set ``WAKEFORGE_TRACEBACK=1`` to see the traceback anyway.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
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


def _report(message: str) -> None:
    first = " ".join(str(message).split())
    print(f"error: {first}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected errors into one ``error: ...`` line and exit status 2."""
    try:
        yield
    except WakeforgeError as exc:
        if os.environ.get("WAKEFORGE_TRACEBACK"):
            raise
        _report(str(exc))
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        print(
            "interrupted: finished work is kept; rerun the same command to continue.",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(130)
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
