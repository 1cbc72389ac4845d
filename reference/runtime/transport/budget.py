"""Byte accounting of a node's shared buffer for transports that do not allocate real memory.

``architecture.buffer.size`` bounds the data in flight on a node (spec §2). A block larger
than the whole buffer fails at once; otherwise a writer waits (up to a timeout) for servers
to free space, because a client running ahead of its server is normal and temporary.
"""

from __future__ import annotations

import threading

from damaris_ref.runtime.transport.base import BufferFullError, WorldAborted


def buffer_full_message(name: str, capacity: int, request: int, in_use: int, why: str) -> str:
    """The one wording of a full-buffer error, shared by every transport."""
    return (
        f"buffer {name!r} (architecture.buffer.size = {capacity} bytes) cannot hold a block of "
        f"{request} bytes: {why} ({in_use} bytes in use); raise architecture.buffer.size or "
        "write smaller blocks"
    )


class ByteBudget:
    """A counter of bytes in use, bounded by ``capacity``, safe across threads."""

    def __init__(self, name: str, capacity: int):
        self.name = name
        self.capacity = capacity
        self.in_use = 0
        self._changed = threading.Condition()
        self._abort_reason: str | None = None

    def acquire(self, nbytes: int, timeout: float) -> None:
        """Reserve ``nbytes``, waiting up to ``timeout`` s for space; BufferFullError if not."""
        with self._changed:
            if nbytes > self.capacity:
                raise self._full(nbytes, "the block is larger than the whole buffer")
            fits = self._changed.wait_for(
                lambda: self._abort_reason is not None or self.in_use + nbytes <= self.capacity,
                timeout,
            )
            if self._abort_reason is not None:
                raise WorldAborted(f"buffer {self.name!r}: {self._abort_reason}")
            if not fits:
                raise self._full(nbytes, f"no space was freed within {timeout:g} s")
            self.in_use += nbytes

    def acquire_all(self, sizes: list[int], timeout: float) -> None:
        """Reserve one block of each of ``sizes`` bytes, all or none: their sum at once when
        the buffer can hold it, otherwise one after the other as single writes would (giving
        back what was reserved if one fails)."""
        total = sum(sizes)
        if total <= self.capacity:
            self.acquire(total, timeout)
            return
        taken = 0
        try:
            for nbytes in sizes:
                self.acquire(nbytes, timeout)
                taken += nbytes
        except BaseException:
            self.release(taken)
            raise

    def _full(self, nbytes: int, why: str) -> BufferFullError:
        return BufferFullError(
            buffer_full_message(self.name, self.capacity, nbytes, self.in_use, why)
        )

    def release(self, nbytes: int) -> None:
        """Give back ``nbytes`` reserved earlier."""
        with self._changed:
            self.in_use -= nbytes
            self._changed.notify_all()

    def abort(self, reason: str) -> None:
        """Make every waiting and future ``acquire`` raise WorldAborted(``reason``)."""
        with self._changed:
            self._abort_reason = reason
            self._changed.notify_all()
