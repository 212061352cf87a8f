"""``config_file=PATH`` on a command line: replaced by the overrides the file stands for."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from wakeforge.core.compat.files import config_overrides
from wakeforge.core.errors import ConfigError

#: Command-line token that names a config file.
CONFIG_ARG = "config_file"


def expand_argv(argv: Sequence[str]) -> list[str]:
    """Replace ``config_file=PATH`` in a command line with the overrides it stands for.

    The file's overrides go first, so overrides given after it on the command line win.
    Hydra flags (``-m``, ``--cfg``, ...) are kept in place.
    """
    out: list[str] = []
    files: list[str] = []
    for arg in argv:
        m = re.match(rf"^\+{{0,2}}{CONFIG_ARG}=(.*)$", arg)
        if m:
            files.append(m.group(1))
        else:
            out.append(arg)
    if not files:
        return list(argv)
    if len(files) > 1:
        raise ConfigError(f"{CONFIG_ARG}= given {len(files)} times; pass one config file")
    value = files[0].strip().strip("'\"")
    if not value:
        return out  # CONFIG= left empty: the defaults
    # A Hydra file is stored under paths.root_dir (given on the command line), not the cwd.
    root = next((a.split("=", 1)[1].strip("'\"") for a in reversed(out)
                 if a.split("=", 1)[0].lstrip("+~") == "paths.root_dir" and "=" in a), None)
    overrides = config_overrides(value, root=root)
    if any(a.split("=", 1)[0].lstrip("+~") == "experiment" for a in out) and any(
        o.startswith("experiment=") for o in overrides
    ):
        raise ConfigError(
            f"{CONFIG_ARG}={value} is a Hydra experiment file and experiment= is also given; pass only one"
        )
    return out[:1] + overrides + out[1:]


def expand_sys_argv() -> None:
    """Apply :func:`expand_argv` to ``sys.argv`` (call before a ``@hydra.main`` function).

    ``-v`` / ``--verbose`` become ``hydra.verbose=true``.

    Errors become one ``error: ...`` line and exit status 2, like every wakeforge error.
    """
    from wakeforge.core.errors import cli_errors

    with cli_errors():
        # -v / --verbose: everything, as Hydra's hydra.verbose=true (third-party lines included).
        argv = ["hydra.verbose=true" if a in ("-v", "--verbose") else a for a in sys.argv]
        sys.argv[:] = expand_argv(argv)
