"""The transport interface: how a client's blocks and notices reach its server.

A transport moves bytes and notices; it knows nothing of scripts, iterations or Dask. The
client and server logic (``damaris_ref.runtime.client``, ``damaris_ref.runtime.server``) is
written once against these two small protocols; the in-process, loopback and MPI transports
implement them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from damaris_ref.core.data import Block
from damaris_ref.core.errors import RunError


class WorldAborted(RunError):
    """Another rank failed and the run is being torn down: a consequence, never the cause.

    A class of its own so that an in-process run reports the rank that failed first, not the
    ranks this woke up.
    """


class BufferFullError(RunError):
    """A block does not fit in the node's shared buffer; the fix is a larger
    ``architecture.buffer.size`` or smaller blocks.

    A class of its own because the MPI transport catches the allocator's to wait for the
    server to free space. The allocator's carries the numbers a user needs to size the buffer
    (``buffer_name``, ``capacity``, ``requested``, ``free_bytes``, ``largest_free_extent``;
    None where a transport does not know them).
    """

    def __init__(
        self,
        message: str,
        *,
        buffer_name: str | None = None,
        capacity: int | None = None,
        requested: int | None = None,
        free_bytes: int | None = None,
        largest_free_extent: int | None = None,
    ) -> None:
        super().__init__(message)
        self.buffer_name = buffer_name
        self.capacity = capacity
        self.requested = requested
        self.free_bytes = free_bytes
        self.largest_free_extent = largest_free_extent


@dataclass(slots=True)
class BlockArrived:
    """A block reached its server; ``handle`` lets the transport free its memory later.

    Not frozen, for the same reason as :class:`~damaris_ref.core.data.Block` (one per block).
    """

    block: Block
    handle: object = None


@dataclass(frozen=True)
class IterationEnded:
    """Client ``source`` called ``end_iteration`` for ``iteration``."""

    source: int
    iteration: int


@dataclass(frozen=True)
class ClientStopped:
    """Client ``source`` called ``stop``; it sends nothing more."""

    source: int


Message = BlockArrived | IterationEnded | ClientStopped

#: one block of a :meth:`ClientTransport.send_blocks` batch: (block number, offsets, array of
#: the layout's dtype and shape)
BlockPart = tuple[int, tuple[int, ...], np.ndarray]


class ClientTransport(Protocol):
    """What a client needs: send blocks and notices to a server id."""

    def send_block(self, server: int, block: Block) -> None:
        """Copy ``block`` towards ``server``; the caller may reuse its array afterwards."""

    def send_blocks(
        self, server: int, variable: str, source: int, iteration: int, parts: list[BlockPart]
    ) -> None:
        """Copy many blocks (at least one) of one variable, all of one dtype and shape,
        towards ``server``, in order, as one piece of buffer where it fits: all of them or,
        when the buffer cannot hold them, none."""

    def send_end_iteration(self, server: int, source: int, iteration: int) -> None:
        """Tell ``server`` that ``source`` ended ``iteration``."""

    def send_stop(self, server: int, source: int) -> None:
        """Tell ``server`` that ``source`` stopped."""


class ServerTransport(Protocol):
    """What a server needs: the next message, and a way to free a block's memory."""

    def receive(self) -> Message:
        """Block until the next message for this server arrives (raise on timeout/abort)."""

    def release(self, arrived: BlockArrived) -> None:
        """Free the memory behind a delivered block once scripts no longer need it."""
