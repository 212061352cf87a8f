"""``python -m wakeforge.compat FILE``: print the Hydra overrides a config file stands for.

The translation lives in :mod:`wakeforge.core.compat` (every entry point applies it to
``config_file=PATH``); this module is only the command line.
"""

from wakeforge.core.compat import main

if __name__ == "__main__":
    raise SystemExit(main())
