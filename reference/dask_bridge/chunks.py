"""Which blocks make each chunk of a global array: one chunk per server where the blocks it
holds tile a box, one chunk per block elsewhere.

Every chunk of a ``dask.array`` is a task, and at thousands of blocks per server the tasks,
not the bytes, are what a global array costs. So where the blocks one server holds for a
variable tile a box of the global array on a grid (the usual domain decomposition), the
server lays them out as that box in the buffer its worker reads
(:mod:`~damaris_ref.dask_bridge.layout`), and where the servers' boxes form a grid, each box
is one chunk: the buffer itself. Otherwise every block is a chunk of its own, placed by its
offsets (:func:`damaris_ref.core.grid.block_grid`, whose errors name the blocks). The array's
values are the same either way; only its chunks differ.

Each server describes its own blocks and finds their box (:meth:`ServerBlocks.of`, in NumPy
arrays: a server may hold thousands), so server 0 only arranges one box per server. This
module is pure: no Dask, no MPI.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from damaris_ref.core.grid import GridError, block_grid
from damaris_ref.dask_bridge.keys import BlockId

#: a box of the global array: its offsets and its shape
Box = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class SlotWrite:
    """Blocks a server copied into its shared-memory slot, for server 0 to lease on the
    server's worker: the slot's Dask key, the call's generation there, the bytes written and
    the worker's address."""

    key: str
    generation: int
    nbytes: int
    worker: str


@dataclass(frozen=True)
class HeldBlock:
    """A server's blocks, read by its worker where their clients wrote them: the Dask key of
    the worker's node reader, the hold that keeps them there, and the window of the node
    buffer they lie in: its first byte ``offset``, ``length`` bytes, and the blocks' bytes in
    it as merged ``runs`` of ``(offset, bytes)``."""

    reader: str
    hold: int
    offset: int
    length: int
    runs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Buffer:
    """The one buffer a server's blocks lie in for its worker: already on the worker under
    ``key`` (scattered), written to ``slot`` and leased by server 0 (then ``key`` is that of
    the server's lease where one is needed), or ``held`` where their clients wrote them. Laid
    out as the server's box when ``starts`` is None (one held block is its own box), else at
    byte ``starts``, one per block (in a held window, wherever the clients wrote them)."""

    key: str
    slot: SlotWrite | None
    starts: tuple[int, ...] | None
    held: HeldBlock | None = None


