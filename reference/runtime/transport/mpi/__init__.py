"""The MPI backend and transports: clients and servers as MPI ranks (mpi4py). The backend is
in :mod:`.backend`, the client and server sides in :mod:`.client` and :mod:`.server`, and what
travels between them (tags, notices) in :mod:`.wire`.

Same node (dedicated cores): each client owns a slice of the node's shared segment
(``MPI.Win.Allocate_shared``, ``architecture.buffer.size`` bytes per node split evenly among
the node's clients). A ``write`` copies the block into the slice at once and appends a small
notice (variable, block, iteration, offsets, dtype, shape, location) to a pending list; the
list travels as one message with the next ``end_iteration`` or ``stop``, or earlier when it
grows past :data:`~.client.NOTICE_BATCH` or before the client waits for space, with one memory
``Sync`` per message. The server wraps the segment as NumPy views without copying and, once
an iteration's scripts ran, sends each client the locations it may reuse in one message. A
client whose slice is full waits (up to ``DAMARIS_BUFFER_WAIT`` seconds, default 60) for its
server to free space: running ahead of the server is normal and temporary; a block larger
than the slice fails at once. The blocks of one ``write_blocks`` call share one allocation,
which the client frees once the server has handed back the last of them.

Across nodes (dedicated nodes): each notice goes at once, followed by the block itself as a
buffer ``Send`` (no pickling of array data).

Every message from a client to its server uses one tag, and a batch keeps the order of its
notices, so MPI's non-overtaking rule keeps blocks, ``end_iteration`` and ``stop`` in the
order the client issued them.
"""

from damaris_ref.runtime.transport.base import BufferFullError
from damaris_ref.runtime.transport.mpi.backend import (
    MPIBackend,
    memory_room_problem,
    shm_room_problem,
)
from damaris_ref.runtime.transport.mpi.client import MPIClientTransport
from damaris_ref.runtime.transport.mpi.server import MPIServerTransport
from damaris_ref.runtime.transport.mpi.wire import (
    TAG_DONE,
    TAG_RELEASE,
    TAG_TO_SERVER,
    StoredNotices,
)

__all__ = [
    "TAG_DONE",
    "TAG_RELEASE",
    "TAG_TO_SERVER",
    "BufferFullError",
    "MPIBackend",
    "MPIClientTransport",
    "MPIServerTransport",
    "StoredNotices",
    "memory_room_problem",
    "shm_room_problem",
]
