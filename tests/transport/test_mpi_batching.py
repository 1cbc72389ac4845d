"""The MPI transport's batched notices and per-iteration releases, on a fake MPI wire.

A client transport and a server transport share one bytearray as the client's slice of the
node's segment; what the client sends is copied (as MPI would) into a queue the server reads,
and what the server sends back into a queue the client reads. So these tests check the real
wire format, in order, without starting ranks (tests/mpi_jobs run the real thing).
"""

from __future__ import annotations

import pickle
from collections import deque

import numpy as np
import pytest
from mpi4py import MPI

from damaris_ref.core.config.model import Architecture, Config, Layout, Variable
from damaris_ref.core.data import Block
from damaris_ref.core.topology import compute_topology, emulated_nodes
from damaris_ref.runtime.transport import mpi
from damaris_ref.runtime.transport.base import BlockArrived, ClientStopped, IterationEnded
from damaris_ref.runtime.transport.mpi.wire import Starved

from shm_fakes import Window

TOPOLOGY = compute_topology(emulated_nodes(2, 0), dedicated_cores=1)  # client 0, server 1
CLIENT, SERVER = TOPOLOGY.client_ranks[0], TOPOLOGY.server_ranks[0]
SLICE = 1 << 16


class Wire:
    """Both directions between one client and its server, each message copied on the way."""

    def __init__(self) -> None:
        self.to_server: deque = deque()
        self.to_client: deque = deque()  # (tag, message)
        self.client_messages: list = []  # every pickled message the client sent, as sent


class ClientComm:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def Get_rank(self) -> int:
        return CLIENT

    def send(self, message, dest: int, tag: int) -> None:
        self.wire.client_messages.append(message)
        self.wire.to_server.append(pickle.loads(pickle.dumps(message)))

    def Send(self, buffer, dest: int, tag: int) -> None:
        self.wire.to_server.append(bytes(buffer))

    def Iprobe(self, source: int, tag: int, status: MPI.Status) -> bool:
        if not self.wire.to_client:
            return False
        status.Set_tag(self.wire.to_client[0][0])
        return True

    def recv(self, source: int, tag: int):
        return self.wire.to_client.popleft()[1]


class ServerComm:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.release_messages: list[list[int]] = []

    def Get_rank(self) -> int:
        return SERVER

    def Get_group(self) -> MPI.Group:
        return MPI.COMM_SELF.Get_group()  # rank 0 (the client) translates to itself

    def Iprobe(self, source: int, tag: int, status: MPI.Status) -> bool:
        if not self.wire.to_server:
            return False
        status.Set_source(CLIENT)
        return True

    def recv(self, source: int, tag: int):
        return self.wire.to_server.popleft()

    def Recv(self, buffer: np.ndarray, source: int, tag: int) -> None:
        buffer[:] = np.frombuffer(self.wire.to_server.popleft(), np.uint8)

    def isend(self, message, dest: int, tag: int) -> MPI.Request:
        if tag == mpi.TAG_RELEASE:
            self.release_messages.append(list(message))
        self.wire.to_client.append((tag, pickle.loads(pickle.dumps(message))))
        return MPI.Request()  # a null request: complete at once


class NodeComm:
    def Get_rank(self) -> int:
        return 0

    def Get_group(self) -> MPI.Group:
        return MPI.COMM_SELF.Get_group()


def config(buffer_size: int = SLICE) -> Config:
    return Config(
        "batching",
        Architecture(dedicated_cores=1, domains=4096, buffer_size=buffer_size),
        layouts=(Layout("four", "int", ("4",)),),
        variables=(Variable("v", "four"),),
    )


@pytest.fixture
def pair(monkeypatch):
    """A connected (client transport, server transport, server comm) over one fake wire."""
    monkeypatch.setenv(mpi.client.BUFFER_WAIT_VARIABLE, "0.3")
    wire, window = Wire(), Window(SLICE)
    client = mpi.MPIClientTransport(ClientComm(wire), config(), TOPOLOGY, NodeComm(), window)
    server_comm = ServerComm(wire)
    server = mpi.MPIServerTransport(server_comm, TOPOLOGY, NodeComm(), window)
    return client, server, server_comm


def block(number: int, iteration: int = 0) -> Block:
    values = np.arange(4, dtype=np.int32) + 100 * number + 10_000 * iteration
    return Block("v", 0, number, iteration, (4 * number,), values)


