"""A rank's server role: its transport, its :class:`~damaris_ref.runtime.server.Server` and its Dask
session, with the barriers that keep the servers' Dask sessions in step (spec §3, §5).

A dedicated server plays it inside ``start()``; a standalone client plays it too, driven by
its own ``end_iteration`` calls through the loopback transport. Every script run happens in
the rank's context (:mod:`damaris_ref.runtime.scripts.context`) and, when the pyscript names a
working scheduler, with that scheduler's Dask client as the current one; nothing of it outlives the
run.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, TextIO

from damaris_ref.dask_bridge.hand_off import HandOff
from damaris_ref.runtime.scripts import context
from damaris_ref.runtime.server import BlockFilter, Observer, Server
from damaris_ref.runtime.transport.base import ServerTransport

if TYPE_CHECKING:
    from damaris_ref.dask_bridge.session import DaskSession


class ServerRole:
    """The server side of one rank, from the opening of its Dask session to its close."""

    def __init__(
        self,
        rank: context.RankContext,
        transport: ServerTransport,
        *,
        observer: Observer | None = None,
        block_filter: BlockFilter | None = None,
        stderr: TextIO | None = None,
    ):
        self.rank = rank
        self.transport = transport
        self._dask = _open_dask_session(rank, transport)
        self.server = Server(
            rank.config,
            rank.topology,
            rank.server_id,
            rank.magic,
            transport,
            scheduler_files=self._dask.scheduler_files if self._dask else None,
            observer=observer,
            stderr=stderr,
            script_scope=self._script_scope,
            block_filter=block_filter,
        )

    def _script_scope(self, pyscript: str) -> AbstractContextManager[object]:
        scope = ExitStack()
        scope.enter_context(context.bound(self.rank))
        if self._dask is not None:
            scope.enter_context(self._dask.script_scope(pyscript))
        return scope

    def serve(self) -> None:
        """Serve until every owned client has stopped, then close the Dask session.

        If serving fails, the session is closed at once: the job is failing, and waiting for
        the other servers in a barrier could wait forever.
        """
        try:
            self.server.serve()
        except BaseException:
            self.close(together=False)
            raise
        self.close()

    def close(self, *, together: bool = True) -> None:
        """Close the Dask session (once); ``together`` first waits for every other server."""
        if self._dask is None:
            return
        if together:
            # no server may take its worker (and its blocks) away while another server's
            # script can still use them
            self.rank.server_comm.Barrier()
        self._dask.close()
        self._dask = None


def _open_dask_session(rank: context.RankContext, transport: ServerTransport) -> DaskSession | None:
    """The server's Dask session when a pyscript names a scheduler, opened on every server;
    its worker reads blocks in place where the transport allows it."""
    if not any(p.scheduler_file for p in rank.config.pyscripts):
        return None
    from damaris_ref.dask_bridge.session import DaskSession

    hand_off = transport if isinstance(transport, HandOff) else None
    session = DaskSession.open(rank.config, rank.server_id, rank.magic, hand_off)
    rank.server_comm.Barrier()  # scripts see every server's worker from iteration 0 on
    return session
