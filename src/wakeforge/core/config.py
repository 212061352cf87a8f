"""Hydra/OmegaConf glue shared by every entry point.

* ``register_resolvers()`` adds ``${slug:...}`` (phrase -> model name).
* ``compose_config()`` composes ``conf/train.yaml`` outside ``@hydra.main`` (tests, notebooks,
  DVC), with the ``hydra`` node set so ``${hydra:runtime.output_dir}`` resolves.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


CONFIG_DIR = Path(__file__).resolve().parents[3] / "conf"
CONFIG_NAME = "train"


def slugify(text: Any) -> str:
    """Model name from a phrase: lower case, ASCII, words joined by ``_`` (one safe folder name).

    Letters with no ASCII form (Cyrillic, CJK, ...) are not dropped silently: the slug gets a
    short hash of the phrase, so different phrases never share a folder.

    Example:
        >>> slugify("Hey, Jarvis!")
        'hey_jarvis'
        >>> slugify(["ok nabu", "hey nabu"])
        'ok_nabu'
        >>> slugify("привет") != slugify("пока")
        True
    """
    if isinstance(text, (list, tuple, ListConfig)):
        text = text[0] if len(text) else ""
    text = str(text)
    norm = unicodedata.normalize("NFKD", text)
    ascii_text = norm.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:80].strip("_")
    lost = any(ch.isalnum() and not ch.isascii() for ch in norm)
    if lost or not slug:
        import hashlib

        digest = hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()[:8]
        slug = f"{slug or 'wakeword'}_{digest}"
    return slug


def register_resolvers() -> None:
    """Register the ``${slug:...}`` resolver and the config schema (before any compose)."""
    if not OmegaConf.has_resolver("slug"):
        OmegaConf.register_new_resolver("slug", slugify)
    from wakeforge.core.schema import register

    register()


register_resolvers()


def phrases(cfg: DictConfig) -> list[str]:
    """``data.phrase`` as a list of phrases (it may be a string or a list)."""
    value = cfg.data.phrase
    if isinstance(value, (list, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def compose_config(
    overrides: list[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    config_name: str = CONFIG_NAME,
) -> DictConfig:
    """Compose the config outside ``@hydra.main`` (tests, scripts).

    The ``hydra`` node is kept and registered, so interpolations such as
    ``${hydra:runtime.output_dir}`` resolve to ``output_dir``.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides or []), return_hydra_config=True)
    out = str(Path(output_dir or os.getcwd()).resolve())
    with open_struct(cfg):
        cfg.hydra.runtime.output_dir = out
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return cfg


class open_struct:  # noqa: N801 - context manager named like omegaconf.open_dict
    """Temporarily allow adding keys (``open_dict``) and writing read-only nodes."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    def __enter__(self) -> DictConfig:
        self._struct = OmegaConf.is_struct(self.cfg)
        self._ro = OmegaConf.is_readonly(self.cfg)
        OmegaConf.set_struct(self.cfg, False)
        OmegaConf.set_readonly(self.cfg, False)
        return self.cfg

    def __exit__(self, *exc: object) -> None:
        OmegaConf.set_readonly(self.cfg, self._ro)
        OmegaConf.set_struct(self.cfg, self._struct)


def resolve_path(value: str | os.PathLike[str]) -> Path:
    """Resolve a config path against the directory the command was started from."""
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else (Path.cwd() / p).resolve()
