"""A worker's copy-out of held blocks, in one process: every byte of the blocks keeps its
address and value once the node buffer is written over, and once no hold reads the buffer
through the mapping, no page of it maps the buffer any more (a kept dataset holds nothing of
it)."""

from __future__ import annotations

import mmap
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from damaris_ref.dask_bridge.hand_off import merged_runs
from damaris_ref.dask_bridge.in_place import _NodeMapping

PAGE = mmap.PAGESIZE
NAME = "damaris-test-node-buffer"


def _node_buffer_mapped() -> bool:
    with open("/proc/self/maps") as maps:
        return any(NAME in line for line in maps)


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="needs memfd_create (Linux)")
@pytest.mark.parametrize(
    "runs",
    [((0, 5 * PAGE),), ((100, 50), (3 * PAGE + 10, 20)), ((PAGE - 8, 16), (4 * PAGE, PAGE))],
    ids=["the whole window", "two blocks pages apart", "blocks across page edges"],
)
def test_copied_out_blocks_keep_their_bytes_and_the_mapping_leaves_the_buffer(runs):
    fd = os.memfd_create(NAME)
    try:
        os.ftruncate(fd, 5 * PAGE)
        written = np.random.default_rng(1).integers(1, 255, 5 * PAGE, dtype=np.uint8)
        os.pwrite(fd, written.tobytes(), 0)
        mapping = _NodeMapping(fd, 5 * PAGE)
        window = mapping.view(0, 5 * PAGE)
        blocks = [window[offset : offset + nbytes] for offset, nbytes in runs]
        addresses = [block.ctypes.data for block in blocks]
        assert _node_buffer_mapped()

        mapping.copy(runs)
        os.pwrite(fd, bytes(5 * PAGE), 0)  # the clients write over every byte
        for (offset, nbytes), block, address in zip(runs, blocks, addresses, strict=True):
            assert block.ctypes.data == address
            np.testing.assert_array_equal(block, written[offset : offset + nbytes])
        copied = {
            page for offset, n in runs for page in range(offset // PAGE, -(-(offset + n) // PAGE))
        }
        # the rest of the mapping, if any, still reads the buffer (for other holds)
        assert _node_buffer_mapped() == (len(copied) < 5)

        mapping.leave_buffer()
        assert not _node_buffer_mapped()
        for (offset, nbytes), block in zip(runs, blocks, strict=True):
            np.testing.assert_array_equal(block, written[offset : offset + nbytes])
    finally:
        os.close(fd)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 50)), max_size=12))
def test_merged_runs_cover_exactly_the_blocks_bytes_apart_and_in_order(runs):
    merged = merged_runs(runs)
    covered = {byte for offset, nbytes in runs for byte in range(offset, offset + nbytes)}
    assert {byte for offset, nbytes in merged for byte in range(offset, offset + nbytes)} == covered
    ends = [offset + nbytes for offset, nbytes in merged]
    assert all(end < following for end, (following, _) in zip(ends, merged[1:], strict=False))
