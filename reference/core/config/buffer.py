"""How a node's shared buffer is split among its clients, and the least size that works.

With dedicated cores the MPI transport gives each node one segment of
``architecture.buffer.size`` bytes, split evenly among the node's clients; each share is rounded
down to whole pages so that the slices, laid back to back, stay page-aligned. A size that
leaves a client less than one page would make every write fail, so it is refused: at load when
the configuration says how many clients share a node, otherwise when the run starts.
"""

from __future__ import annotations

from .model import Architecture

#: the rounding unit of each client's share, and so the least buffer a client needs
PAGE = 4096


def client_share(buffer_size: int, clients: int) -> int:
    """Bytes each of ``clients`` clients of a node gets from a ``buffer_size``-byte buffer."""
    return buffer_size // clients // PAGE * PAGE


def share_problem(buffer_size: int, clients: int) -> str | None:
    """Why ``buffer_size`` is too small for ``clients`` clients on a node; None when it is not."""
    share = client_share(buffer_size, clients)
    if share >= PAGE:
        return None
    return (
        f"{buffer_size} bytes split evenly among the {clients} clients of a node leave each "
        f"{share} bytes once rounded down to whole {PAGE}-byte pages; allowed: at least "
        f"{clients * PAGE} bytes ({PAGE} per client)"
    )


def known_clients_per_node(architecture: Architecture) -> int | None:
    """How many clients share a node's buffer, when the configuration alone decides it.

    That is in dedicated-cores mode with nodes emulated (``ranks_per_node > 0``); on real
    hosts only the run knows, and without dedicated cores no buffer is split.
    """
    arch = architecture
    if arch.dedicated_nodes > 0 or arch.dedicated_cores <= 0:
        return None
    clients = arch.ranks_per_node - arch.dedicated_cores
    return clients if clients > 0 else None
