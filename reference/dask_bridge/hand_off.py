"""What a server's Dask session and its transport say to each other so that the server's
worker can read blocks where their clients wrote them (``docs/dask.md``, "Blocks read where
the clients wrote them"): the transport keeps each block's place from its client while a
**hold** reads it (:mod:`~damaris_ref.runtime.transport.holds`), and the worker's node reader
(:mod:`~damaris_ref.dask_bridge.in_place`) says when a hold ends.

Defined here, below the runtime, so that the bridge names what it needs of a transport and
the MPI transport provides it. No Dask, no MPI.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np

#: a block's place: (client rank, byte offset in that client's slice)
Location = tuple[int, int]

#: bytes per second a worker copies held blocks out at, or a little less (a new anonymous
#: file's pages are allocated as they are written): sets how long a hold may end by itself
COPY_RATE = 2 << 30
#: the least a hold is given to end by itself: about one round trip through the scheduler
LEAST_GRACE = 0.005


def copy_grace(nbytes: int) -> float:
    """Seconds a waiting client gives a hold of ``nbytes`` to end by itself before it is
    copied out: what the copy would take."""
    return max(LEAST_GRACE, nbytes / COPY_RATE)


def merged_runs(runs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``(offset, bytes)`` runs merged where they touch or overlap, in offset order: the
    bytes a hold's blocks take in a window of the node buffer."""
    merged: list[tuple[int, int]] = []
    for offset, nbytes in sorted(runs):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            first, length = merged[-1]
            merged[-1] = (first, max(length, offset + nbytes - first))
        else:
            merged.append((offset, nbytes))
    return tuple(merged)


class Reader(Protocol):
    """The worker that reads a server's held blocks, as that server's transport sees it."""

    def ended(self) -> list[int] | None:
        """The holds it stopped reading since last asked (without waiting); None once its
        process has ended, which ends every hold."""

    def copy_out(self, hold: int) -> None:
        """Have it copy the blocks of ``hold`` into memory of its own; it says so through
        :meth:`ended` once done."""


@runtime_checkable
class HandOff(Protocol):
    """What a server's Dask session needs from its transport to have its worker read blocks
    where their clients wrote them (the MPI transport over a node file has it)."""

    def node_file(self) -> tuple[str, int] | None:
        """Where a worker opens the node buffer, and its size; None where it cannot."""

    def place(self, array: np.ndarray) -> tuple[Location, int] | None:
        """``array``'s location and its byte offset in the node buffer, if it lies there."""

    def hold(self, locations: list[Location], nbytes: int) -> int:
        """Keep ``locations`` (``nbytes`` read) from their clients until the hold ends."""

    def attach(self, reader: Reader | None) -> None:
        """Hear of ended holds from ``reader``; None ends every hold."""

    def holds(self) -> list[int]:
        """The live holds, oldest first."""

    def largest_hold(self) -> int:
        """The bytes the largest live hold reads (0 when none is live)."""

    def hear_reader(self) -> None:
        """Take the holds the reader ended, and give their locations back."""
