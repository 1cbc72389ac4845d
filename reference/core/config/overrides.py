"""Environment overrides applied after loading (spec §1): ``DAMARIS_RANKS_PER_NODE``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from damaris_ref.core.settings import RANKS_PER_NODE

from .model import Config

#: the environment variable that overrides ``architecture.ranks_per_node`` (docs/config.md)
RANKS_PER_NODE_VARIABLE = RANKS_PER_NODE.name


def apply_environment(config: Config, environ: Mapping[str, str]) -> Config:
    """``config`` with ``architecture.ranks_per_node`` taken from the environment when set.

    An unset or empty variable leaves the file's value; anything but an integer >= 0 is an
    error rather than a silent fallback, since it changes which ranks share a node.
    """
    ranks_per_node = RANKS_PER_NODE.read(environ)
    if ranks_per_node is None:
        return config
    return replace(config, architecture=replace(config.architecture, ranks_per_node=ranks_per_node))