def drain(server: mpi.MPIServerTransport, wire_empty) -> list:
    messages = []
    while not wire_empty() or server._ready:
        messages.append(server.receive())
    return messages


def summary(messages: list) -> list:
    """Each message as (kind, ...) with the block's values, to compare sequences."""
    out = []
    for m in messages:
        if isinstance(m, BlockArrived):
            b = m.block
            out.append(("block", b.block, b.iteration, b.offsets, b.data.tolist()))
        else:
            out.append(m)
    return out


def expected(blocks: list[Block]) -> list:
    return [("block", b.block, b.iteration, b.offsets, b.data.tolist()) for b in blocks]


@pytest.mark.parametrize("count", [3, mpi.client.INLINE_NOTICES + 1, 200])
def test_blocks_end_and_stop_arrive_in_the_order_the_client_issued_them(pair, count):
    client, server, server_comm = pair
    first = [block(n) for n in range(count)]
    second = [block(n, iteration=1) for n in reversed(range(3))]
    for b in first:
        client.send_block(0, b)
    client.send_end_iteration(0, 0, 0)
    for b in second:
        client.send_block(0, b)
    client.send_stop(0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    assert summary(received) == [
        *expected(first),
        IterationEnded(0, 0),
        *expected(second),
        ClientStopped(0),
    ]


def test_iterations_without_blocks_send_each_end_once(pair):
    client, server, server_comm = pair
    client.send_end_iteration(0, 0, 0)
    client.send_end_iteration(0, 0, 1)
    client.send_block(0, block(0, iteration=2))
    client.send_stop(0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    assert summary(received) == [
        IterationEnded(0, 0),
        IterationEnded(0, 1),
        *expected([block(0, iteration=2)]),
        ClientStopped(0),
    ]


def test_across_nodes_each_block_goes_at_once_with_its_data():
    """Dedicated nodes: no shared slice, the notice then the bytes by ``Send``."""
    wire = Wire()
    client = mpi.MPIClientTransport(ClientComm(wire), config(), TOPOLOGY, NodeComm(), None)
    server_comm = ServerComm(wire)
    server = mpi.MPIServerTransport(server_comm, TOPOLOGY, NodeComm(), None)
    blocks = [block(n) for n in range(3)]
    for b in blocks:
        client.send_block(0, b)
    assert len(wire.to_server) == 2 * len(blocks)  # nothing waits for the end of the iteration
    client.send_end_iteration(0, 0, 0)
    client.send_end_iteration(0, 0, 1)
    client.send_stop(0, 0)
    received = drain(server, lambda: not wire.to_server)
    assert summary(received) == [
        *expected(blocks),
        IterationEnded(0, 0),
        IterationEnded(0, 1),
        ClientStopped(0),
    ]
    assert all(m.handle is None for m in received if isinstance(m, BlockArrived))


def test_an_iteration_travels_as_one_message_with_its_end(pair):
    client, _server, server_comm = pair
    for n in range(100):
        client.send_block(0, block(n))
    assert server_comm.wire.client_messages == []  # nothing sent while writing
    client.send_end_iteration(0, 0, 0)
    (message,) = server_comm.wire.client_messages
    assert isinstance(message[0], mpi.StoredNotices)  # many notices: through the slice
    assert message[1:] == [IterationEnded(0, 0)]


def test_notices_go_ahead_of_the_end_once_the_batch_bound_is_reached(pair, monkeypatch):
    monkeypatch.setattr(mpi.client, "NOTICE_BATCH", 10)
    client, server, server_comm = pair
    blocks = [block(n) for n in range(25)]
    for b in blocks:
        client.send_block(0, b)
    assert len(server_comm.wire.client_messages) == 2  # after 10 and after 20
    client.send_end_iteration(0, 0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    assert summary(received) == [*expected(blocks), IterationEnded(0, 0)]


def test_the_release_of_an_iteration_is_one_message_and_frees_every_block(pair):
    client, server, server_comm = pair
    for n in range(100):
        client.send_block(0, block(n))
    client.send_end_iteration(0, 0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    for message in received:
        if isinstance(message, BlockArrived):
            server.release(message)
    client.send_stop(0, 0)
    server.receive()  # the stop; releases made before it go out first
    # the notices' slice space went back once read; the iteration's blocks in one message
    notices, blocks = server_comm.release_messages
    assert len(notices) == 1
    assert sorted(blocks) == sorted(m.handle[1] for m in received if isinstance(m, BlockArrived))
    assert len(blocks) == 100
    server.close()
    client.close()  # takes the releases, then the DONE
    assert client.allocator.used_bytes == 0
    assert client.allocator.free_extents() == [(0, client.allocator.capacity)]


def test_a_full_slice_sends_the_pending_notices_before_it_waits(pair):
    client, server, server_comm = pair
    capacity = client.allocator.capacity
    big = Block("v", 0, 0, 0, (0,), np.zeros(capacity // 4 - 4, dtype=np.int32))
    client.send_block(0, big)  # almost the whole slice, pending
    with pytest.raises(mpi.BufferFullError) as raised:
        client.send_block(0, block(1))  # no room: nobody frees within 0.3 s
    assert "stayed full for 0.3 s" in str(raised.value)
    assert "set DAMARIS_BUFFER_WAIT" in str(raised.value)
    # the pending notice went before the wait, and with it the word that the client waits
    (message,) = server_comm.wire.client_messages
    assert [item[2] for item in message[:-1]] == [0]
    assert message[-1] == Starved(0)
    assert isinstance(server.receive(), BlockArrived)


def test_a_full_slice_waits_and_succeeds_once_the_server_frees(pair):
    client, server, server_comm = pair
    capacity = client.allocator.capacity
    big = Block("v", 0, 0, 0, (0,), np.zeros(capacity // 4 - 4, dtype=np.int32))
    client.send_block(0, big)
    client.send_end_iteration(0, 0, 0)
    arrived = server.receive()
    server.release(arrived)
    assert server.receive() == IterationEnded(0, 0)  # the release goes out on this call
    client.send_block(0, block(1, iteration=1))  # fits once the release is taken
    client.send_stop(0, 0)
    assert summary(drain(server, lambda: not server_comm.wire.to_server)) == [
        *expected([block(1, iteration=1)]),
        ClientStopped(0),
    ]


def test_a_block_larger_than_the_slice_fails_at_once_naming_the_slice(pair):
    client, _server, _comm = pair
    huge = Block("v", 0, 0, 0, (0,), np.zeros(SLICE, dtype=np.int32))
    with pytest.raises(mpi.BufferFullError) as raised:
        client.send_block(0, huge)
    assert f"each client of this node gets a slice of {client.allocator.capacity} bytes" in str(
        raised.value
    )


def test_non_contiguous_and_empty_blocks_arrive_intact(pair):
    client, server, server_comm = pair
    strided = np.arange(16, dtype=np.int32).reshape(4, 4)[:, 1]
    empty = np.zeros((0, 3), dtype=np.int32)
    client.send_block(0, Block("v", 0, 0, 0, (0,), strided))
    client.send_block(0, Block("v", 0, 1, 0, (0, 0), empty))
    client.send_end_iteration(0, 0, 0)
    first, second, _end = drain(server, lambda: not server_comm.wire.to_server)
    assert first.block.data.tolist() == [1, 5, 9, 13]
    assert second.block.data.shape == (0, 3)


@pytest.mark.parametrize(
    "values",
    [
        np.arange(12, dtype=np.int32).reshape(3, 4).T,  # 2-D, not C-contiguous
        np.arange(10, dtype=np.int8)[::3],  # 1-D, strided
        np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4),
        np.arange(6, dtype=">f8"),  # another byte order: no view of the slice in its format
        np.arange(4) + 1j,  # complex: no one-character buffer format
    ],
    ids=["transposed", "strided", "3-D", "big-endian", "complex"],
)
def test_blocks_of_any_dtype_and_memory_order_arrive_intact(pair, values):
    """Each dtype has its own way into the slice (a view of it in the dtype's format where
    one exists); every block sits at its own place, whatever went before it."""
    client, server, server_comm = pair
    before = np.full(3, -1, dtype=np.int32)
    client.send_block(0, Block("v", 0, 0, 0, (0,), before))
    client.send_block(0, Block("v", 0, 1, 0, (0,) * values.ndim, values))
    client.send_block(0, Block("v", 0, 2, 0, (0,), before + 7))
    client.send_end_iteration(0, 0, 0)
    first, arrived, last, _end = drain(server, lambda: not server_comm.wire.to_server)
    assert arrived.block.data.dtype == values.dtype
    assert arrived.block.data.shape == values.shape
    assert arrived.block.data.tolist() == values.tolist()
    assert first.block.data.tolist() == [-1, -1, -1]
    assert last.block.data.tolist() == [6, 6, 6]
