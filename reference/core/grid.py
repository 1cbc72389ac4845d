"""Arrange blocks known only by (offsets, shape) into a chunk grid, or say why they cannot be.

A global ``dask.array`` needs its blocks on a rectilinear grid: per axis, a list of chunk
sizes, and each block filling exactly one grid cell. This pure module derives that grid from
the blocks' offsets (any arrival order, irregular chunk sizes allowed) and rejects gaps,
overlaps and tilings that are not a grid with an error naming the offending block or cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from damaris_ref.core.errors import UsageError

__all__ = ["BlockGrid", "BlockId", "GridError", "block_grid"]

#: how the caller names its blocks (a Dask key, a block key...): any hashable value
BlockId = TypeVar("BlockId", bound=Hashable)


#: the earlier name of this error: a deprecated alias, kept for one release
GridError = UsageError


@dataclass(frozen=True)
class BlockGrid(Generic[BlockId]):
    """``chunks[d]`` are the chunk sizes along axis ``d``; ``cells[index]`` the block id there."""

    origin: tuple[int, ...]
    chunks: tuple[tuple[int, ...], ...]
    cells: dict[tuple[int, ...], BlockId]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the array the grid tiles: per axis, the sum of its chunk sizes."""
        return tuple(sum(c) for c in self.chunks)


def block_grid(
    blocks: Sequence[tuple[BlockId, Sequence[int], Sequence[int]]],
    origin: Sequence[int] | None = None,
) -> BlockGrid[BlockId]:
    """Build the grid of ``(block id, offsets, shape)`` triples.

    The grid starts at ``origin`` (default: the smallest offsets). Boundaries along each axis
    are every block's start and end; a block must span exactly one interval per axis.
    """
    if not blocks:
        raise UsageError("no blocks to arrange")
    ndim = len(blocks[0][1])
    for ident, offsets, shape in blocks:
        if len(offsets) != ndim or len(shape) != ndim:
            raise UsageError(
                f"block {ident} has offsets {list(offsets)} and shape {list(shape)}; "
                f"expected {ndim} dimension(s) like the first block"
            )
        if any(n <= 0 for n in shape):
            raise UsageError(f"block {ident} has an empty shape {list(shape)}")
    low = (
        tuple(origin)
        if origin is not None
        else tuple(min(b[1][d] for b in blocks) for d in range(ndim))
    )
    edges = []
    for d in range(ndim):
        points = {low[d]}
        for _, offsets, shape in blocks:
            points.update((offsets[d], offsets[d] + shape[d]))
        edges.append(sorted(points))
    # where each boundary sits, found in O(1): a list search per block would make the grid
    # quadratic in the blocks along an axis
    positions = [{point: i for i, point in enumerate(e)} for e in edges]
    cells: dict[tuple[int, ...], BlockId] = {}
    for ident, offsets, shape in blocks:
        index = []
        for d in range(ndim):
            start = positions[d][offsets[d]]
            if offsets[d] < low[d] or edges[d][start + 1] != offsets[d] + shape[d]:
                raise UsageError(
                    f"block {ident} at offsets {list(offsets)} with shape {list(shape)} does not "
                    f"fit one cell of the grid along axis {d} (boundaries {edges[d]}): blocks "
                    "must tile a rectilinear grid"
                )
            index.append(start)
        cell = tuple(index)
        if cell in cells:
            raise UsageError(
                f"overlap: blocks {cells[cell]} and {ident} both cover the cell at offsets "
                f"{[edges[d][i] for d, i in enumerate(cell)]}"
            )
        cells[cell] = ident
    counts = [len(e) - 1 for e in edges]
    for cell in itertools.product(*(range(n) for n in counts)):
        if cell not in cells:
            raise UsageError(
                f"gap: no block covers the cell at offsets "
                f"{[edges[d][i] for d, i in enumerate(cell)]}"
            )
    chunks = tuple(tuple(b - a for a, b in itertools.pairwise(e)) for e in edges)
    return BlockGrid(origin=low, chunks=chunks, cells=cells)
