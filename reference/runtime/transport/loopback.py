"""Standalone mode: a client that is its own server (spec §1).

Every message is handed straight to the client's own :class:`~damaris_ref.runtime.server.Server`, so
scripts run inside the client at ``end_iteration``, with the same server logic as elsewhere.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, cast

from damaris_ref.core.data import Block
from damaris_ref.runtime.transport.base import (
    BlockArrived,
    BlockPart,
    ClientStopped,
    IterationEnded,
    Message,
)
from damaris_ref.runtime.transport.budget import ByteBudget


class MessageHandler(Protocol):
    """What the loopback delivers to: the client's own server."""

    def handle(self, message: Message) -> None:
        """Act on one message as a server would on receiving it."""

    def finish(self) -> None:
        """The client stopped: run what is still pending."""


class LoopbackTransport:
    """Client and server transport in one: delivery is a direct call to ``handler``."""

    #: the client's own server, set by the owner once that server exists
    handler: MessageHandler

    def __init__(self, budget: ByteBudget):
        self.budget = budget

    def _deliver(self, message: Message) -> None:
        self.handler.handle(message)

    def send_block(self, server: int, block: Block) -> None:
        """Copy the block into this rank's buffer and hand it over (no waiting: nobody frees)."""
        self.budget.acquire(block.data.nbytes, timeout=0)
        self._deliver(BlockArrived(replace(block, data=block.data.copy()), block.data.nbytes))

    def send_blocks(
        self, server: int, variable: str, source: int, iteration: int, parts: list[BlockPart]
    ) -> None:
        """Reserve room for every block at once, then hand over a copy of each in order."""
        self.budget.acquire_all([array.nbytes for _, _, array in parts], timeout=0)
        for block, offsets, array in parts:
            copy = Block(variable, source, block, iteration, offsets, array.copy())
            self._deliver(BlockArrived(copy, array.nbytes))

    def send_end_iteration(self, server: int, source: int, iteration: int) -> None:
        """Runs this rank's scripts for ``iteration``."""
        self._deliver(IterationEnded(source, iteration))

    def send_stop(self, server: int, source: int) -> None:
        """Flush the local server."""
        self._deliver(ClientStopped(source))
        self.handler.finish()

    def receive(self) -> Message:
        """Never used: the loopback server is driven by the client's own calls."""
        raise RuntimeError("a loopback server is driven by its client, not by receive()")

    def release(self, arrived: BlockArrived) -> None:
        """Give the block's bytes back to the buffer."""
        self.budget.release(cast(int, arrived.handle))  # send_block made it the byte count
