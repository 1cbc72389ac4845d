"""Property tests of the global array's chunks (:mod:`damaris_ref.dask_bridge.chunks`), of how
a server lays its blocks out (:mod:`damaris_ref.dask_bridge.layout`), and of the tasks
:mod:`damaris_ref.dask_bridge.assembly` makes of them.

Blocks on a random grid are held by servers, each server's blocks tiling a box of the grid or
dealt out at random; each server's blocks lie in one buffer, as in the lease its worker
reads: laid out as their box where they tile one, else back to back at byte offsets. The
array is computed with Dask's synchronous scheduler. Whatever the holding, the array is the
reassembly of the blocks (:func:`damaris_ref.core.data.reassemble`); where every server's
blocks tile a box, it has one chunk (one task) per server, the server's buffer itself.
Whether blocks tile a box is checked against :func:`damaris_ref.core.grid.block_grid`.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from damaris_ref.core.data import reassemble
from damaris_ref.core.grid import GridError, block_grid
from damaris_ref.dask_bridge import global_array, layout
from damaris_ref.dask_bridge.assembly import chunked_array
from damaris_ref.dask_bridge.chunks import Buffer, ServerBlocks, plan_chunks, tiled_box
from damaris_ref.dask_bridge.keys import BlockId

from strategies import grid_tilings

DTYPES = ("|i1", "<i2", "<i4", "<f8", "<u8")


@dataclass(frozen=True)
class Holding:
    """Blocks of a grid and the servers holding them: ``servers[s]`` lists server ``s``'s
    blocks as ``(offsets, array)``, in the order it lays them out."""

    chunks: tuple[tuple[int, ...], ...]
    dtype: np.dtype
    servers: list[list[tuple[list[int], np.ndarray]]]
    #: per axis, the grid cells where a new server's box starts (tiled holdings only)
    cuts: tuple[tuple[int, ...], ...] | None


@st.composite
def holdings(draw, tiled: bool) -> Holding:
    """A random grid of blocks (from the origin) and its servers: in ``tiled`` holdings each
    server holds the blocks of one box of the grid, otherwise each block goes to any of 1-4
    servers."""
    _, grid, blocks = draw(grid_tilings(at_origin=True))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(sum(sizes) for sizes in grid)
    whole = np.arange(np.prod(shape)).astype(dtype).reshape(shape)
    starts = [list(itertools.accumulate(sizes, initial=0)) for sizes in grid]
    cuts = None
    if tiled:
        cuts = tuple(
            tuple(sorted(draw(st.sets(st.integers(1, len(sizes) - 1), max_size=3))))
            if len(sizes) > 1
            else ()
            for sizes in grid
        )
    servers: dict[tuple[int, ...], list] = {}
    for _, offsets, size in blocks:
        if cuts is not None:
            cell = [starts[d].index(o) for d, o in enumerate(offsets)]
            server = tuple(bisect.bisect_right(cuts[d], i) for d, i in enumerate(cell))
        else:
            server = (draw(st.integers(0, 3)),)
        region = tuple(slice(o, o + n) for o, n in zip(offsets, size, strict=True))
        servers.setdefault(server, []).append((offsets, whole[region].copy()))
    return Holding(grid, dtype, list(servers.values()), cuts)


@st.composite
def laid_out(draw, holding: Holding) -> tuple[list[ServerBlocks], list[np.ndarray]]:
    """Each server's blocks in one buffer as its server lays them out (as their box if they
    tile one, else back to back, here at offsets aligned to their dtype or not), and its
    description; the buffers, one per server."""
    parts, buffers = [], []
    for server, held in enumerate(holding.servers):
        ids = [BlockId(server, block) for block in range(len(held))]
        blocks = [b for _, b in held]
        part = ServerBlocks.of(ids, [o for o, _ in held], blocks)
        if part.box is not None:
            buffer = np.empty(part.box[1], dtype=holding.dtype)
            layout.fill_box(buffer, part.offsets - np.asarray(part.box[0]), blocks)
            buffers.append(buffer)
            parts.append(part.delivered(Buffer(f"S{server}", None, None)))
            continue
        raw, starts = bytearray(), []
        for block in blocks:
            raw += bytes(draw(st.sampled_from([0, 0, 1, 3, 8])))  # padding
            starts.append(len(raw))
            raw += block.tobytes()
        buffers.append(np.frombuffer(bytes(raw), dtype=np.uint8))
        parts.append(part.delivered(Buffer(f"S{server}", None, tuple(starts))))
    return parts, buffers


def _ready(parts: list[ServerBlocks], buffers: list[np.ndarray]) -> dict[int, np.ndarray]:
    """The buffers that are chunks as they are (as a lease under the chunk's key is)."""
    return {
        i: buffer for i, (part, buffer) in enumerate(zip(parts, buffers, strict=True)) if part.box
    }


def _reassembled(holding: Holding) -> np.ndarray:
    pieces = [piece for held in holding.servers for piece in held]
    return reassemble(pieces, origin=(0,) * len(holding.chunks))


@pytest.mark.parametrize("one_by_one", [False, True], ids=["index-arrays", "block-by-block"])
@pytest.mark.parametrize("per_server", [True, False], ids=["server-chunks", "block-chunks"])
@pytest.mark.parametrize("leased", [True, False], ids=["leased-chunks", "tasks-only"])
@given(st.data())
def test_the_array_is_the_reassembly_of_the_blocks_however_servers_hold_them(
    one_by_one: bool, per_server: bool, leased: bool, data: st.DataObject
) -> None:
    holding = data.draw(holdings(tiled=data.draw(st.booleans())))
    # small blocks are laid out in their box together, larger ones one by one: both ways here
    with mock.patch.object(layout, "SMALL_BLOCK_ELEMENTS", 0 if one_by_one else 256):
        parts, buffers = data.draw(laid_out(holding))
    ready = _ready(parts, buffers) if leased else None
    array = chunked_array("g", plan_chunks(parts, per_server), parts, buffers, ready)
    got = array.compute(scheduler="sync")
    assert got.dtype == holding.dtype
    np.testing.assert_array_equal(got, _reassembled(holding))
    blocks = sum(len(held) for held in holding.servers)
    assert len(holding.servers) <= len(array.__dask_graph__()) <= blocks
    if not per_server:
        assert array.chunks == holding.chunks


@given(st.data())
def test_servers_whose_blocks_tile_a_box_give_one_chunk_each_their_buffer(
    data: st.DataObject,
) -> None:
    holding = data.draw(holdings(tiled=True))
    parts, buffers = data.draw(laid_out(holding))
    ready = _ready(parts, buffers)
    array = chunked_array("g", plan_chunks(parts), parts, buffers, ready)
    graph = array.__dask_graph__()
    assert len(graph) == len(holding.servers)
    assert sorted(id(value) for value in graph.values()) == sorted(map(id, buffers))
    assert holding.cuts is not None
    expected = tuple(
        tuple(sum(sizes[a:b]) for a, b in itertools.pairwise((0, *cut, len(sizes))))
        for sizes, cut in zip(holding.chunks, holding.cuts, strict=True)
    )
    assert array.chunks == expected
    assert plan_chunks(parts, per_server=False).chunks == holding.chunks


@given(st.data())
def test_a_block_held_twice_is_an_overlap_naming_both_blocks(data: st.DataObject) -> None:
    holding = data.draw(holdings(tiled=data.draw(st.booleans())))
    servers = holding.servers
    original = data.draw(st.sampled_from(range(len(servers))))
    block = data.draw(st.sampled_from(range(len(servers[original]))))
    twin = data.draw(st.sampled_from(range(len(servers))))
    servers[twin].append(servers[original][block])
    parts, _ = data.draw(laid_out(holding))
    with pytest.raises(GridError, match="overlap") as caught:
        plan_chunks(parts)
    message = str(caught.value)
    assert f"P{original}_B{block}" in message
    assert f"P{twin}_B{len(servers[twin]) - 1}" in message


@st.composite
def block_sets(draw) -> list[tuple]:
    """Blocks ``(id, offsets, shape)`` that may tile a box or not: all blocks of a grid; some
    of them (gaps); all and one twice (an overlap); all but one replaced by a twin of another
    (a gap and an overlap, as many blocks as cells); a grid with one block grown over its
    neighbour (straddling a boundary, with or without the neighbour); or random boxes."""
    _, grid, blocks = draw(grid_tilings())
    kind = draw(st.sampled_from(["grid", "some", "twice", "swapped", "grown", "random"]))
    if kind == "some":
        return draw(st.lists(st.sampled_from(blocks), min_size=1, unique_by=lambda b: b[0]))
    if kind in ("twice", "swapped"):
        twin = draw(st.sampled_from(blocks))
        gone = draw(st.sampled_from(blocks)) if kind == "swapped" else None
        return [b for b in blocks if b is not gone] + [("twin", twin[1], twin[2])]
    if kind == "grown":
        axis = draw(st.integers(0, len(grid) - 1))
        ident, offsets, shape = draw(st.sampled_from(blocks))
        neighbour = list(offsets)
        neighbour[axis] += shape[axis]
        grown = next((b for b in blocks if b[1] == neighbour), None)
        if grown is not None:
            size = [n + (grown[2][axis] if d == axis else 0) for d, n in enumerate(shape)]
            keep = draw(st.booleans())
            blocks = [b for b in blocks if b[0] != ident and (keep or b is not grown)]
            blocks.append((ident, offsets, size))
    if kind == "random":
        ndim = len(grid)
        boxes = st.tuples(
            st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim),
            st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim),
        )
        found = draw(st.lists(boxes, min_size=1, max_size=6))
        return [(f"r{i}", offsets, shape) for i, (offsets, shape) in enumerate(found)]
    return blocks


