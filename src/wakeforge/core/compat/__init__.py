"""``config_file=PATH``: train from a config file of either kind.

Every wakeforge entry point accepts ``config_file=PATH`` (Make passes ``CONFIG=PATH`` as that)
and turns it into ordinary Hydra overrides before Hydra parses the command line, so the run
records exactly what was applied (``.hydra/overrides.yaml``) and later overrides win::

    python -m wakeforge.train config_file=my_model.yaml               # openWakeWord-style flat YAML
    python -m wakeforge.train config_file=my_experiment.yaml data.phrase="ok nabu"
    python -m wakeforge.compat my_model.yaml                           # print the overrides

Two kinds of file are told apart by their keys:

* **openWakeWord-style flat YAML** (the keys of openWakeWord's ``examples/custom_model.yml``:
  ``target_phrase``, ``n_samples``, ``steps``, ...): each key is mapped onto its wakeforge key
  (:data:`FLAT_KEYS`), ``model_type`` selects the ``model`` group, dictionaries
  (``batch_n_per_class``, ``feature_data_files``) replace wakeforge's like they define the whole
  batch in openWakeWord. Keys openWakeWord reads but wakeforge does not need are accepted with
  one warning line; any other key is an error that names it.
* **Hydra experiment file** (keys such as ``data:``, ``model:``, ``trainer:``, a ``defaults``
  list or a ``# @package`` header), anywhere on disk. Files inside ``conf/experiment/`` are
  used as ``experiment=NAME``; others are copied (with ``# @package _global_``) into
  ``logs/.config_files/<hash>/user_config/`` and applied as ``+user_config=NAME`` with that
  folder on Hydra's search path. Hydra's own merge rules apply unchanged, the file applies after
  any ``experiment=`` (``config_file=my.yaml experiment=smoke`` is smoke, then the file), and
  jobs started later (DDP workers, SLURM array jobs) still find it.

Relative paths inside a flat file resolve against the working directory, as everywhere in
wakeforge; a path that does not exist is an error that names the key, the path and that
directory.

The package: :mod:`~wakeforge.core.compat.flat` (the key tables, flat mapping -> overrides),
:mod:`~wakeforge.core.compat.files` (reading, telling the kind, Hydra files by path),
:mod:`~wakeforge.core.compat.argv` (``config_file=`` on a command line) and
:mod:`~wakeforge.core.compat.params` (DVC's ``params.yaml``, the ``python -m wakeforge.compat``
command).
"""

from wakeforge.core.compat.argv import CONFIG_ARG, expand_argv, expand_sys_argv
from wakeforge.core.compat.files import (
    CONF_DIR,
    USER_GROUP,
    config_kind,
    config_overrides,
    hydra_file_overrides,
    load_yaml_file,
)
from wakeforge.core.compat.flat import (
    BUILTIN_CLASSES,
    FLAT_KEYS,
    HYDRA_ROOT_KEYS,
    MODEL_TYPES,
    SHARED_KEYS,
    FlatKey,
    flat_overrides,
    hydra_value,
)
from wakeforge.core.compat.params import PIPELINE_CONFIG, compose_params, main

__all__ = [
    "BUILTIN_CLASSES",
    "CONFIG_ARG",
    "CONF_DIR",
    "FLAT_KEYS",
    "HYDRA_ROOT_KEYS",
    "MODEL_TYPES",
    "PIPELINE_CONFIG",
    "SHARED_KEYS",
    "USER_GROUP",
    "FlatKey",
    "compose_params",
    "config_kind",
    "config_overrides",
    "expand_argv",
    "expand_sys_argv",
    "flat_overrides",
    "hydra_file_overrides",
    "hydra_value",
    "load_yaml_file",
    "main",
]
