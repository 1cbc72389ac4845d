"""The node's shared segment as an anonymous shared-memory file that every rank of the node
maps, so that a server's Dask worker can map it too and read blocks where clients wrote them.

MPI's shared window would do for the ranks alone, but its memory cannot be opened by another
process (MPICH unlinks its file once mapped). Node rank 0 makes the file
(``memfd_create``: no name in ``/dev/shm``, so nothing is left behind even by a killed job; the
memory goes with the last mapping of it), sizes it for every client's slice back to back in
node-rank order, and the other ranks open it through ``/proc/<pid>/fd/<fd>``. Each rank keeps
its descriptor open until the end, so that its own ``/proc`` entry names the file for its
worker. Where any rank of the node cannot open it, :func:`allocate` says so on every rank and
the caller uses MPI's window instead.
"""

from __future__ import annotations

import mmap
import os

from mpi4py import MPI

from damaris_ref.dask_bridge.shared_files import fd_path, supported


class NodeSegment:
    """Every client slice of one node, in one file mapped by this rank.

    It answers the two calls of an MPI shared window the transports make
    (:meth:`Shared_query`, :meth:`Sync`), and names its file for a worker (:meth:`path`).
    """

    def __init__(self, fd: int, starts: list[int], sizes: list[int]) -> None:
        self.fd = fd
        self.starts, self.sizes = starts, sizes
        self.size = max(starts[-1] + sizes[-1], mmap.PAGESIZE)
        # not populated here: each client faults its own slice in (prefault), each server the
        # slices of its clients, as with MPI's window; no rank maps every page of the node
        self._mapping = mmap.mmap(fd, self.size, flags=mmap.MAP_SHARED)
        self._whole = memoryview(self._mapping)

    def Shared_query(self, node_rank: int) -> tuple[memoryview, int]:
        """The slice of node rank ``node_rank`` (empty for a server), and a unit of 1 byte."""
        start = self.starts[node_rank]
        return self._whole[start : start + self.sizes[node_rank]], 1

    def Sync(self) -> None:
        """Nothing to do: the MPI message that names a block follows its copy, and MPI orders
        its own messages after the writes that precede them."""

    def path(self) -> str:
        """Where another process of this user opens the file (while this rank lives)."""
        return fd_path(self.fd)

    def free(self) -> None:
        """Close this rank's descriptor and unmap; a view of a slice still alive keeps the
        mapping until it goes (unlike MPI's window, whose memory goes at once)."""
        os.close(self.fd)
        try:
            self._whole.release()
            self._mapping.close()
        except BufferError:
            pass


def allocate(node_comm: MPI.Intracomm, slice_size: int, name: str) -> NodeSegment | None:
    """Collective over ``node_comm``: the node's segment with a slice of ``slice_size`` bytes
    for this rank, in a file called ``name`` (as ``/proc`` shows it), or None on every rank
    where any of them could not open the file."""
    sizes = node_comm.allgather(slice_size)
    starts = [sum(sizes[:rank]) for rank in range(len(sizes))]
    fd, where = -1, None
    if node_comm.Get_rank() == 0 and supported():
        try:
            fd = os.memfd_create(name, os.MFD_CLOEXEC)
            os.ftruncate(fd, max(sum(sizes), mmap.PAGESIZE))
            where = fd_path(fd)
        except OSError:
            fd = -1
    where = node_comm.bcast(where, root=0)
    if fd < 0 and where is not None:
        try:
            fd = os.open(where, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            fd = -1
    if not node_comm.allreduce(fd >= 0, op=MPI.LAND):
        if fd >= 0:
            os.close(fd)
        return None
    return NodeSegment(fd, starts, sizes)
