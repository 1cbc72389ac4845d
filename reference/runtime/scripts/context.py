"""What a running rank knows about itself, for the ``damaris4py`` functions scripts call.

The context travels in a :mod:`contextvars` variable, set for a scope and reset after it: a
client API session binds it from ``initialize`` to ``finalize``, and a server binds it around
each script run (:mod:`damaris_ref.runtime.server_role`). Each thread starts with no context, so the
in-process engine's thread-ranks, and several sessions in one process, never see each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from damaris_ref.core.config.model import Config
from damaris_ref.core.errors import UsageError
from damaris_ref.core.topology import Role, Topology


@dataclass(frozen=True)
class RankContext:
    """One world rank's view of the run: topology, its role, its ids and its communicators.

    ``role`` is ``topology.role_of(world_rank)``, decided once when the session starts; every
    question of whether this rank is a client or serves is asked of it.
    """

    config: Config
    topology: Topology
    world_rank: int
    role: Role
    magic: str
    world_comm: Any
    client_comm: Any
    server_comm: Any

    @property
    def is_client(self) -> bool:
        """True on simulation ranks (every rank in standalone mode)."""
        return self.role.is_client

    @property
    def serves(self) -> bool:
        """True where pyscripts run: dedicated servers, and every rank in standalone mode."""
        return self.role.serves

    @property
    def server_id(self) -> int:
        """The S number of the server role this rank plays (in standalone mode, where every
        rank is its own server, the table numbers servers as clients: its client id)."""
        return self.topology.server_id(self.world_rank)


_current: ContextVar[RankContext | None] = ContextVar("damaris_rank_context", default=None)


def enter(context: RankContext) -> Token[RankContext | None]:
    """Make ``context`` current until :func:`leave` is given the returned token.

    For a scope spread over several calls (a session's ``initialize`` ... ``finalize``); a scope
    inside one call uses :func:`bound`.
    """
    return _current.set(context)


def leave(token: Token[RankContext | None]) -> None:
    """Restore the context that was current before the :func:`enter` that gave ``token``."""
    _current.reset(token)


@contextmanager
def bound(context: RankContext) -> Iterator[RankContext]:
    """``context`` is current inside the block, and the previous one again after it."""
    token = enter(context)
    try:
        yield context
    finally:
        leave(token)


def current() -> RankContext:
    """The current rank's context; a clear error outside a running Damaris rank."""
    context = _current.get()
    if context is None:
        raise UsageError(
            "damaris4py functions need a running Damaris rank: call them from a pyscript "
            "run by damaris-ref (or between initialize and finalize in the simulation)"
        )
    return context
