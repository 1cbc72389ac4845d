"""Byte budgets of node buffers, the in-process queues and the standalone loopback."""

from __future__ import annotations

import types

import numpy as np
import pytest

from damaris_ref.core.config.model import Architecture, Config
from damaris_ref.core.data import Block
from damaris_ref.core.errors import RunError
from damaris_ref.core.topology import compute_topology
from damaris_ref.runtime.transport import inprocess
from damaris_ref.runtime.transport.base import (
    BlockArrived,
    BufferFullError,
    ClientStopped,
    IterationEnded,
)
from damaris_ref.runtime.transport.budget import ByteBudget
from damaris_ref.runtime.transport.inprocess import InProcessWorld
from damaris_ref.runtime.transport.loopback import LoopbackTransport

from waits import GUARD, WatchedCondition, WatchedQueue, once


def watched(budget: ByteBudget) -> WatchedCondition:
    """Make ``budget`` tell when a writer waits for space (its condition is swapped for one that
    records each wait's timeout)."""
    budget._changed = condition = WatchedCondition()
    return condition


def int_block(values, source: int = 0, iteration: int = 0) -> Block:
    return Block("v", source, 0, iteration, (0,), np.asarray(values, dtype=np.int32))


# ByteBudget ---------------------------------------------------------------------------------
def test_a_block_larger_than_the_buffer_fails_at_once_naming_buffer_and_size():
    budget = ByteBudget("node-buf", 100)
    condition = watched(budget)
    with pytest.raises(BufferFullError, match=r"buffer 'node-buf' .*= 100 bytes.* 101 bytes"):
        budget.acquire(101, timeout=GUARD)
    assert condition.timeouts == []  # it never waited for space that could not help
    assert budget.in_use == 0


def test_a_waiting_acquire_succeeds_once_another_thread_releases():
    budget = ByteBudget("b", 100)
    condition = watched(budget)
    budget.acquire(80, timeout=0)
    releaser = once(condition.waiting, lambda: budget.release(80))
    budget.acquire(50, timeout=GUARD)
    releaser.join(GUARD)
    assert condition.woken == [True]  # it waited, and the release woke it
    assert budget.in_use == 50


def test_a_waiting_acquire_times_out_with_the_error():
    budget = ByteBudget("b", 100)
    condition = watched(budget)
    budget.acquire(80, timeout=0)
    with pytest.raises(
        BufferFullError, match=r"no space was freed within 0.2 s \(80 bytes in use\)"
    ):
        budget.acquire(50, timeout=0.2)
    # it waited for space, never longer than its timeout
    assert condition.timeouts, "it did not wait for space"
    assert all(t is not None and 0 < t <= 0.2 for t in condition.timeouts)
    assert budget.in_use == 80


def test_abort_wakes_a_waiting_acquire_with_a_transport_error():
    budget = ByteBudget("b", 100)
    condition = watched(budget)
    budget.acquire(80, timeout=0)
    once(condition.waiting, lambda: budget.abort("the run is over"))
    with pytest.raises(RunError, match="buffer 'b': the run is over") as error:
        budget.acquire(50, timeout=GUARD)
    assert not isinstance(error.value, BufferFullError)
    assert condition.woken == [True]  # the abort woke it, not its timeout
    with pytest.raises(RunError, match="the run is over"):
        budget.acquire(1, timeout=0)  # even when it would fit


# in-process transport -----------------------------------------------------------------------
@pytest.fixture
def world():
    """A 3-rank world (clients 0, 1 and server rank 2) with a 64-byte node buffer."""
    return InProcessWorld(3, timeout=0.3, magic="123")


CONFIG = Config("t", Architecture(dedicated_cores=1, buffer_name="shm", buffer_size=64))
TOPOLOGY = compute_topology([0, 0, 0], dedicated_cores=1)


def transports(world):
    client = world.backend(0).client_transport(CONFIG, TOPOLOGY)
    server = world.backend(2).server_transport(CONFIG, TOPOLOGY)
    return client, server


def test_blocks_and_notices_reach_the_server_in_order_as_copies(world):
    client, server = transports(world)
    values = np.arange(4, dtype=np.int32)
    client.send_block(0, int_block(values))
    values[:] = -1  # the simulation may reuse its array at once
    client.send_end_iteration(0, 0, 0)
    client.send_stop(0, 0)
    arrived = server.receive()
    assert isinstance(arrived, BlockArrived)
    np.testing.assert_array_equal(arrived.block.data, [0, 1, 2, 3])
    assert server.receive() == IterationEnded(0, 0)
    assert server.receive() == ClientStopped(0)


def test_release_gives_the_bytes_back_to_the_node_buffer(world):
    client, server = transports(world)
    client.send_block(0, int_block(range(16)))  # 64 bytes: the whole buffer
    budget = world.budget(0, CONFIG)
    assert budget.in_use == 64
    server.release(server.receive())
    assert budget.in_use == 0


