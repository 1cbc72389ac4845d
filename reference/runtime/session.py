"""The client API a simulation calls, named like the Damaris C API (SPEC §1–§3).

``initialize`` / ``start`` / ``parameter_get`` / ``parameter_set`` / ``set_position`` /
``set_block_position`` / ``write`` / ``write_block`` / ``end_iteration`` / ``stop`` /
``finalize``, and ``write_blocks`` (many blocks of one variable in one call, a reference
extension). One :class:`Damaris` object per rank; what differs between the in-process engine
and MPI is only the *backend* (communicators, node detection, transports). The server side
(transport, :class:`~damaris_ref.runtime.server.Server`, Dask session) is
:class:`~damaris_ref.runtime.server_role.ServerRole`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import Token
from pathlib import Path
from typing import Any, Protocol, TextIO

from damaris_ref.core.config.model import Config
from damaris_ref.core.errors import UsageError
from damaris_ref.core.settings import check_run_settings
from damaris_ref.core.topology import Role, Topology
from damaris_ref.runtime.client import Client
from damaris_ref.runtime.scripts import context
from damaris_ref.runtime.seams import DEFAULT_SEAMS, Seams
from damaris_ref.runtime.server import Observer
from damaris_ref.runtime.server_role import ServerRole
from damaris_ref.runtime.transport.base import ClientTransport, ServerTransport
from damaris_ref.runtime.transport.budget import ByteBudget
from damaris_ref.runtime.transport.loopback import LoopbackTransport

__all__ = ["Backend", "Damaris", "DamarisStateError"]


class Backend(Protocol):
    """What a rank needs from its world (implemented in-process and over MPI)."""

    rank: int
    world_comm: Any

    def node_ids(self, ranks_per_node: int) -> tuple[int, ...]:
        """Node id of every world rank (collective)."""

    def magic(self) -> str:
        """The run's magic number, identical on every rank (collective)."""

    def split(self, color: int) -> Any:
        """Sub-communicator of the ranks with the same color, ordered by world rank."""

    def client_transport(self, config: Config, topology: Topology) -> ClientTransport:
        """What a client rank sends its blocks and notices through."""

    def server_transport(self, config: Config, topology: Topology) -> ServerTransport:
        """What a server rank receives its clients' messages through."""

    def finalize(self) -> None:
        """Release what the transports hold (collective)."""


#: the earlier name of this error: a deprecated alias, kept for one release
DamarisStateError = UsageError


