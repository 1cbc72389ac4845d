"""What ``damaris4py.server`` offers user scripts (spec §4), answered from the rank context."""

from __future__ import annotations

from typing import Any

from damaris_ref.runtime.scripts.context import current


def getservercomm() -> Any:
    """Communicator of the server ranks (the client communicator in standalone mode)."""
    return current().server_comm


def getclientcomm() -> Any:
    """Communicator of the client ranks (None on a dedicated server)."""
    return current().client_comm


def getdamariscomm() -> Any:
    """Communicator of the ranks sharing this rank's role (servers, or clients)."""
    ctx = current()
    return ctx.client_comm if ctx.is_client else ctx.server_comm


def getglobalcomm() -> Any:
    """The world communicator given to ``initialize``."""
    return current().world_comm


def isclient() -> bool:
    """True on simulation ranks (every rank in standalone mode)."""
    return current().is_client


def isserver() -> bool:
    """True where pyscripts run: dedicated servers, or every rank in standalone mode."""
    return current().serves


def isdedicatedcore() -> bool:
    """True when servers are dedicated cores."""
    return current().topology.is_dedicated_core


def isdedicatednode() -> bool:
    """True when servers are dedicated nodes."""
    return current().topology.is_dedicated_node


def clientspernode() -> int:
    """``clients_per_node`` as in ``damaris_env``."""
    return current().topology.clients_per_node


def corespernode() -> int:
    """``cores_per_node`` as in ``damaris_env``: a node's ranks, clients and servers."""
    return current().topology.cores_per_node


def serverspernode() -> int:
    """``servers_per_node`` as in ``damaris_env``."""
    return current().topology.servers_per_node


def numberofnodes() -> int:
    """``number_of_nodes`` as in ``damaris_env``."""
    return current().topology.number_of_nodes


def listknownclients() -> list[int]:
    """Client ids (sources) owned by this server, ascending."""
    ctx = current()
    return list(ctx.topology.known_clients(ctx.server_id))


def magicnumber_string() -> str:
    """The run's magic number."""
    return current().magic
