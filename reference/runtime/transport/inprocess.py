"""The in-process world: every world rank is a thread, messages travel through queues.

It plays the part MPI plays in a real run (communicators, node buffers, server inboxes) so
that the same client, server and simulation code runs in one Python process, fast enough for
thousands of property-test examples. Every wait has a timeout and the world can be aborted.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import replace
from typing import cast

from damaris_ref.core.config.model import Config
from damaris_ref.core.data import Block, new_magic_number
from damaris_ref.core.errors import RunError
from damaris_ref.core.topology import Topology, emulated_nodes
from damaris_ref.runtime.transport.base import (
    BlockArrived,
    BlockPart,
    ClientStopped,
    IterationEnded,
    Message,
    WorldAborted,
)
from damaris_ref.runtime.transport.budget import ByteBudget
from damaris_ref.runtime.transport.threadcomm import DEFAULT_TIMEOUT, ThreadComm

#: a server waiting for a message wakes this often to see whether the world was aborted (a
#: message itself wakes it at once)
_POLL = 0.05
_ABORTED = "the in-process world was aborted (another rank failed)"


class InProcessWorld:
    """Shared state of one in-process run: communicators, inboxes, node buffers, abort flag."""

    def __init__(self, size: int, timeout: float = DEFAULT_TIMEOUT, magic: str | None = None):
        self.size = size
        self.timeout = timeout
        self.magic = magic or new_magic_number()
        self.comms = ThreadComm.world(size, timeout)
        self.inboxes: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(size)]
        self.aborted = threading.Event()
        self._budgets: dict[int, ByteBudget] = {}
        self._lock = threading.Lock()

    def abort(self) -> None:
        """Wake every waiting rank with an error (another rank failed)."""
        self.aborted.set()
        ThreadComm.abort_all(self.comms)
        with self._lock:
            budgets = list(self._budgets.values())
        for budget in budgets:  # a client waiting for buffer space the dead server never frees
            budget.abort(_ABORTED)

    def budget(self, node: int, config: Config) -> ByteBudget:
        """The shared buffer of ``node`` (created on first use)."""
        with self._lock:
            if node not in self._budgets:
                arch = config.architecture
                self._budgets[node] = ByteBudget(arch.buffer_name, arch.buffer_size)
                if self.aborted.is_set():
                    self._budgets[node].abort(_ABORTED)
            return self._budgets[node]

    def backend(self, rank: int) -> InProcessBackend:
        """The backend world rank ``rank`` uses."""
        return InProcessBackend(self, rank)


class InProcessBackend:
    """What :class:`~damaris_ref.runtime.session.Damaris` needs from the world, for one
    thread-rank."""

    def __init__(self, world: InProcessWorld, rank: int):
        self.world = world
        self.rank = rank
        self.world_comm = world.comms[rank]

    def node_ids(self, ranks_per_node: int) -> tuple[int, ...]:
        """Emulated nodes; ``0`` means one host holding every rank."""
        return emulated_nodes(self.world.size, ranks_per_node)

    def magic(self) -> str:
        """The run's magic number, the same on every rank."""
        return self.world.magic

    def split(self, color: int) -> ThreadComm | None:
        """The client (color 0) or server (color 1) communicator, ordered by world rank."""
        return self.world_comm.Split(color, self.rank)

    def finalize(self) -> None:
        """Nothing to release: queues and buffers die with the world."""

    def client_transport(self, config: Config, topology: Topology) -> InProcessClientTransport:
        """Posts this client's blocks and notices into its servers' inboxes."""
        return InProcessClientTransport(self.world, config, topology)

    def server_transport(self, config: Config, topology: Topology) -> InProcessServerTransport:
        """Reads this server rank's inbox."""
        return InProcessServerTransport(self.world, self.world.inboxes[self.rank])


class InProcessClientTransport:
    """Puts copies of blocks, and notices, in the server's inbox; accounts buffer bytes."""

    def __init__(self, world: InProcessWorld, config: Config, topology: Topology):
        self.world = world
        self.config = config
        self.topology = topology

    def _post(self, server: int, message: Message) -> None:
        if self.world.aborted.is_set():
            raise WorldAborted(_ABORTED)
        self.world.inboxes[self.topology.server_ranks[server]].put(message)

    def send_block(self, server: int, block: Block) -> None:
        """Reserve buffer space on the server's node, copy the block, notify the server."""
        node = self.topology.node_of_rank[self.topology.server_ranks[server]]
        budget = self.world.budget(node, self.config)
        budget.acquire(block.data.nbytes, self.world.timeout)
        self._post(server, BlockArrived(replace(block, data=block.data.copy()), budget))

    def send_blocks(
        self, server: int, variable: str, source: int, iteration: int, parts: list[BlockPart]
    ) -> None:
        """Reserve buffer space for every block at once, then post a copy of each in order."""
        node = self.topology.node_of_rank[self.topology.server_ranks[server]]
        budget = self.world.budget(node, self.config)
        budget.acquire_all([array.nbytes for _, _, array in parts], self.world.timeout)
        for block, offsets, array in parts:
            copy = Block(variable, source, block, iteration, offsets, array.copy())
            self._post(server, BlockArrived(copy, budget))

    def send_end_iteration(self, server: int, source: int, iteration: int) -> None:
        """Post the notice behind this client's blocks of ``iteration``."""
        self._post(server, IterationEnded(source, iteration))

    def send_stop(self, server: int, source: int) -> None:
        """Post the notice; nothing follows it from this client."""
        self._post(server, ClientStopped(source))


class InProcessServerTransport:
    """Reads one server's inbox; frees buffer bytes on release."""

    def __init__(self, world: InProcessWorld, inbox: queue.SimpleQueue):
        self.world = world
        self.inbox = inbox

    def receive(self) -> Message:
        """Next message; RunError when the world aborts or nothing comes in time."""
        deadline = time.monotonic() + self.world.timeout
        while not self.world.aborted.is_set():
            try:
                return self.inbox.get(timeout=_POLL)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise RunError(
                        f"server waited {self.world.timeout:g} s without any message from "
                        "its clients"
                    ) from None
        raise WorldAborted(_ABORTED)

    def release(self, arrived: BlockArrived) -> None:
        """Give the block's bytes back to its node buffer."""
        budget = cast(ByteBudget, arrived.handle)  # send_block made it the node's buffer
        budget.release(arrived.block.data.nbytes)