class Damaris:
    """One rank's Damaris session: the client API; a server rank plays its
    :class:`~damaris_ref.runtime.server_role.ServerRole` inside :meth:`start`.

    ``seams`` substitutes the routing rule or filters the blocks scripts get (tests only, see
    :mod:`damaris_ref.runtime.seams`); ``stderr`` receives the server's reports (script tracebacks,
    watchdog), default ``sys.stderr``.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        observer: Observer | None = None,
        seams: Seams = DEFAULT_SEAMS,
        stderr: TextIO | None = None,
    ):
        self.backend = backend
        self.observer = observer
        self.seams = seams
        self.stderr = stderr
        self.config: Config | None = None
        self.topology: Topology | None = None
        self._context: context.RankContext | None = None
        self._context_token: Token | None = None
        self._client: Client | None = None
        self._server_role: ServerRole | None = None  # a standalone client's own server

    def initialize(self, config: Config | str | Path, comm: Any = None) -> None:
        """Load the configuration, compute the topology and split the communicators.

        From here to :meth:`finalize`, ``damaris4py`` queries in this thread answer for this rank.
        """
        if comm is not None and comm is not self.backend.world_comm:
            raise UsageError("initialize: comm must be this backend's world communicator")
        check_run_settings()  # before the roles split, so a bad one fails every rank alike
        if not isinstance(config, Config):
            from damaris_ref.core.config import load_config

            config = load_config(config)
        arch = config.architecture
        topology = self.seams.topology(
            self.backend.node_ids(arch.ranks_per_node), arch.dedicated_cores, arch.dedicated_nodes
        )
        role = topology.role_of(self.backend.rank)
        # one split gives the client communicator on clients and the server one on servers;
        # in standalone mode every client is its own server, so both are the same
        role_comm = self.backend.split(0 if role.is_client else 1)
        self.config, self.topology = config, topology
        self._context = context.RankContext(
            config=config,
            topology=topology,
            world_rank=self.backend.rank,
            role=role,
            magic=self.backend.magic(),
            world_comm=self.backend.world_comm,
            client_comm=role_comm if role.is_client else None,
            server_comm=role_comm if role.serves else None,
        )
        self._context_token = context.enter(self._context)

    @property
    def is_client(self) -> bool:
        """True on simulation ranks."""
        return self._require_context().is_client

    def start(self) -> bool:
        """On clients return True at once; on servers serve until all clients stop, then False."""
        ctx = self._require_context()
        if ctx.is_client:
            self._client = Client(
                ctx.config,
                ctx.topology,
                ctx.topology.client_id(ctx.world_rank),
                self._client_transport(ctx),
            )
            return True
        transport = self.backend.server_transport(ctx.config, ctx.topology)
        self._server_role_on(ctx, transport).serve()
        return False

    def _client_transport(self, ctx: context.RankContext) -> ClientTransport:
        if ctx.role is not Role.STANDALONE:
            return self.backend.client_transport(ctx.config, ctx.topology)
        arch = ctx.config.architecture
        loopback = LoopbackTransport(ByteBudget(arch.buffer_name, arch.buffer_size))
        self._server_role = self._server_role_on(ctx, loopback)
        loopback.handler = self._server_role.server
        return loopback

    def _server_role_on(self, ctx: context.RankContext, transport: ServerTransport) -> ServerRole:
        return ServerRole(
            ctx,
            transport,
            observer=self.observer,
            block_filter=self.seams.block_filter,
            stderr=self.stderr,
        )

    def client_comm_get(self) -> Any:
        """The communicator of the simulation's ranks (use it instead of the world comm)."""
        return self._require_client_context().client_comm

    def parameter_get(self, name: str) -> int | float:
        """Current value of a parameter."""
        return self._require_client().parameter_get(name)

    def parameter_set(self, name: str, value: int | float) -> None:
        """Change a parameter (layouts using it are re-evaluated on next use)."""
        self._require_client().parameter_set(name, value)

    def variable_shape(self, name: str) -> tuple[int, ...]:
        """Block shape of a variable with the current parameter values (reference extension)."""
        return self._require_client().variable_shape(name)

    def set_position(self, name: str, offsets) -> None:
        """Offsets of block 0 of a variable in the global array."""
        self._require_client().set_position(name, offsets)

    def set_block_position(self, name: str, block: int, offsets) -> None:
        """Offsets of one block of a variable in the global array."""
        (self._client or self._require_client()).set_block_position(name, block, offsets)

    def write(self, name: str, array) -> None:
        """Write block 0 of a variable for the current iteration."""
        (self._client or self._require_client()).write(name, array)

    def write_block(self, name: str, block: int, array) -> None:
        """Write one block of a variable for the current iteration."""
        # a started client is the common case: checked first, it costs one attribute
        (self._client or self._require_client()).write_block(name, block, array)

    def write_blocks(
        self, name: str, blocks: Mapping[int, Any] | Iterable[tuple[int, Any]]
    ) -> None:
        """Write many blocks of a variable for the current iteration, as ``{block: array}`` or
        ``(block, array)`` pairs (reference extension); no block is written if one is refused."""
        (self._client or self._require_client()).write_blocks(name, blocks)

    def end_iteration(self) -> None:
        """Close the current iteration; a server runs its scripts once all its clients did."""
        self._require_client().end_iteration()

    def stop(self) -> None:
        """Tell the server this client is done (standalone: also ends this rank's Dask session)."""
        self._require_client().stop()
        if self._server_role is not None:
            self._server_role.close()
            self._server_role = None

    def finalize(self) -> None:
        """Release the transports (after the server handed back every block) and the context."""
        self.backend.finalize()
        if self._context_token is not None:
            context.leave(self._context_token)
            self._context_token = None
        self._client = None

    def _require_context(self) -> context.RankContext:
        if self._context is None:
            raise UsageError("call initialize(config, comm) first")
        return self._context

    def _require_client_context(self) -> context.RankContext:
        ctx = self._require_context()
        if not ctx.is_client:
            raise UsageError("this call is for client ranks; start() returned False here")
        return ctx

    def _require_client(self) -> Client:
        self._require_client_context()
        if self._client is None:
            raise UsageError("call start() before writing (it returns True on clients)")
        return self._client
