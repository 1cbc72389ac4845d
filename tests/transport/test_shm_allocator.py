"""The shared-buffer allocator: fixed cases for the rules and messages, then a state machine
that checks every invariant after any sequence of allocations and frees against a simple model
(the live set is the truth; the free list must be exactly its complement)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from damaris_ref.core.errors import RunError
from damaris_ref.runtime.transport.base import BufferFullError
from damaris_ref.runtime.transport.shm_allocator import ShmAllocator

ALIGN = 64


def gaps(capacity: int, live: dict[int, int]) -> list[tuple[int, int]]:
    """The complement of the live ranges in [0, capacity), maximal and in address order."""
    out, cursor = [], 0
    for offset in sorted(live):
        if offset > cursor:
            out.append((cursor, offset - cursor))
        cursor = offset + live[offset]
    if cursor < capacity:
        out.append((cursor, capacity - cursor))
    return out


def test_rounds_capacity_down_and_sizes_up_to_the_alignment():
    alloc = ShmAllocator(1000, name="node0")
    assert alloc.capacity == 960
    assert alloc.reserved_size(0) == 64
    assert alloc.reserved_size(1) == 64
    assert alloc.reserved_size(64) == 64
    assert alloc.reserved_size(65) == 128
    assert [alloc.allocate(1), alloc.allocate(100), alloc.allocate(0)] == [0, 64, 192]


def test_best_fit_takes_the_smallest_hole_that_fits():
    alloc = ShmAllocator(10 * ALIGN)
    a = alloc.allocate(3 * ALIGN)  # [0, 3)
    alloc.allocate(ALIGN)  # [3, 4)
    b = alloc.allocate(ALIGN)  # [4, 5)
    alloc.allocate(ALIGN)  # [5, 6), free tail [6, 10)
    alloc.free(a)
    alloc.free(b)
    assert alloc.allocate(ALIGN) == 4 * ALIGN  # the 1-unit hole, not the 3-unit one
    assert alloc.allocate(4 * ALIGN) == 6 * ALIGN  # only the tail holds 4 units
    assert alloc.allocate(2 * ALIGN) == 0


def test_free_coalesces_both_neighbours():
    alloc = ShmAllocator(3 * ALIGN)
    offsets = [alloc.allocate(ALIGN) for _ in range(3)]
    alloc.free(offsets[0])
    alloc.free(offsets[2])
    assert alloc.free_extents() == [(0, ALIGN), (2 * ALIGN, ALIGN)]
    alloc.free(offsets[1])
    assert alloc.free_extents() == [(0, 3 * ALIGN)]


def test_full_buffer_error_names_buffer_sizes_and_fragmentation():
    alloc = ShmAllocator(4 * ALIGN, name="shm-node-0")
    offsets = [alloc.allocate(ALIGN) for _ in range(4)]
    alloc.free(offsets[0])
    alloc.free(offsets[2])
    with pytest.raises(BufferFullError) as info:
        alloc.allocate(2 * ALIGN)
    err = info.value
    assert isinstance(err, BufferFullError)
    assert (err.capacity, err.requested, err.free_bytes, err.largest_free_extent) == (
        256,
        128,
        128,
        64,
    )
    message = str(err)
    for part in ("'shm-node-0'", "256 bytes", "128 bytes", "largest free extent is 64 bytes"):
        assert part in message
    with pytest.raises(BufferFullError, match="larger than the whole buffer"):
        alloc.allocate(10_000)


def test_stats_track_used_and_free():
    alloc = ShmAllocator(8 * ALIGN)
    a = alloc.allocate(100)
    alloc.allocate(10)
    stats = alloc.stats()
    assert (stats.capacity, stats.used, stats.free) == (512, 192, 320)
    assert (stats.largest_free_extent, stats.live_allocations, stats.free_extents) == (320, 2, 1)
    alloc.free(a)
    assert alloc.stats().free_extents == 2
    assert alloc.size_of(128) == 64


@pytest.mark.parametrize(
    "args",
    [dict(capacity=63), dict(capacity=0), dict(capacity=4096, alignment=48)],
)
def test_rejects_unusable_construction(args):
    with pytest.raises(ValueError):
        ShmAllocator(**args)


def test_double_free_and_unknown_offsets_are_errors():
    alloc = ShmAllocator(4 * ALIGN)
    offset = alloc.allocate(1)
    alloc.free(offset)
    with pytest.raises(RunError, match="freed twice"):
        alloc.free(offset)
    with pytest.raises(RunError):
        alloc.size_of(ALIGN)
    with pytest.raises(ValueError):
        alloc.allocate(-1)


class AllocatorMachine(RuleBasedStateMachine):
    """Random allocate/free sequences on small buffers, where full and fragmented are common."""

    allocations = Bundle("allocations")

    @initialize(units=st.integers(1, 48), slack=st.integers(0, ALIGN - 1))
    def make(self, units: int, slack: int) -> None:
        self.alloc = ShmAllocator(units * ALIGN + slack, name="prop")
        self.capacity = units * ALIGN
        self.live: dict[int, int] = {}

    @rule(target=allocations, nbytes=st.integers(0, 20 * ALIGN))
    def allocate(self, nbytes: int):
        size = max(1, -(-nbytes // ALIGN)) * ALIGN
        fitting = [g for g in gaps(self.capacity, self.live) if g[1] >= size]
        if not fitting:
            with pytest.raises(BufferFullError):
                self.alloc.allocate(nbytes)
            return multiple()  # nothing to add to the bundle
        offset = self.alloc.allocate(nbytes)
        assert offset % ALIGN == 0
        assert offset >= 0 and offset + size <= self.capacity
        for other, other_size in self.live.items():
            assert offset + size <= other or other + other_size <= offset, "overlap"
        best_fit = min(fitting, key=lambda g: (g[1], g[0]))  # smallest, then lowest address
        assert offset == best_fit[0], "not best fit"
        self.live[offset] = size
        return offset

    @rule(offset=consumes(allocations))
    def free(self, offset: int) -> None:
        if offset not in self.live:  # already given back by free_everything: must be refused
            with pytest.raises(RunError):
                self.alloc.free(offset)
            return
        self.alloc.free(offset)
        del self.live[offset]
        with pytest.raises(RunError):
            self.alloc.free(offset)

    @rule()
    def free_everything(self) -> None:
        for offset in list(self.live):
            self.alloc.free(offset)
        self.live.clear()
        assert self.alloc.free_extents() == [(0, self.capacity)]
        assert self.alloc.largest_free_extent == self.capacity

    @invariant()
    def free_list_is_the_coalesced_complement_of_the_live_set(self) -> None:
        if not hasattr(self, "alloc"):
            return
        assert self.alloc.live_allocations() == self.live
        assert self.alloc.free_extents() == gaps(self.capacity, self.live)
        stats = self.alloc.stats()
        assert stats.used == sum(self.live.values())
        assert stats.used + stats.free == stats.capacity == self.capacity
        assert stats.largest_free_extent == max(
            (g[1] for g in gaps(self.capacity, self.live)), default=0
        )


# examples and deadline come from the hypothesis profile (tests/conftest.py); long runs here
AllocatorMachine.TestCase.settings = settings(stateful_step_count=60)
test_allocator_state_machine = AllocatorMachine.TestCase