def test_a_client_waits_for_the_server_to_free_space():
    world = InProcessWorld(3, timeout=GUARD)
    client, server = transports(world)
    condition = watched(world.budget(0, CONFIG))
    client.send_block(0, int_block(range(16)))
    releaser = once(condition.waiting, lambda: server.release(server.receive()))
    client.send_block(0, int_block(range(16), iteration=1))
    releaser.join(GUARD)
    assert condition.woken == [True]  # it waited, and the release woke it
    assert server.receive().block.iteration == 1


def test_a_full_node_buffer_fails_after_the_world_timeout(world):
    client, _ = transports(world)
    condition = watched(world.budget(0, CONFIG))
    client.send_block(0, int_block(range(16)))
    with pytest.raises(BufferFullError, match=r"buffer 'shm'.*64 bytes.*within 0.3 s"):
        client.send_block(0, int_block(range(1)))
    # it waited for space, never longer than the world's timeout
    assert condition.timeouts, "it did not wait for space"
    assert all(t is not None and 0 < t <= 0.3 for t in condition.timeouts)


class SteppingClock:
    """A monotonic clock that moves ``step`` s each time it is read: each empty look at the
    inbox seems to take that long, whatever the machine's load."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings: list[float] = []

    def monotonic(self) -> float:
        self.readings.append(len(self.readings) * self.step)
        return self.readings[-1]


def test_server_receive_times_out_with_a_transport_error(world, monkeypatch):
    clock = SteppingClock(0.04)
    monkeypatch.setattr(inprocess, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    _, server = transports(world)
    with pytest.raises(RunError, match=r"waited 0.3 s without any message"):
        server.receive()
    # it gave up at its first look past the 0.3 s deadline, not before and not later
    started, *looks = clock.readings
    assert looks[-1] - started > 0.3 >= looks[-2] - started


def test_abort_wakes_a_waiting_server():
    world = InProcessWorld(3, timeout=GUARD)
    world.inboxes[2] = inbox = WatchedQueue()
    _, server = transports(world)
    once(inbox.reading, world.abort)
    with pytest.raises(RunError, match="aborted"):  # not "waited ... without any message"
        server.receive()


def test_abort_wakes_a_client_waiting_for_buffer_space():
    world = InProcessWorld(3, timeout=GUARD)
    client, _ = transports(world)
    condition = watched(world.budget(0, CONFIG))
    client.send_block(0, int_block(range(16)))  # fills the buffer; nobody will free it
    once(condition.waiting, world.abort)
    with pytest.raises(RunError, match="aborted") as error:
        client.send_block(0, int_block(range(1)))
    assert not isinstance(error.value, BufferFullError)
    assert condition.woken == [True]  # the abort woke it, not its timeout


def test_clients_cannot_post_to_an_aborted_world(world):
    client, _ = transports(world)
    world.abort()
    with pytest.raises(RunError, match="aborted"):
        client.send_end_iteration(0, 0, 0)


def test_every_rank_of_a_world_sees_the_same_magic_number_and_node(world):
    backends = [world.backend(rank) for rank in range(3)]
    assert {backend.magic() for backend in backends} == {"123"}
    assert backends[1].node_ids(0) == (0, 0, 0)


# loopback (standalone mode) -----------------------------------------------------------------
class RecordingHandler:
    """Stands in for the client's own Server."""

    def __init__(self):
        self.messages: list = []
        self.finished = False

    def handle(self, message) -> None:
        self.messages.append(message)

    def finish(self) -> None:
        self.finished = True


@pytest.fixture
def loopback():
    transport = LoopbackTransport(ByteBudget("local", 32))
    transport.handler = RecordingHandler()
    return transport


def test_loopback_delivers_copies_at_once_and_finishes_on_stop(loopback):
    values = np.arange(4, dtype=np.int32)
    loopback.send_block(0, int_block(values))
    values[:] = 0
    loopback.send_end_iteration(0, 0, 0)
    assert not loopback.handler.finished
    loopback.send_stop(0, 0)
    arrived, ended, stopped = loopback.handler.messages
    np.testing.assert_array_equal(arrived.block.data, [0, 1, 2, 3])
    assert (ended, stopped) == (IterationEnded(0, 0), ClientStopped(0))
    assert loopback.handler.finished


def test_loopback_fails_at_once_when_unreleased_blocks_fill_its_buffer(loopback):
    condition = watched(loopback.budget)
    loopback.send_block(0, int_block(range(8)))  # 32 bytes
    with pytest.raises(BufferFullError, match="buffer 'local'"):
        loopback.send_block(0, int_block(range(1)))
    assert set(condition.timeouts) <= {0}  # it gave nobody time to free space
    loopback.release(loopback.handler.messages[0])
    loopback.send_block(0, int_block(range(8)))


def test_loopback_server_is_never_asked_to_receive(loopback):
    with pytest.raises(RuntimeError, match="driven by its client"):
        loopback.receive()
