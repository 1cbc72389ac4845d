"""Who is a client, who is a server, and which server owns which client (spec §1).

This module is pure (no MPI, no NumPy): it turns the node membership of every world rank and
the ``architecture.dedicated`` choice into the complete routing table. It is the single place
that decides routing; the engines, the MPI transport and the conformance suite all ask it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TypedDict

__all__ = [
    "LayoutError",
    "Mode",
    "Role",
    "Topology",
    "compute_topology",
    "emulated_nodes",
    "world_size_for",
]

from damaris_ref.core.errors import ConfigError

#: the earlier name of this error: a deprecated alias, kept for one release
LayoutError = ConfigError


class Mode(StrEnum):
    """How servers are placed."""

    DEDICATED_CORES = "dedicated-cores"
    DEDICATED_NODES = "dedicated-nodes"
    STANDALONE = "standalone"


class Role(StrEnum):
    """What one world rank does in a run (spec §1), as :meth:`Topology.role_of` decides it.

    The runtime asks the role instead of comparing modes: whether the rank runs the
    simulation (:attr:`is_client`) and whether it runs the scripts (:attr:`serves`).
    """

    #: a simulation rank whose blocks go to a dedicated server
    CLIENT = "client"
    #: a server on a dedicated core of a node, serving clients of its own node
    DEDICATED_CORE_SERVER = "dedicated-core-server"
    #: a server on a dedicated node, serving clients of other nodes
    DEDICATED_NODE_SERVER = "dedicated-node-server"
    #: a simulation rank that is its own server (no dedicated cores or nodes)
    STANDALONE = "standalone"

    @property
    def is_client(self) -> bool:
        """True on simulation ranks (every rank in standalone mode)."""
        return self is Role.CLIENT or self is Role.STANDALONE

    @property
    def serves(self) -> bool:
        """True where pyscripts run: dedicated servers, and every rank in standalone mode."""
        return self is not Role.CLIENT


@dataclass(frozen=True)
class Topology:
    """The full routing table of one run.

    ``client_ranks[c]`` is the world rank of client ``c`` (its *source* number, the ``P`` in
    ``P<src>_B<block>``); ``server_ranks[s]`` is the world rank of server ``s`` (its ``S``
    number). In standalone mode every client is its own server, so both tuples are equal.
    """

    mode: Mode
    world_size: int
    node_of_rank: tuple[int, ...]
    cores_per_node: int
    number_of_nodes: int
    dedicated: int
    client_ranks: tuple[int, ...]
    server_ranks: tuple[int, ...]
    server_of_client: tuple[int, ...]

    @property
    def client_count(self) -> int:
        """Number of clients (the size of the client communicator)."""
        return len(self.client_ranks)

    @property
    def server_count(self) -> int:
        """Number of servers (each standalone client counts as its own server)."""
        return len(self.server_ranks)

    @property
    def is_dedicated_core(self) -> bool:
        """True when servers run on dedicated cores of every node."""
        return self.mode is Mode.DEDICATED_CORES

    @property
    def is_dedicated_node(self) -> bool:
        """True when servers run on whole dedicated nodes."""
        return self.mode is Mode.DEDICATED_NODES

    @property
    def clients_per_node(self) -> int:
        """The value reported as ``clients_per_node`` (reused for nodes in node mode, spec §1)."""
        if self.mode is Mode.DEDICATED_CORES:
            return self.cores_per_node - self.dedicated
        if self.mode is Mode.DEDICATED_NODES:
            return self.number_of_nodes - self.dedicated
        return self.cores_per_node

    @property
    def servers_per_node(self) -> int:
        """The value reported as ``servers_per_node`` (0 in standalone mode)."""
        return 0 if self.mode is Mode.STANDALONE else self.dedicated

    def role_of(self, world_rank: int) -> Role:
        """The role of a world rank: the one place that says whether a rank is a client,
        a server, or (in standalone mode) both."""
        if world_rank in self._client_index:
            return Role.STANDALONE if self.mode is Mode.STANDALONE else Role.CLIENT
        if self.mode is Mode.DEDICATED_NODES:
            return Role.DEDICATED_NODE_SERVER
        return Role.DEDICATED_CORE_SERVER

    def client_id(self, world_rank: int) -> int:
        """Client id (rank in the client communicator) of a client's world rank."""
        return self._client_index[world_rank]

    def server_id(self, world_rank: int) -> int:
        """Server id (rank in the server communicator) of a server's world rank."""
        return self._server_index[world_rank]

    def server_for(self, client: int) -> int:
        """The server id that receives the blocks of client id ``client``.

        The one routing answer: the client names this server in every call to its transport,
        and no transport works the destination out again.
        """
        return self.server_of_client[client]

    def known_clients(self, server: int) -> tuple[int, ...]:
        """Client ids owned by server id ``server``, ascending (``listknownclients()``)."""
        return tuple(c for c, s in enumerate(self.server_of_client) if s == server)

    @cached_property
    def _client_index(self) -> dict[int, int]:
        return {rank: cid for cid, rank in enumerate(self.client_ranks)}

    @cached_property
    def _server_index(self) -> dict[int, int]:
        return {rank: sid for sid, rank in enumerate(self.server_ranks)}


