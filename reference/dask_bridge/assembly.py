"""The tasks of a global array's chunks (planned by :mod:`~damaris_ref.dask_bridge.chunks`),
and what they run on the workers.

A server's buffer holds its blocks laid out as their box or back to back
(:mod:`~damaris_ref.dask_bridge.layout`). A chunk that is a server's whole box is that buffer
itself (given ready, as the future of the lease that is the chunk, or as a task taking it
whole); any other chunk is one block, a read-only, zero-copy view into its server's buffer.
Every task runs where the buffer is: array data never crosses a socket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph
from dask.typing import Key

from damaris_ref.dask_bridge.chunks import Chunk, ChunkPlan, ServerBlocks
from damaris_ref.dask_bridge.layout import box_slices
from damaris_ref.dask_bridge.segments import block_view, box_view


def box_block(
    source: Any,
    box_shape: tuple[int, ...],
    dtype: str,
    start: tuple[int, ...],
    shape: tuple[int, ...],
) -> np.ndarray:
    """On the worker: the read-only region at ``start`` of ``shape`` of the box laid out in
    ``source`` (a lease, or the box itself where it was scattered)."""
    whole = box_view(source, box_shape, dtype)
    view = whole[box_slices(start, shape)]
    view.flags.writeable = False
    return view


def chunked_array(
    name: str,
    plan: ChunkPlan,
    parts: Sequence[ServerBlocks],
    sources: Sequence[Any],
    ready: Mapping[int, Any] | None = None,
    more: Mapping[Key, Any] | None = None,
) -> da.Array:
    """The ``dask.array`` called ``name`` whose chunks are ``plan``'s: ``sources[i]`` is what a
    task takes for the buffer of ``parts[i]`` (a ``Future``, or the key of a task in
    ``more``, in a run), and ``ready[i]``, if given, is the chunk of that server's whole box
    (the task of the key ``(name, *index)``, or the data itself). ValueError if the parts are
    of several dtypes."""
    dtypes = sorted({part.dtype for part in parts})
    if len(dtypes) != 1:
        raise ValueError(f"blocks of several dtypes: {dtypes}")
    dtype = dtypes[0]
    ready = ready or {}
    tasks: dict[Key, Any] = dict(more or {})
    for index, chunk in plan.cells.items():
        part = parts[chunk.part]
        if chunk.part in ready and part.whole_box(chunk):
            tasks[(name, *index)] = ready[chunk.part]
        else:
            tasks[(name, *index)] = _task(chunk, part, dtype, sources[chunk.part])
    graph = HighLevelGraph.from_collections(name, tasks, dependencies=())
    return da.Array(graph, name, plan.chunks, dtype=np.dtype(dtype))


def _task(chunk: Chunk, part: ServerBlocks, dtype: str, source: Any) -> tuple[Any, ...]:
    buffer = part.buffer
    if buffer is None:
        raise ValueError("a server's blocks were planned before they were delivered")
    if buffer.starts is None:  # laid out as the server's box
        assert part.box is not None  # checked by ServerBlocks.delivered
        origin, box_shape = part.box
        start = tuple(a - b for a, b in zip(chunk.origin, origin, strict=True))
        return (box_block, source, box_shape, dtype, start, chunk.shape)
    (row,) = chunk.rows  # back to back: one chunk per block
    return (block_view, source, buffer.starts[row], chunk.shape, dtype)
