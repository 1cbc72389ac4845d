"""Space management inside one node's shared-memory segment, as plain bookkeeping.

The MPI transport copies each client block into a shared segment of
``architecture.buffer.size`` bytes; this module only decides *where* in that segment a block
goes. It works on offsets in ``[0, capacity)`` and never touches memory or MPI, so property
tests can hammer it and the transport can put it wherever the bookkeeping has to live.

Policy: best-fit over an address-ordered free list (the smallest free extent that holds the
request, lowest address on ties), splitting the extent and coalescing neighbours on free. Best
fit keeps the large extents whole for large blocks when block sizes are mixed. A request that
does not fit raises a :class:`~damaris_ref.runtime.transport.base.BufferFullError` at once:
whether to wait for the server to free space is the caller's policy, not the allocator's.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from damaris_ref.core.errors import RunError
from damaris_ref.runtime.transport.base import BufferFullError

#: offsets and reserved sizes are multiples of this (a cache line; enough for every NumPy dtype)
DEFAULT_ALIGNMENT = 64


def no_free_extent(
    buffer_name: str, capacity: int, requested: int, free_bytes: int, largest_free_extent: int
) -> BufferFullError:
    """The error of a request no free extent can hold, with the numbers to size the buffer."""
    if requested > capacity:
        why = "the request is larger than the whole buffer"
    elif requested > free_bytes:
        why = f"only {free_bytes} bytes are free"
    else:
        why = (
            f"{free_bytes} bytes are free but fragmented: the largest free extent is "
            f"{largest_free_extent} bytes"
        )
    return BufferFullError(
        f"shared buffer {buffer_name!r} ({capacity} bytes) cannot hold a block of "
        f"{requested} bytes: {why}; raise architecture.buffer.size or write less per "
        f"iteration",
        buffer_name=buffer_name,
        capacity=capacity,
        requested=requested,
        free_bytes=free_bytes,
        largest_free_extent=largest_free_extent,
    )


@dataclass(frozen=True)
class AllocatorStats:
    """A snapshot of a buffer's occupancy, in bytes (reserved sizes, alignment included)."""

    capacity: int
    used: int
    free: int
    largest_free_extent: int
    live_allocations: int
    free_extents: int


class ShmAllocator:
    """Allocate aligned byte ranges of a buffer of ``capacity`` bytes and give them back.

    ``capacity`` is rounded down to a multiple of ``alignment`` (the tail cannot hold an aligned
    block). Each allocation reserves its size rounded up to ``alignment``, and at least one
    alignment unit, so that even an empty block has an offset of its own. Not thread-safe: the
    owner serialises calls.
    """

    def __init__(
        self, capacity: int, *, name: str = "buffer", alignment: int = DEFAULT_ALIGNMENT
    ) -> None:
        if alignment <= 0 or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a positive power of two, got {alignment}")
        usable = (capacity // alignment) * alignment
        if usable <= 0:
            raise ValueError(
                f"shared buffer {name!r}: capacity {capacity} bytes is smaller than the "
                f"{alignment}-byte alignment"
            )
        self._name = name
        self._alignment = alignment
        self._capacity = usable
        # free extents, sorted by offset and never adjacent: parallel lists for bisect
        self._free_offsets: list[int] = [0]
        self._free_sizes: list[int] = [usable]
        self._live: dict[int, int] = {}  # offset -> reserved size
        self._used = 0

    @property
    def name(self) -> str:
        """The buffer's name, used in error messages."""
        return self._name

    @property
    def capacity(self) -> int:
        """Usable bytes (the requested capacity rounded down to the alignment)."""
        return self._capacity

    @property
    def alignment(self) -> int:
        """Every offset and reserved size is a multiple of this."""
        return self._alignment

    def reserved_size(self, nbytes: int) -> int:
        """Bytes an allocation of ``nbytes`` takes from the buffer."""
        if nbytes < 0:
            raise ValueError(f"cannot allocate a negative size ({nbytes} bytes)")
        units = max(1, -(-nbytes // self._alignment))
        return units * self._alignment

    def allocate(self, nbytes: int) -> int:
        """Reserve room for ``nbytes`` and return its offset; raise BufferFullError if none."""
        alignment = self._alignment
        size = -(-nbytes // alignment) * alignment if nbytes > 0 else self.reserved_size(nbytes)
        sizes = self._free_sizes
        if len(sizes) == 1:  # the usual case: one free extent, nothing to choose
            best = 0 if sizes[0] >= size else -1
        else:
            best = -1
            for i, extent in enumerate(sizes):
                if extent >= size and (best < 0 or extent < sizes[best]):
                    best = i
                    if extent == size:
                        break
        if best < 0:
            raise no_free_extent(
                self._name, self._capacity, nbytes, self.free_bytes, self.largest_free_extent
            )
        offset = self._free_offsets[best]
        if self._free_sizes[best] == size:
            del self._free_offsets[best]
            del self._free_sizes[best]
        else:
            self._free_offsets[best] += size
            self._free_sizes[best] -= size
        self._live[offset] = size
        self._used += size
        return offset

    def free(self, offset: int) -> None:
        """Give back the allocation that starts at ``offset``, merging it with free neighbours."""
        size = self._live.pop(offset, None)
        if size is None:
            raise RunError(
                f"shared buffer {self._name!r}: no live allocation at offset {offset} "
                f"(freed twice, or never allocated)"
            )
        self._used -= size
        i = bisect.bisect_left(self._free_offsets, offset)
        merges_left = i > 0 and self._free_offsets[i - 1] + self._free_sizes[i - 1] == offset
        merges_right = i < len(self._free_offsets) and offset + size == self._free_offsets[i]
        if merges_left and merges_right:
            self._free_sizes[i - 1] += size + self._free_sizes[i]
            del self._free_offsets[i]
            del self._free_sizes[i]
        elif merges_left:
            self._free_sizes[i - 1] += size
        elif merges_right:
            self._free_offsets[i] = offset
            self._free_sizes[i] += size
        else:
            self._free_offsets.insert(i, offset)
            self._free_sizes.insert(i, size)

    def size_of(self, offset: int) -> int:
        """Reserved size of the live allocation at ``offset``."""
        try:
            return self._live[offset]
        except KeyError:
            raise RunError(
                f"shared buffer {self._name!r}: no live allocation at offset {offset}"
            ) from None

    def live_allocations(self) -> dict[int, int]:
        """A copy of the live allocations as ``{offset: reserved size}``."""
        return dict(self._live)

    def free_extents(self) -> list[tuple[int, int]]:
        """The free extents as ``(offset, size)`` pairs in address order."""
        return list(zip(self._free_offsets, self._free_sizes, strict=True))

    @property
    def used_bytes(self) -> int:
        """Bytes reserved by live allocations."""
        return self._used

    @property
    def free_bytes(self) -> int:
        """Bytes not reserved (possibly spread over several extents)."""
        return self._capacity - self._used

    @property
    def largest_free_extent(self) -> int:
        """The largest request that can succeed right now, in bytes."""
        return max(self._free_sizes, default=0)

    def stats(self) -> AllocatorStats:
        """A snapshot of the occupancy, for logs and benchmarks."""
        return AllocatorStats(
            capacity=self._capacity,
            used=self._used,
            free=self.free_bytes,
            largest_free_extent=self.largest_free_extent,
            live_allocations=len(self._live),
            free_extents=len(self._free_sizes),
        )
