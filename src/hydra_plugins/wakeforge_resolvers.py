"""Registers wakeforge's OmegaConf resolvers (``${slug:...}``) wherever Hydra loads plugins.

Hydra imports every module under the ``hydra_plugins`` namespace when it starts; DVC does the
same before it composes ``conf/`` into ``params.yaml`` (``dvc exp run -S ...`` with
``hydra.enabled``), so the config resolves in DVC's process exactly as in wakeforge's.
"""

from wakeforge.core.config import register_resolvers

register_resolvers()
