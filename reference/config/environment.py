"""Environment overrides applied after loading (spec §1): ``DAMARIS_RANKS_PER_NODE``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from .errors import ConfigError, echo
from .model import Config

#: the environment variable that overrides ``architecture.ranks_per_node`` (docs/config.md)
RANKS_PER_NODE_VARIABLE = "DAMARIS_RANKS_PER_NODE"


def apply_environment(config: Config, environ: Mapping[str, str]) -> Config:
    """``config`` with ``architecture.ranks_per_node`` taken from the environment when set.

    An unset or empty variable leaves the file's value; anything but an integer >= 0 is an
    error rather than a silent fallback, since it changes which ranks share a node.
    """
    text = environ.get(RANKS_PER_NODE_VARIABLE, "").strip()
    if not text:
        return config
    if not re.fullmatch(r"\d+", text):
        raise ConfigError(
            f"invalid value {echo(text)}; allowed: an integer >= 0 (0 = real hosts)",
            file="environment",
            path=RANKS_PER_NODE_VARIABLE,
        )
    return replace(config, architecture=replace(config.architecture, ranks_per_node=int(text)))