@dataclass(frozen=True, eq=False)
class ServerBlocks:
    """One server's blocks of one variable, one row per block: ``ids`` (source, block),
    ``offsets`` and ``shapes`` in the global array; ``box``, the box they tile if they do;
    ``buffer``, where its worker reads them (set once they are delivered)."""

    dtype: str
    ids: np.ndarray
    offsets: np.ndarray
    shapes: np.ndarray
    box: Box | None
    buffer: Buffer | None = None

    @classmethod
    def of(
        cls, ids: Sequence[BlockId], offsets: Sequence[Sequence[int]], blocks: Sequence[np.ndarray]
    ) -> ServerBlocks:
        """Describe ``blocks`` (at least one) and find their box. ValueError if they are of
        several dtypes, GridError if not all of one dimension."""
        kinds = {block.dtype for block in blocks}
        if len(kinds) > 1:
            raise ValueError(
                f"this server's blocks are of several dtypes: {sorted(k.str for k in kinds)}"
            )
        count, ndim = len(blocks), blocks[0].ndim
        if {len(where) for where in offsets} | {block.ndim for block in blocks} != {ndim}:
            # the grid says which block and how
            block_grid([(i, o, b.shape) for i, o, b in zip(ids, offsets, blocks, strict=True)])
        places = _table(offsets, count, ndim)
        shapes = _table((block.shape for block in blocks), count, ndim)
        return cls(
            blocks[0].dtype.str, _table(ids, count, 2), places, shapes, tiled_box(places, shapes)
        )

    def delivered(self, buffer: Buffer) -> ServerBlocks:
        """These blocks, read from ``buffer`` (laid out as their box if ``buffer.starts`` is
        None: ValueError if they have none)."""
        if buffer.starts is None and self.box is None:
            raise ValueError("blocks that tile no box cannot be laid out as one")
        return dataclasses.replace(self, buffer=buffer)

    def block_id(self, row: int) -> BlockId:
        """The id of the block in ``row``."""
        source, block = self.ids[row].tolist()
        return BlockId(source, block)

    def whole_box(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` is this server's whole box, laid out as such: its buffer is the
        chunk."""
        return (
            self.box is not None
            and self.buffer is not None
            and self.buffer.starts is None
            and (chunk.origin, chunk.shape) == self.box
        )


def _table(rows: Iterable[Iterable[int]], count: int, width: int) -> np.ndarray:
    """``count`` rows of ``width`` integers as an array."""
    values = itertools.chain.from_iterable(rows)
    return np.fromiter(values, dtype=np.int64, count=count * width).reshape(count, width)


def tiled_box(offsets: np.ndarray, shapes: np.ndarray) -> Box | None:
    """The box that blocks at ``offsets`` (one row each) of ``shapes`` tile exactly, each one
    cell of a grid; None if they leave a gap, overlap, or do not line up."""
    if (shapes <= 0).any():
        return None
    ends = offsets + shapes
    cells, counts = [], []
    for axis in range(offsets.shape[1]):
        edges = np.unique(np.concatenate((offsets[:, axis], ends[:, axis])))
        first = np.searchsorted(edges, offsets[:, axis])
        if (np.searchsorted(edges, ends[:, axis]) != first + 1).any():
            return None  # a block spans a boundary another block has along this axis
        cells.append(first)
        counts.append(len(edges) - 1)
    if math.prod(counts) != len(offsets):
        return None  # more cells than blocks: a gap, or blocks that overlap
    if len(np.unique(np.ravel_multi_index(cells, counts))) != len(offsets):
        return None  # two blocks in one cell
    low, high = offsets.min(axis=0), ends.max(axis=0)
    return tuple(low.tolist()), tuple((high - low).tolist())


@dataclass(frozen=True)
class Chunk:
    """One chunk of the global array: blocks of one server (``part``, an index into the
    servers' :class:`ServerBlocks`; ``rows``, its blocks), filling the box at ``origin`` of
    ``shape``."""

    part: int
    rows: tuple[int, ...]
    origin: tuple[int, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ChunkPlan:
    """``chunks[d]``, the chunk sizes along axis ``d``; ``cells[index]``, the chunk there."""

    chunks: tuple[tuple[int, ...], ...]
    cells: dict[tuple[int, ...], Chunk]


def plan_chunks(parts: Sequence[ServerBlocks], per_server: bool = True) -> ChunkPlan:
    """The chunks of the global array that ``parts`` (one per server holding blocks) tile
    from the origin: if ``per_server``, each server's box where they have one and the boxes
    form a grid; else, or if they do not, one chunk per block. GridError, naming blocks, if
    the blocks tile no grid."""
    if per_server and any(part.box is not None for part in parts):
        units: list[Chunk] = []
        for index, part in enumerate(parts):
            if part.box is not None:
                units.append(Chunk(index, tuple(range(len(part.ids))), *part.box))
            else:
                units += _single_blocks(index, part)
        try:
            return _arranged(units, list(range(len(units))))
        except GridError:
            pass  # the boxes make no grid with the rest: one chunk per block, below
    singles = [unit for index, part in enumerate(parts) for unit in _single_blocks(index, part)]
    return _arranged(singles, [parts[unit.part].block_id(unit.rows[0]) for unit in singles])


def _single_blocks(index: int, part: ServerBlocks) -> list[Chunk]:
    return [
        Chunk(index, (row,), tuple(offsets), tuple(shape))
        for row, (offsets, shape) in enumerate(
            zip(part.offsets.tolist(), part.shapes.tolist(), strict=True)
        )
    ]


def _arranged(units: list[Chunk], ids: Sequence[Hashable]) -> ChunkPlan:
    """``units`` on the grid of their boxes, from the origin; ``ids`` name them in errors."""
    if not units:
        raise GridError("no blocks to arrange")
    grid = block_grid(
        [(ident, unit.origin, unit.shape) for ident, unit in zip(ids, units, strict=True)],
        origin=(0,) * len(units[0].origin),
    )
    by_id = dict(zip(ids, units, strict=True))
    return ChunkPlan(grid.chunks, {cell: by_id[ident] for cell, ident in grid.cells.items()})