def emulated_nodes(world_size: int, ranks_per_node: int) -> tuple[int, ...]:
    """Node id of every world rank when nodes are emulated on one host (rank // ranks_per_node).

    ``ranks_per_node == 0`` means one node holding every rank (a single real host).
    """
    if world_size <= 0:
        raise ConfigError(f"world size must be positive, got {world_size}")
    if ranks_per_node < 0:
        raise ConfigError(f"ranks_per_node must be >= 0 (0 = real hosts), got {ranks_per_node}")
    if ranks_per_node == 0:
        return (0,) * world_size
    if world_size % ranks_per_node:
        raise ConfigError(
            f"world size {world_size} is not a multiple of ranks_per_node {ranks_per_node}: "
            "every node must hold the same number of ranks"
        )
    return tuple(rank // ranks_per_node for rank in range(world_size))


class _Machine(TypedDict):
    """The fields of a :class:`Topology` that the machine decides, whatever the mode."""

    world_size: int
    node_of_rank: tuple[int, ...]
    cores_per_node: int
    number_of_nodes: int


def compute_topology(
    node_of_rank: Sequence[int], dedicated_cores: int = 0, dedicated_nodes: int = 0
) -> Topology:
    """Route every world rank per spec §1; an impossible layout raises a
    :class:`~damaris_ref.core.errors.ConfigError`.

    ``node_of_rank[r]`` identifies the node (host) of world rank ``r``; ids may be any integers,
    nodes are numbered by first appearance. Dedicated nodes win when both counts are positive.
    """
    if dedicated_cores < 0 or dedicated_nodes < 0:
        raise ConfigError(
            f"dedicated cores and nodes must be >= 0, got core={dedicated_cores} "
            f"node={dedicated_nodes}"
        )
    members = _node_members(node_of_rank)
    sizes = {len(ranks) for ranks in members}
    if len(sizes) != 1:
        raise ConfigError(
            "every node must hold the same number of ranks, got "
            + ", ".join(f"node {n}: {len(r)}" for n, r in enumerate(members))
        )
    cores_per_node = sizes.pop()
    common: _Machine = {
        "world_size": len(node_of_rank),
        "node_of_rank": tuple(_renumber(node_of_rank)),
        "cores_per_node": cores_per_node,
        "number_of_nodes": len(members),
    }
    if dedicated_nodes > 0:
        return _dedicated_nodes(members, dedicated_nodes, common)
    if dedicated_cores > 0:
        return _dedicated_cores(members, dedicated_cores, common)
    ranks = tuple(range(len(node_of_rank)))
    return Topology(
        mode=Mode.STANDALONE,
        dedicated=0,
        client_ranks=ranks,
        server_ranks=ranks,
        server_of_client=ranks,
        **common,
    )


def _dedicated_cores(members: list[list[int]], d: int, common: _Machine) -> Topology:
    cores_per_node = common["cores_per_node"]
    clients_per_node = cores_per_node - d
    if clients_per_node <= 0:
        raise ConfigError(
            f"all cores are dedicated: {d} dedicated core(s) but only {cores_per_node} "
            "rank(s) per node; use fewer dedicated cores or more ranks per node"
        )
    if clients_per_node % d:
        raise ConfigError(
            f"dedicated cores must divide clients per node: {d} dedicated core(s) and "
            f"{clients_per_node} client(s) per node ({cores_per_node} ranks per node)"
        )
    group = clients_per_node // d
    server_world_rank_of: dict[int, int] = {}
    for ranks in members:
        for r, world_rank in enumerate(ranks[:clients_per_node]):
            server_world_rank_of[world_rank] = ranks[clients_per_node + r // group]
    client_ranks = tuple(sorted(server_world_rank_of))
    server_ranks = tuple(sorted(rank for ranks in members for rank in ranks[clients_per_node:]))
    server_index = {rank: sid for sid, rank in enumerate(server_ranks)}
    return Topology(
        mode=Mode.DEDICATED_CORES,
        dedicated=d,
        client_ranks=client_ranks,
        server_ranks=server_ranks,
        server_of_client=tuple(server_index[server_world_rank_of[c]] for c in client_ranks),
        **common,
    )


def _dedicated_nodes(members: list[list[int]], n: int, common: _Machine) -> Topology:
    number_of_nodes = common["number_of_nodes"]
    client_nodes = number_of_nodes - n
    if client_nodes <= 0:
        raise ConfigError(
            f"all nodes are dedicated: {n} dedicated node(s) but only {number_of_nodes} "
            "node(s); use fewer dedicated nodes or more nodes"
        )
    if client_nodes % n:
        raise ConfigError(
            f"dedicated nodes must divide client nodes: {n} dedicated node(s) and "
            f"{client_nodes} client node(s) ({number_of_nodes} nodes in all)"
        )
    ratio = client_nodes // n
    first_client = n * common["cores_per_node"]
    world_size = common["world_size"]
    return Topology(
        mode=Mode.DEDICATED_NODES,
        dedicated=n,
        client_ranks=tuple(range(first_client, world_size)),
        server_ranks=tuple(range(first_client)),
        server_of_client=tuple(c // ratio for c in range(world_size - first_client)),
        **common,
    )


def _node_members(node_of_rank: Sequence[int]) -> list[list[int]]:
    """World ranks of each node, nodes in order of first appearance, ranks ascending."""
    if not node_of_rank:
        raise ConfigError("world size must be positive, got 0")
    members: dict[int, list[int]] = {}
    for rank, node in enumerate(node_of_rank):
        members.setdefault(node, []).append(rank)
    return list(members.values())


def _renumber(node_of_rank: Sequence[int]) -> list[int]:
    order: dict[int, int] = {}
    return [order.setdefault(node, len(order)) for node in node_of_rank]


def world_size_for(
    clients: int, ranks_per_node: int = 0, dedicated_cores: int = 0, dedicated_nodes: int = 0
) -> int:
    """How many world ranks give ``clients`` clients with this architecture (inverse of spec §1).

    ``ranks_per_node == 0`` means one host. Raises a
    :class:`~damaris_ref.core.errors.ConfigError` when no world size gives exactly that many
    clients; the result always passes :func:`compute_topology`.
    """
    if clients <= 0:
        raise ConfigError(f"the number of clients must be positive, got {clients}")
    if dedicated_nodes > 0:
        if ranks_per_node <= 0 or clients % ranks_per_node:
            raise ConfigError(
                f"{clients} clients do not fill whole nodes of ranks_per_node={ranks_per_node}; "
                "dedicated nodes need node emulation (ranks_per_node > 0) and full client nodes"
            )
        size = (clients // ranks_per_node + dedicated_nodes) * ranks_per_node
    elif dedicated_cores > 0:
        per_node = ranks_per_node - dedicated_cores if ranks_per_node else clients
        if per_node <= 0 or clients % per_node:
            raise ConfigError(
                f"{clients} clients do not fill whole nodes of {per_node} client(s) each "
                f"(ranks_per_node={ranks_per_node}, {dedicated_cores} dedicated core(s))"
            )
        size = clients // per_node * (per_node + dedicated_cores)
    else:
        size = clients
    nodes = emulated_nodes(size, ranks_per_node) if ranks_per_node else (0,) * size
    topology = compute_topology(nodes, dedicated_cores, dedicated_nodes)
    if topology.client_count != clients:
        raise ConfigError(f"no world size gives exactly {clients} clients with this layout")
    return size
