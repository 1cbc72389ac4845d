"""Property tests of :mod:`damaris_ref.core.grid`: any rectilinear tiling, in any order, gives back
its chunk grid; gaps, overlaps and tilings that are not a grid raise a GridError naming where.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from damaris_ref.core.grid import GridError, block_grid

from strategies import cell_offsets
from strategies import grid_tilings as tilings


def _box(blocks) -> tuple[list[int], list[int]]:
    ndim = len(blocks[0][1])
    low = [min(b[1][d] for b in blocks) for d in range(ndim)]
    high = [max(b[1][d] + b[2][d] for b in blocks) for d in range(ndim)]
    return low, high


@given(tilings())
def test_any_order_of_a_tiling_gives_back_its_grid(tiling) -> None:
    origin, chunks, blocks = tiling
    grid = block_grid(blocks)
    assert grid.origin == origin
    assert grid.chunks == chunks
    assert grid.shape == tuple(sum(c) for c in chunks)
    for index, ident in grid.cells.items():
        offsets = cell_offsets(origin, chunks, index)
        assert next(b for b in blocks if b[0] == ident)[1] == offsets


@given(tilings(), st.data())
def test_a_missing_block_is_a_gap_named_by_its_offsets(tiling, data) -> None:
    _, _, blocks = tiling
    assume(len(blocks) > 1)
    missing = data.draw(st.sampled_from(blocks))
    rest = [b for b in blocks if b is not missing]
    # without the last block of a row the rest is a smaller, valid grid: not a gap
    assume(_box(rest) == _box(blocks))
    with pytest.raises(GridError, match="gap") as caught:
        block_grid(rest)
    assert f"offsets {missing[1]}" in str(caught.value)


@given(tilings(), st.data())
def test_a_block_covered_twice_is_an_overlap_naming_both(tiling, data) -> None:
    _, _, blocks = tiling
    twin = data.draw(st.sampled_from(blocks))
    position = data.draw(st.integers(0, len(blocks)))
    with pytest.raises(GridError, match="overlap") as caught:
        block_grid([*blocks[:position], ("twin", twin[1], twin[2]), *blocks[position:]])
    message = str(caught.value)
    assert twin[0] in message and "twin" in message and f"offsets {twin[1]}" in message


@given(tilings(), st.data())
def test_a_block_spanning_two_cells_is_not_a_grid(tiling, data) -> None:
    _, chunks, blocks = tiling
    axis = data.draw(st.integers(0, len(chunks) - 1))
    assume(len(chunks[axis]) > 1)
    # another slab keeps the boundary the merged block straddles
    assume(len(blocks) > len(chunks[axis]))
    first = data.draw(
        st.sampled_from([b for b in blocks if b[1][axis] < _box(blocks)[1][axis] - b[2][axis]])
    )
    second = next(
        b
        for b in blocks
        if b[1][axis] == first[1][axis] + first[2][axis]
        and all(b[1][d] == first[1][d] for d in range(len(chunks)) if d != axis)
    )
    shape = list(first[2])
    shape[axis] += second[2][axis]
    rest = [b for b in blocks if b is not first and b is not second]
    with pytest.raises(
        GridError, match=f"does not fit one cell of the grid along axis {axis}"
    ) as caught:
        block_grid([*rest, ("merged", first[1], shape)])
    assert f"block merged at offsets {first[1]}" in str(caught.value)


def test_an_explicit_origin_reports_the_uncovered_start_as_a_gap() -> None:
    with pytest.raises(GridError, match=r"gap: no block covers the cell at offsets \[0, 0\]"):
        block_grid([("a", (0, 2), (2, 2)), ("b", (2, 2), (1, 2))], origin=(0, 0))


def test_a_block_before_the_origin_does_not_fit() -> None:
    with pytest.raises(GridError, match=r"block a at offsets \[0\]"):
        block_grid([("a", (0,), (2,)), ("b", (2,), (2,))], origin=(1,))


def test_blocks_of_different_dimensions_are_rejected() -> None:
    with pytest.raises(GridError, match=r"block b has offsets \[0\] and shape \[2\]"):
        block_grid([("a", (0, 0), (2, 2)), ("b", (0,), (2,))])


def test_no_blocks_is_an_error() -> None:
    with pytest.raises(GridError, match="no blocks"):
        block_grid([])


def test_an_empty_block_is_a_grid_error():
    with pytest.raises(GridError, match=r"block b has an empty shape \[0, 2\]"):
        block_grid([("a", (0, 0), (2, 2)), ("b", (2, 0), (0, 2))])
