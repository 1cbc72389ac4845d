"""The tasks of a global array's chunks (planned by :mod:`~damaris_ref.dask_bridge.chunks`),
and what they run on the workers.

A chunk of one block is a read-only, zero-copy view of that block where its worker reads it
(:func:`~damaris_ref.dask_bridge.segments.block_view`). A chunk of several blocks of one server
is one task, :func:`assemble`, that copies them into the chunk on that server's worker: the
scheduler runs it where the blocks are, so array data still never crosses a socket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.typing import Key

from damaris_ref.dask_bridge.chunks import Chunk, ChunkPlan, ServerBlocks
from damaris_ref.dask_bridge.segments import Lease, block_view

#: blocks of at most this many elements are copied into a chunk together, by index arrays,
#: rather than one by one: for them the cost of a step per block exceeds that of the copy
SMALL_BLOCK_ELEMENTS = 256
#: at most this many elements are copied per step of index arrays (bounds their memory)
INDEX_BATCH = 1 << 20


def assemble(
    pieces: np.ndarray, shape: tuple[int, ...], dtype: str, *sources: Lease | np.ndarray
) -> np.ndarray:
    """On the worker: the read-only chunk of ``shape`` made of ``pieces``, one row per block:
    ``[index into sources, byte offset there, its offsets in the chunk..., its shape...]``."""
    chunk = np.empty(shape, dtype=np.dtype(dtype))
    aligned = pieces[:, 1] % chunk.itemsize == 0
    for index, source in enumerate(sources):
        mine = pieces[aligned & (pieces[:, 0] == index)]
        if len(mine):
            _copy_aligned(chunk, mine, source)
    for row in pieces[~aligned].tolist():  # a block not aligned to its dtype where it lies
        start, size = row[2 : 2 + chunk.ndim], tuple(row[2 + chunk.ndim :])
        chunk[_box(start, size)] = block_view(sources[row[0]], row[1], size, dtype)
    chunk.flags.writeable = False
    return chunk


def _box(start: list[int], size: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(a, a + n) for a, n in zip(start, size, strict=True))


def _copy_aligned(chunk: np.ndarray, pieces: np.ndarray, source: Lease | np.ndarray) -> None:
    """Copy blocks that lie in ``source`` at multiples of the chunk's item size into
    ``chunk``: small ones of one size together, by index arrays; others one by one."""
    ndim = chunk.ndim
    first = pieces[:, 1] // chunk.itemsize
    sizes = pieces[:, 2 + ndim :]
    elements = sizes.prod(axis=1)
    flat = block_view(source, 0, (int((first + elements).max()),), chunk.dtype.str)
    small = elements <= SMALL_BLOCK_ELEMENTS
    for size in np.unique(sizes[small], axis=0):
        alike = small & (sizes == size).all(axis=1)
        _copy_alike(chunk, flat, first[alike], pieces[alike, 2 : 2 + ndim], tuple(size.tolist()))
    for row, start in zip(pieces[~small].tolist(), first[~small].tolist(), strict=True):
        size = tuple(row[2 + ndim :])
        chunk[_box(row[2 : 2 + ndim], size)] = flat[start : start + math.prod(size)].reshape(size)


def _copy_alike(
    chunk: np.ndarray,
    flat: np.ndarray,
    first: np.ndarray,
    starts: np.ndarray,
    size: tuple[int, ...],
) -> None:
    """Copy the blocks of ``size`` whose elements begin at ``first`` in ``flat`` to their
    boxes at ``starts`` in ``chunk``, many per step of index arrays."""
    local = np.arange(math.prod(size))
    inside = np.ravel_multi_index(np.unravel_index(local, size), chunk.shape)
    out = chunk.reshape(-1)
    step = max(1, INDEX_BATCH // len(local))
    for at in range(0, len(first), step):
        to = np.ravel_multi_index(tuple(starts[at : at + step].T), chunk.shape)
        out[to[:, None] + inside] = flat[first[at : at + step, None] + local]


def chunked_array(
    name: str, plan: ChunkPlan, parts: Sequence[ServerBlocks], sources: Mapping[str, Any]
) -> da.Array:
    """The ``dask.array`` called ``name`` whose chunks are ``plan``'s; ``sources`` gives, for
    each Dask key the servers' blocks are read at, what a task takes for it (the key's
    ``Future`` in a run). ValueError if the parts are of several dtypes."""
    dtypes = sorted({part.dtype for part in parts})
    if len(dtypes) != 1:
        raise ValueError(f"blocks of several dtypes: {dtypes}")
    dtype = dtypes[0]
    tasks: dict[Key, tuple[Any, ...]] = {
        (name, *index): _task(chunk, parts[chunk.part], dtype, sources)
        for index, chunk in plan.cells.items()
    }
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=())
    return da.Array(graph, name, plan.chunks, dtype=np.dtype(dtype))


def _task(
    chunk: Chunk, part: ServerBlocks, dtype: str, sources: Mapping[str, Any]
) -> tuple[Any, ...]:
    if len(chunk.rows) == 1:
        column, offset = part.reads[chunk.rows[0]].tolist()
        return (block_view, sources[part.keys[column]], offset, chunk.shape, dtype)
    rows = np.asarray(chunk.rows)
    columns, used = np.unique(part.reads[rows, 0], return_inverse=True)
    pieces = np.column_stack(
        (
            used,
            part.reads[rows, 1],
            part.offsets[rows] - np.asarray(chunk.origin),
            part.shapes[rows],
        )
    ).astype(np.int64)
    keys = [part.keys[column] for column in columns.tolist()]
    return (assemble, pieces, chunk.shape, dtype, *(sources[key] for key in keys))
