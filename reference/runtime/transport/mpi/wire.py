"""What travels between an MPI client and its server, and what both sides use: the tags, the
notice that stands for a block, a batch of notices stored in the client's slice, and the
polling wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from mpi4py import MPI

from damaris_ref.core.polling import MPI_WAIT_FIRST, MPI_WAIT_MOST, poll_until
from damaris_ref.runtime.transport.mpi.node_segment import NodeSegment

#: the tag of every message from a client to its server: notices, blocks sent across nodes,
#: the end of an iteration and the stop, kept in order by MPI's non-overtaking rule
TAG_TO_SERVER = 71
#: the tag of a server's message handing a client back the locations it may reuse
TAG_RELEASE = 72
#: the tag of a server's last message to a client: nothing more will be released
TAG_DONE = 73

#: what travels instead of a block, as a plain tuple (cheap to build and to pickle):
#: (variable, source, block, iteration, offsets, dtype string, shape, location), where
#: location is the byte offset in the client's shared slice, or -1: the data follows by Send
Notice = tuple[str, int, int, int, tuple[int, ...], str, tuple[int, ...], int]


@dataclass(frozen=True)
class StoredNotices:
    """A batch of notices pickled into the client's slice at ``location`` (``nbytes`` long)."""

    location: int
    nbytes: int


#: the node's shared memory: a file every rank maps, or MPI's window where there is none
SharedSegment = NodeSegment | MPI.Win


@dataclass(frozen=True)
class Starved:
    """The client waits for space in its slice, having taken ``heard`` messages of released
    locations so far: its server has blocks Dask reads in place copied out, unless it has
    sent more since (the client asks again if those are not enough)."""

    heard: int


def node_window(window: SharedSegment | None) -> SharedSegment:
    """The node's shared window, which every notice of a block in shared memory implies."""
    if window is None:
        raise RuntimeError("a notice of a block in shared memory, on a node without a window")
    return window


def poll(ready: Callable[[], object], timeout: float = math.inf, spin: float = 0.0) -> object:
    """Wait for ``ready()`` with a growing sleep (kind to oversubscribed cores), after
    ``spin`` s of asking at once."""
    return poll_until(ready, timeout, MPI_WAIT_FIRST, MPI_WAIT_MOST, spin)
