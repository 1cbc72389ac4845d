"""``send_blocks`` of the MPI transport on the fake wire: one allocation, one release per batch.

Many blocks of one ``write_blocks`` call take one piece of the client's slice when one is free
(smaller pieces when not), arrive in order as separate blocks, and give the piece back once
the server has released every block of it; a batch that finds no room leaves nothing behind.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_mpi_batching import (
    SLICE,
    ClientComm,
    NodeComm,
    ServerComm,
    Wire,
    block,
    config,
    drain,
    expected,
    pair,
    summary,
)

from damaris_ref.core.topology import compute_topology, emulated_nodes
from damaris_ref.runtime.transport import mpi
from damaris_ref.runtime.transport.base import BlockArrived, ClientStopped, IterationEnded
from damaris_ref.runtime.transport.mpi.wire import Starved

__all__ = ["pair"]  # the fixture, shared with the batching tests

TOPOLOGY = compute_topology(emulated_nodes(2, 0), dedicated_cores=1)


def parts(numbers, iteration: int = 0) -> list:
    return [(b.block, b.offsets, b.data) for b in (block(n, iteration) for n in numbers)]


def release_all(server, messages) -> None:
    for message in messages:
        if isinstance(message, BlockArrived):
            server.release(message)


def test_a_batch_takes_one_allocation_and_arrives_as_its_blocks_in_order(pair):
    client, server, server_comm = pair
    client.send_block(0, block(7))
    client.send_blocks(0, "v", 0, 0, parts(range(100)))
    assert client.allocator.stats().live_allocations == 2  # the single block and the batch
    client.send_end_iteration(0, 0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    assert summary(received) == [
        *expected([block(7), *(block(n) for n in range(100))]),
        IterationEnded(0, 0),
    ]


def test_the_batch_piece_is_freed_with_the_last_of_its_blocks(pair):
    client, server, server_comm = pair
    client.send_blocks(0, "v", 0, 0, parts(range(10)))
    client.send_end_iteration(0, 0, 0)
    messages = drain(server, lambda: not server_comm.wire.to_server)
    received = [m for m in messages if isinstance(m, BlockArrived)]
    release_all(server, received[:-1])
    client.send_stop(0, 0)
    server.receive()
    client._collect_releases()
    assert client.allocator.stats().live_allocations == 1  # one block still held
    server.release(received[-1])
    server.close()
    client.close()
    assert client.allocator.used_bytes == 0
    assert client.allocator.free_extents() == [(0, client.allocator.capacity)]


def test_a_batch_with_no_piece_large_enough_goes_in_smaller_pieces(pair):
    client, server, server_comm = pair
    capacity, reserved = client.allocator.capacity, client.allocator.reserved_size(16)
    # every other block-sized hole: plenty of room, none of it two blocks long
    holes = [client.allocator.allocate(16) for _ in range(capacity // reserved)]
    for location in holes[::2]:
        client.allocator.free(location)
    client.send_blocks(0, "v", 0, 0, parts(range(6)))
    client.send_end_iteration(0, 0, 0)
    received = drain(server, lambda: not server_comm.wire.to_server)
    assert summary(received) == [*expected([block(n) for n in range(6)]), IterationEnded(0, 0)]


def test_a_batch_that_finds_no_room_fails_and_leaves_nothing_allocated(pair):
    client, _server, server_comm = pair
    capacity = client.allocator.capacity
    client.send_block(0, block(0))
    before = client.allocator.live_allocations()
    rows = (capacity // 4) // 3  # three blocks fit, a fourth does not (and nobody frees)
    big = np.zeros(rows, dtype=np.int32)
    with pytest.raises(mpi.BufferFullError, match=r"stayed full for 0\.3 s"):
        client.send_blocks(0, "v", 0, 0, [(n, (0,), big) for n in range(1, 5)])
    assert client.allocator.live_allocations() == before
    (message,) = server_comm.wire.client_messages  # only block 0 went, before the wait
    assert [item[2] for item in message[:-1]] == [0]
    assert message[-1] == Starved(0)


def test_a_batch_with_a_block_larger_than_the_slice_fails_at_once(pair):
    client, _server, server_comm = pair
    huge = np.zeros(SLICE, dtype=np.int32)
    with pytest.raises(mpi.BufferFullError, match="each client of this node gets a slice"):
        client.send_blocks(0, "v", 0, 0, [(0, (0,), huge), (1, (0,), huge)])
    assert client.allocator.used_bytes == 0
    assert server_comm.wire.client_messages == []


def test_across_nodes_a_batch_is_one_message_of_notices_then_each_blocks_bytes():
    wire = Wire()
    client = mpi.MPIClientTransport(ClientComm(wire), config(), TOPOLOGY, NodeComm(), None)
    server_comm = ServerComm(wire)
    server = mpi.MPIServerTransport(server_comm, TOPOLOGY, NodeComm(), None)
    client.send_blocks(0, "v", 0, 0, parts(range(3)))
    assert len(wire.to_server) == 1 + 3
    client.send_stop(0, 0)
    received = drain(server, lambda: not wire.to_server)
    assert summary(received) == [*expected([block(n) for n in range(3)]), ClientStopped(0)]
