"""How a server lays its blocks out in the one buffer its worker reads: as the box they tile
(so that the buffer *is* the global array's chunk for that server), or back to back.

Done on the server, in the one copy every block gets on its way to Dask: a chunk of many
blocks then costs its worker nothing more than a chunk of one. Pure NumPy: no Dask, no MPI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: offsets of blocks laid out back to back are multiples of this (cache lines, any alignment)
ALIGN = 64
#: blocks of at most this many elements are copied into a box together, by index arrays,
#: rather than one by one: for them the cost of a step per block exceeds that of the copy
SMALL_BLOCK_ELEMENTS = 256
#: at most this many elements are copied per step of index arrays (bounds their memory)
INDEX_BATCH = 1 << 20


#: where blocks go in a box: their offsets relative to it (one row each), and its shape
BoxPlace = tuple[np.ndarray, tuple[int, ...]]


def planned(
    blocks: Sequence[np.ndarray], box: BoxPlace | None
) -> tuple[int, tuple[int, ...] | None]:
    """The bytes ``blocks`` take laid out as ``box`` if given, else back to back (each at a
    multiple of :data:`ALIGN`), and then their byte offsets."""
    if box is not None:
        return math.prod(box[1]) * blocks[0].itemsize, None
    offsets, end = [], 0
    for block in blocks:
        offsets.append(end)
        end += -(-block.nbytes // ALIGN) * ALIGN
    return end, tuple(offsets)


def lay_out(
    target: np.ndarray,
    blocks: Sequence[np.ndarray],
    box: BoxPlace | None,
    offsets: Sequence[int] | None,
) -> np.ndarray:
    """Copy ``blocks`` into the bytes ``target`` as :func:`planned` placed them; the box as an
    array of the blocks' dtype, or ``target``."""
    if box is not None:
        starts, shape = box
        whole = target.view(blocks[0].dtype).reshape(shape)
        fill_box(whole, starts, blocks)
        return whole
    assert offsets is not None  # given by planned() for blocks laid out back to back
    for block, offset in zip(blocks, offsets, strict=True):
        piece = target[offset : offset + block.nbytes].view(block.dtype).reshape(block.shape)
        np.copyto(piece, block, casting="no")
    return target


def box_slices(start: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    """The region of a box at ``start`` (relative to the box) of ``shape``."""
    return tuple(slice(a, a + n) for a, n in zip(start, shape, strict=True))


def fill_box(box: np.ndarray, starts: np.ndarray, blocks: Sequence[np.ndarray]) -> None:
    """Copy each of ``blocks`` to its region of the C-contiguous ``box``, which they tile;
    ``starts`` (one row per block) are their offsets relative to the box. Many small blocks
    of one shape are copied together, the others one by one."""
    if box.ndim == 0:
        box[()] = blocks[0]
        return
    sizes = np.array([block.shape for block in blocks], dtype=np.int64).reshape(len(blocks), -1)
    if len(blocks) > 1 and (sizes == sizes[0]).all():
        _fill_regular(box, starts, blocks, tuple(sizes[0].tolist()))
        return
    small = sizes.prod(axis=1) <= SMALL_BLOCK_ELEMENTS
    for size in np.unique(sizes[small], axis=0):
        alike = np.flatnonzero(small & (sizes == size).all(axis=1))
        stacked = np.stack([blocks[index] for index in alike.tolist()])
        _scatter_alike(box, stacked.reshape(len(alike), -1), starts[alike], tuple(size.tolist()))
    for index in np.flatnonzero(~small).tolist():
        block = blocks[index]
        box[box_slices(starts[index].tolist(), block.shape)] = block


def _fill_regular(
    box: np.ndarray, starts: np.ndarray, blocks: Sequence[np.ndarray], size: tuple[int, ...]
) -> None:
    """Copy blocks all of ``size``, which tile ``box`` on a regular grid, each to its cell of
    a view of the box as a grid of cells (an index per block, no slices to build)."""
    counts = [extent // step for extent, step in zip(box.shape, size, strict=True)]
    ndim = box.ndim
    cells = box.view()
    cells.shape = [n for pair in zip(counts, size, strict=True) for n in pair]  # no copy
    cells = cells.transpose([*range(0, 2 * ndim, 2), *range(1, 2 * ndim, 2)])
    for cell, block in zip((starts // np.asarray(size)).tolist(), blocks, strict=True):
        cells[tuple(cell)] = block


def _scatter_alike(
    box: np.ndarray, flat: np.ndarray, starts: np.ndarray, size: tuple[int, ...]
) -> None:
    """Copy the blocks of ``size`` in the rows of ``flat`` to their regions at ``starts`` in
    ``box``, many per step of index arrays."""
    local = np.arange(math.prod(size))
    inside = np.ravel_multi_index(np.unravel_index(local, size), box.shape)
    out = box.view()
    out.shape = (-1,)  # raises rather than copy: the box must be C-contiguous
    step = max(1, INDEX_BATCH // max(len(local), 1))
    for at in range(0, len(flat), step):
        to = np.ravel_multi_index(tuple(starts[at : at + step].T), box.shape)
        out[to[:, None] + inside] = flat[at : at + step]