@given(block_sets())
def test_a_box_is_found_exactly_where_the_blocks_make_a_grid_with_no_gap(blocks) -> None:
    offsets = np.array([b[1] for b in blocks], dtype=np.int64)
    shapes = np.array([b[2] for b in blocks], dtype=np.int64)
    try:
        grid = block_grid([(i, b[1], b[2]) for i, b in enumerate(blocks)])
    except GridError:
        assert tiled_box(offsets, shapes) is None
    else:
        assert tiled_box(offsets, shapes) == (grid.origin, grid.shape)


def test_blocks_of_several_dtypes_on_one_server_are_refused() -> None:
    blocks = [np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.float64)]
    with pytest.raises(ValueError, match=r"several dtypes: \['<f8', '<i4'\]"):
        ServerBlocks.of([BlockId(0, 0), BlockId(0, 1)], [[0], [2]], blocks)


def test_an_unknown_chunking_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"chunks='brick'; use 'server' or 'block'"):
        global_array({}, "field", None, chunks="brick")  # type: ignore[arg-type]


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3).flatmap(
        lambda counts: st.tuples(
            st.just(counts), st.lists(st.integers(1, 5), min_size=len(counts), max_size=len(counts))
        )
    ),
    st.sampled_from(DTYPES),
    st.randoms(use_true_random=False),
)
def test_equal_blocks_on_a_regular_grid_are_laid_out_as_their_box(grid, dtype, order) -> None:
    counts, size = grid
    shape = tuple(c * s for c, s in zip(counts, size, strict=True))
    whole = np.arange(np.prod(shape)).astype(dtype).reshape(shape)
    cells = list(itertools.product(*(range(c) for c in counts)))
    order.shuffle(cells)  # in any order the server received them
    starts = np.array([[i * s for i, s in zip(cell, size, strict=True)] for cell in cells])
    blocks = [whole[layout.box_slices(start, size)].copy() for start in starts.tolist()]
    box = np.empty(shape, dtype=dtype)
    layout.fill_box(box, starts.reshape(len(cells), len(shape)), blocks)
    np.testing.assert_array_equal(box, whole)
