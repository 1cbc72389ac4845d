"""Routing is decided once: every client transport delivers to the server the client names.

The client asks the topology (``Topology.server_for``) and names that server in each call; a
transport that worked the destination out again would ignore the name. Here the name differs
from the table's owner on purpose, so such a transport fails these tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config, Layout, Variable
from damaris_ref.core.data import Block
from damaris_ref.core.errors import RunError
from damaris_ref.core.topology import compute_topology
from damaris_ref.runtime.transport import mpi
from damaris_ref.runtime.transport.inprocess import InProcessWorld

from shm_fakes import Window

#: one node of four ranks: clients 0 and 1, servers at world ranks 2 and 3
TOPOLOGY = compute_topology((0, 0, 0, 0), dedicated_cores=2)
CLIENT = 0
CLIENT_RANK = TOPOLOGY.client_ranks[CLIENT]
#: a server that is not the client's owner in the table
NAMED = 1 - TOPOLOGY.server_for(CLIENT)
SLICE = 1 << 16
CONFIG = Config(
    "routing",
    Architecture(dedicated_cores=2, buffer_size=2 * SLICE),
    layouts=(Layout("four", "int", ("4",)),),
    variables=(Variable("v", "four"),),
)


def block() -> Block:
    return Block("v", CLIENT, 0, 0, (0,), np.arange(4, dtype=np.int32))


class RecordingComm:
    """A client's world communicator that keeps the peer of every call and delivers nothing."""

    def __init__(self) -> None:
        self.peers: list[int] = []

    def Get_rank(self) -> int:
        return CLIENT_RANK

    def send(self, message, dest: int, tag: int) -> None:
        self.peers.append(dest)

    def Send(self, buffer, dest: int, tag: int) -> None:
        self.peers.append(dest)

    def Iprobe(self, source: int, tag: int, status) -> bool:
        self.peers.append(source)
        return False


class NodeComm:
    def Get_rank(self) -> int:
        return 0


def mpi_client(comm: RecordingComm, shared: bool) -> mpi.MPIClientTransport:
    window = Window(SLICE) if shared else None
    return mpi.MPIClientTransport(comm, CONFIG, TOPOLOGY, NodeComm(), window)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch", [False, True], ids=["send_block", "send_blocks"])
@pytest.mark.parametrize("shared", [True, False], ids=["shared-memory", "across-nodes"])
def test_the_mpi_client_transport_sends_to_the_server_the_client_names(shared, batch):
    comm = RecordingComm()
    transport = mpi_client(comm, shared)
    if batch:
        one = block()
        transport.send_blocks(NAMED, "v", CLIENT, 0, [(0, one.offsets, one.data)])
    else:
        transport.send_block(NAMED, block())
    transport.send_end_iteration(NAMED, CLIENT, 0)
    transport.send_stop(NAMED, CLIENT)
    assert comm.peers
    assert set(comm.peers) == {TOPOLOGY.server_ranks[NAMED]}


def test_an_mpi_client_refuses_a_second_server():
    transport = mpi_client(RecordingComm(), shared=True)
    transport.send_block(NAMED, block())
    with pytest.raises(RunError, match=f"sent to server {NAMED}, then named server"):
        transport.send_stop(1 - NAMED, CLIENT)


def test_the_in_process_client_transport_posts_to_the_server_the_client_names():
    world = InProcessWorld(TOPOLOGY.world_size, timeout=5)
    transport = world.backend(CLIENT_RANK).client_transport(CONFIG, TOPOLOGY)
    transport.send_block(NAMED, block())
    transport.send_end_iteration(NAMED, CLIENT, 0)
    transport.send_stop(NAMED, CLIENT)
    posted = {rank: inbox.qsize() for rank, inbox in enumerate(world.inboxes) if inbox.qsize()}
    assert posted == {TOPOLOGY.server_ranks[NAMED]: 3}
