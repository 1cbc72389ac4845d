"""What a running rank knows about itself, for the ``damaris4py`` functions scripts call.

Bound per thread: in the MPI runtime there is one rank per process, in the in-process engine
one rank per thread, and both look the same to ``damaris4py.server``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from damaris_ref.config.model import Config
from damaris_ref.topology import Topology

_local = threading.local()


@dataclass(frozen=True)
class RankContext:
    """One world rank's view of the run: topology, its ids and its communicators."""

    config: Config
    topology: Topology
    world_rank: int
    magic: str
    world_comm: Any
    client_comm: Any
    server_comm: Any

    @property
    def is_client(self) -> bool:
        """True on simulation ranks (every rank in standalone mode)."""
        return self.topology.role_of(self.world_rank) == "client"

    @property
    def server_id(self) -> int:
        """The S number of the server role this rank plays (its client id in standalone)."""
        if self.topology.mode == "standalone":
            return self.topology.client_id(self.world_rank)
        return self.topology.server_id(self.world_rank)


def bind(context: RankContext | None) -> None:
    """Make ``context`` the current rank's context (None unbinds)."""
    _local.context = context


def current() -> RankContext:
    """The current rank's context; a clear error outside a running Damaris rank."""
    context = getattr(_local, "context", None)
    if context is None:
        raise RuntimeError(
            "damaris4py functions need a running Damaris rank: call them from a pyscript "
            "run by damaris-ref (or after damaris start() in the simulation)"
        )
    return context
