"""The MPI backend: what a session needs from an MPI world (node ids, the magic number, the
client and server communicators) and the node's shared segment its transports use.
"""

from __future__ import annotations

import os
from typing import cast

from mpi4py import MPI

from damaris_ref.core.config.buffer import client_share, share_problem
from damaris_ref.core.config.errors import ConfigError
from damaris_ref.core.config.model import Config
from damaris_ref.core.data import new_magic_number
from damaris_ref.core.topology import Mode, Topology, emulated_nodes
from damaris_ref.dask_bridge import shared_files
from damaris_ref.runtime.transport.mpi import node_segment
from damaris_ref.runtime.transport.mpi.client import MPIClientTransport
from damaris_ref.runtime.transport.mpi.node_segment import NodeSegment
from damaris_ref.runtime.transport.mpi.server import MPIServerTransport

#: where MPI libraries keep a node's shared memory (MPICH's segments are files here)
SHM_FOLDER = "/dev/shm"
#: where Linux says how much memory is available (for the node buffer's anonymous file)
MEMINFO = "/proc/meminfo"


def shm_room_problem(size: int, segments: int, folder: str = SHM_FOLDER) -> str | None:
    """Why ``segments`` shared buffers of ``size`` bytes cannot fit in ``folder`` (where MPI's
    window keeps them); None when they can (or the folder cannot be looked at). Past its free
    space a rank touching the buffer would be killed by SIGBUS, so the run is refused before
    anything is allocated."""
    try:
        status = os.statvfs(folder)
    except OSError:
        return None
    free = status.f_bavail * status.f_frsize
    return _room_problem(size, segments, free, f"fit in {folder}", f"make {folder} larger")


def memory_room_problem(size: int, segments: int, meminfo: str = MEMINFO) -> str | None:
    """Why ``segments`` node buffers of ``size`` bytes (anonymous files, every page mapped at
    start-up) cannot fit in the memory available now; None when they can or ``meminfo``
    cannot be read. Past it the kernel would kill ranks, so the run is refused instead."""
    try:
        with open(meminfo) as lines:
            fields = dict(line.split(":", 1) for line in lines if ":" in line)
        free = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None
    return _room_problem(size, segments, free, "fit in the memory available", "free memory")


def _room_problem(size: int, segments: int, free: int, fit: str, fix: str) -> str | None:
    if size * segments <= free:
        return None
    what = f"{segments} node buffers of {size} bytes" if segments > 1 else f"{size} bytes"
    return (
        f"the shared buffer ({what}) does not {fit}, which has {free} bytes free; "
        f"allowed: at most {free // segments} bytes per node here (or {fix})"
    )


class MPIBackend:
    """What :class:`~damaris_ref.runtime.session.Damaris` needs from an MPI world."""

    def __init__(self, comm: MPI.Comm | None = None):
        self.world_comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.world_comm.Get_rank()
        self._node_comm: MPI.Intracomm | None = None
        self._window: MPI.Win | None = None
        self._segment: NodeSegment | None = None
        self._transport: MPIClientTransport | MPIServerTransport | None = None

    def node_ids(self, ranks_per_node: int) -> tuple[int, ...]:
        """Emulated nodes when ``ranks_per_node > 0``, else hosts found by shared memory."""
        if ranks_per_node > 0:
            return emulated_nodes(self.world_comm.Get_size(), ranks_per_node)
        host = self.world_comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        leader = host.allreduce(self.rank, op=MPI.MIN)
        host.Free()
        return tuple(self.world_comm.allgather(leader))

    def magic(self) -> str:
        """Rank 0's fresh magic number, on every rank."""
        return self.world_comm.bcast(new_magic_number() if self.rank == 0 else None, root=0)

    def split(self, color: int) -> MPI.Comm:
        """The client (0) or server (1) communicator, ordered by world rank."""
        return self.world_comm.Split(color, self.rank)

    def _shared_window(
        self, config: Config, topology: Topology, is_client: bool
    ) -> tuple[MPI.Intracomm, MPI.Win | NodeSegment | None]:
        """Collective over the world: this rank's node communicator, and every node's segment
        (client slices first) when the node's ranks share one: a file a worker can map too
        (:mod:`~damaris_ref.runtime.transport.mpi.node_segment`), else MPI's window."""
        node = topology.node_of_rank[self.rank]
        shared = topology.mode is Mode.DEDICATED_CORES
        if shared:
            clients_here = sum(1 for r in topology.client_ranks if topology.node_of_rank[r] == node)
            size = config.architecture.buffer_size
            # every rank of every node finds this alike, before any communicator is made
            if (problem := share_problem(size, clients_here)) is not None:
                raise ConfigError(problem, file=config.source, path="architecture.buffer.size")
            # emulated nodes all live on this host, so their buffers share its memory
            segments = topology.number_of_nodes if config.architecture.ranks_per_node else 1
            room = memory_room_problem if shared_files.supported() else shm_room_problem
            if (problem := room(size, segments)) is not None:
                raise ConfigError(problem, file=config.source, path="architecture.buffer.size")
        # mpi4py's stubs type Split as returning the base Comm; an intracommunicator's Split
        # returns an Intracomm, which Allocate_shared needs
        node_comm = cast(MPI.Intracomm, self.world_comm.Split(node, self.rank))
        self._node_comm = node_comm
        if not shared:
            return node_comm, None
        # whole pages: slices sit back to back in the segment, so page-multiple sizes keep
        # every slice (and the allocator's 64-byte alignment inside it) aligned
        slice_size = client_share(size, clients_here) if is_client else 0
        name = f"damaris-{config.simulation_name}_node-buffer"
        self._segment = node_segment.allocate(node_comm, slice_size, name)
        if self._segment is not None:
            return node_comm, self._segment
        self._window = MPI.Win.Allocate_shared(slice_size, 1, comm=node_comm)
        self._window.Lock_all(MPI.MODE_NOCHECK)
        return node_comm, self._window

    def client_transport(self, config: Config, topology: Topology) -> MPIClientTransport:
        """Transport of a client rank (collective with the server ranks' call)."""
        node_comm, window = self._shared_window(config, topology, is_client=True)
        self._transport = MPIClientTransport(self.world_comm, config, topology, node_comm, window)
        return self._transport

    def server_transport(self, config: Config, topology: Topology) -> MPIServerTransport:
        """Transport of a server rank (collective with the client ranks' call)."""
        node_comm, window = self._shared_window(config, topology, is_client=False)
        self._transport = MPIServerTransport(self.world_comm, topology, node_comm, window)
        return self._transport

    def finalize(self) -> None:
        """Drain outstanding messages, then free the shared segment (collective per node)."""
        if self._transport is not None:
            self._transport.close()
        if self._window is not None:
            self._window.Unlock_all()
            self._window.Free()
        if self._segment is not None:
            self._segment.free()
        if self._node_comm is not None:
            self._node_comm.Free()
        self._transport = self._window = self._segment = self._node_comm = None
