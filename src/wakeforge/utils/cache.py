"""wakeforge's cache folder (shared by every stage; imports nothing from wakeforge).

Example:
    >>> default_cache_dir().name                            # doctest: +SKIP
    'wakeforge'
"""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """Return wakeforge's cache folder.

    Returns:
        ``$WAKEFORGE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/wakeforge``, else
        ``~/.cache/wakeforge``.
    """
    env = os.environ.get("WAKEFORGE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "wakeforge"
    return Path.home() / ".cache" / "wakeforge"
