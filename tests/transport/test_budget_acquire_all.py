"""``ByteBudget.acquire_all``: the byte accounting of a ``write_blocks`` batch, all or none."""

from __future__ import annotations

import pytest

from damaris_ref.runtime.transport.base import BufferFullError
from damaris_ref.runtime.transport.budget import ByteBudget


def test_blocks_that_fit_together_are_reserved_at_once():
    budget = ByteBudget("buf", 100)
    budget.acquire_all([30, 30, 30], timeout=0)
    assert budget.in_use == 90


def test_blocks_larger_together_than_the_buffer_are_reserved_one_by_one_or_not_at_all():
    budget = ByteBudget("buf", 100)
    budget.acquire(10, timeout=0)
    with pytest.raises(BufferFullError, match=r"no space was freed within 0 s"):
        budget.acquire_all([40, 40, 40], timeout=0)  # the third finds no room
    assert budget.in_use == 10  # the first two were given back


def test_a_block_larger_than_the_whole_buffer_fails_at_once_and_reserves_nothing():
    budget = ByteBudget("buf", 100)
    with pytest.raises(BufferFullError, match="larger than the whole buffer"):
        budget.acquire_all([10, 150], timeout=5)
    assert budget.in_use == 0
