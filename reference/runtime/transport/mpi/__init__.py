"""The MPI backend and transports: clients and servers as MPI ranks (mpi4py).

Same node (dedicated cores): each client owns a slice of the node's shared segment
(``MPI.Win.Allocate_shared``, ``architecture.buffer.size`` bytes per node split evenly among
the node's clients). A ``write`` copies the block into the slice at once and appends a small
notice (variable, block, iteration, offsets, dtype, shape, location) to a pending list; the
list travels as one message with the next ``end_iteration`` or ``stop``, or earlier when it
grows past :data:`NOTICE_BATCH` or before the client waits for space, with one memory
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

from __future__ import annotations

import bisect
import math
import os
import pickle
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from mpi4py import MPI

from damaris_ref.core.config.buffer import PAGE, client_share, share_problem
from damaris_ref.core.config.errors import ConfigError
from damaris_ref.core.config.model import Config
from damaris_ref.core.data import Block, new_magic_number
from damaris_ref.core.errors import RunError
from damaris_ref.core.polling import MPI_WAIT_FIRST, MPI_WAIT_MOST, poll_until
from damaris_ref.core.settings import BUFFER_WAIT
from damaris_ref.core.topology import Mode, Topology, emulated_nodes
from damaris_ref.runtime.transport.base import (
    BlockArrived,
    BlockPart,
    BufferFullError,
    ClientStopped,
    IterationEnded,
    Message,
)
from damaris_ref.runtime.transport.budget import buffer_full_message
from damaris_ref.runtime.transport.prefault import prefault
from damaris_ref.runtime.transport.shm_allocator import ShmAllocator

TAG_TO_SERVER = 71
TAG_RELEASE = 72
TAG_DONE = 73
BUFFER_WAIT_VARIABLE = BUFFER_WAIT.name
#: a server asks again at once for this long before it starts sleeping: a client writing
#: iteration after iteration hears back within microseconds, so its next block goes where its
#: last one was (still in cache); 1 ms per iteration is nothing to a simulation's step
_SERVER_SPIN = 0.001


#: a client sends its pending notices once this many have piled up within one iteration
NOTICE_BATCH = 4096

#: a block of at least this many bytes first takes back what the server has freed, so that it
#: goes where the last one was (still in cache); a smaller one would pay more for asking than
#: it gains, as the few places its last blocks took stay in the core's cache anyway
TAKE_BACK_FROM = 1 << 18

#: more pending notices than this travel through the shared slice, not in the message
INLINE_NOTICES = 32

#: what travels instead of a block, as a plain tuple (cheap to build and to pickle):
#: (variable, source, block, iteration, offsets, dtype string, shape, location), where
#: location is the byte offset in the client's shared slice, or -1: the data follows by Send
Notice = tuple[str, int, int, int, tuple[int, ...], str, tuple[int, ...], int]


#: how a client copies blocks of one dtype: (dtype string, typed view of its slice, item size)
_Copier = tuple[str, memoryview | None, int]


@dataclass(frozen=True)
class StoredNotices:
    """A batch of notices pickled into the client's slice at ``location`` (``nbytes`` long)."""

    location: int
    nbytes: int


def _shared(window: MPI.Win | None) -> MPI.Win:
    """The node's shared window, which every notice of a block in shared memory implies."""
    if window is None:
        raise RuntimeError("a notice of a block in shared memory, on a node without a window")
    return window


def _poll(ready: Callable[[], object], timeout: float = math.inf, spin: float = 0.0) -> object:
    """Wait for ``ready()`` with a growing sleep (kind to oversubscribed cores), after
    ``spin`` s of asking at once."""
    return poll_until(ready, timeout, MPI_WAIT_FIRST, MPI_WAIT_MOST, spin)


#: where MPI libraries keep a node's shared memory (MPICH's segments are files here)
SHM_FOLDER = "/dev/shm"


def shm_room_problem(size: int, segments: int, folder: str = SHM_FOLDER) -> str | None:
    """Why ``segments`` shared buffers of ``size`` bytes cannot fit in ``folder``; None when
    they can (or the folder cannot be looked at). Past its free space a rank touching the
    buffer would be killed by SIGBUS, so the run is refused before anything is allocated."""
    try:
        status = os.statvfs(folder)
    except OSError:
        return None
    free = status.f_bavail * status.f_frsize
    needed = size * segments
    if needed <= free:
        return None
    what = f"{segments} node buffers of {size} bytes" if segments > 1 else f"{size} bytes"
    return (
        f"the shared buffer ({what}) does not fit in {folder}, which has {free} bytes free; "
        f"allowed: at most {free // segments} bytes per node here (or make {folder} larger)"
    )


class MPIBackend:
    """What :class:`~damaris_ref.runtime.session.Damaris` needs from an MPI world."""

    def __init__(self, comm: MPI.Comm | None = None):
        self.world_comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.world_comm.Get_rank()
        self._node_comm: MPI.Intracomm | None = None
        self._window: MPI.Win | None = None
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
    ) -> tuple[MPI.Intracomm, MPI.Win | None]:
        """Collective over the world: this rank's node communicator, and every node's segment
        (client slices first) when the node's ranks share one."""
        node = topology.node_of_rank[self.rank]
        shared = topology.mode is Mode.DEDICATED_CORES
        if shared:
            clients_here = sum(1 for r in topology.client_ranks if topology.node_of_rank[r] == node)
            size = config.architecture.buffer_size
            # every rank of every node finds this alike, before any communicator is made
            if (problem := share_problem(size, clients_here)) is not None:
                raise ConfigError(problem, file=config.source, path="architecture.buffer.size")
            # emulated nodes all live on this host, so their segments share its /dev/shm
            segments = topology.number_of_nodes if config.architecture.ranks_per_node else 1
            if (problem := shm_room_problem(size, segments)) is not None:
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
        if self._node_comm is not None:
            self._node_comm.Free()
        self._transport = self._window = self._node_comm = None


class MPIClientTransport:
    """Client side: copy into the shared slice (or Send across nodes), notify the server."""

    def __init__(
        self,
        comm: MPI.Comm,
        config: Config,
        topology: Topology,
        node_comm: MPI.Comm,
        window: MPI.Win | None,
    ):
        self.comm = comm
        self.topology = topology
        self.window = window
        #: the server id this client's calls name (its owner in the routing table), and that
        #: server's world rank; known from the first call on
        self.server = self.server_rank = -1
        self.wait = BUFFER_WAIT.read()
        self.config = config
        self.allocator: ShmAllocator | None = None
        self.memory = np.empty(0, dtype=np.uint8)  # this client's slice, when it has one
        self._pending: list[Notice] = []
        self._copiers: dict[np.dtype, _Copier] = {}
        # blocks of one write_blocks call share one allocation (a run): the starts of the
        # runs, ascending, and per start its end and the blocks not handed back yet
        self._run_starts: list[int] = []
        self._runs: dict[int, list[int]] = {}
        self._status = MPI.Status()
        if window is not None:
            buffer, _unit = window.Shared_query(node_comm.Get_rank())
            # mpi4py's stubs declare the buffer protocol of MPI.buffer on Python 3.12+ only
            self.memory = np.frombuffer(buffer, dtype=np.uint8)  # type: ignore[call-overload]
            prefault(self.memory)  # now, not during the first iteration
            self._bytes = self.memory.data
            if self.memory.size >= 64:
                self.allocator = ShmAllocator(
                    self.memory.size, name=config.architecture.buffer_name
                )

    def _address(self, server: int) -> None:
        """Send to server id ``server``, the one the client names: a client has one server,
        whose releases it takes back, so a second one is refused."""
        if server == self.server:
            return
        if self.server >= 0:
            raise RunError(
                f"client sent to server {self.server}, then named server {server}: a client's "
                "blocks and notices all go to the one server the routing table gives it"
            )
        self.server, self.server_rank = server, self.topology.server_ranks[server]

    def send_block(self, server: int, block: Block) -> None:
        """Copy the block to where the server can read it and queue its notice."""
        if server != self.server:
            self._address(server)
        array = block.data
        if self.window is None:
            array = np.ascontiguousarray(array)
            notice = self._notice(block, array.dtype.str, array.shape, -1)
            self.comm.send([notice], self.server_rank, TAG_TO_SERVER)
            self.comm.Send(array.reshape(-1).view(np.uint8), self.server_rank, TAG_TO_SERVER)
            return
        dtype_str, typed, itemsize = self._copiers.get(array.dtype) or self._copier(array.dtype)
        nbytes = array.nbytes
        location = self._allocate(nbytes)
        if not nbytes:
            pass  # no byte to copy (and a memoryview of it cannot be cast)
        elif typed is not None:  # the fastest copy from Python: no cast, no view of the slice
            start = location // itemsize
            # (numpy's stubs declare the buffer protocol on Python 3.12+ only)
            piece = array if array.ndim == 1 else array.ravel()
            typed[start : start + array.size] = piece  # type: ignore[call-overload]
        else:
            raw = np.ascontiguousarray(array).data.cast("B")
            self._bytes[location : location + nbytes] = raw
        self._pending.append(self._notice(block, dtype_str, array.shape, location))
        if len(self._pending) >= NOTICE_BATCH:
            self._flush()

    def send_blocks(
        self, server: int, variable: str, source: int, iteration: int, parts: list[BlockPart]
    ) -> None:
        """Copy blocks of one variable (one dtype and shape) into one piece of the slice and
        queue their notices; across nodes, send their notices as one message and then each
        block's bytes. Nothing is copied unless room for every block was found."""
        if server != self.server:
            self._address(server)
        if self.window is None:
            arrays = [np.ascontiguousarray(array) for _, _, array in parts]
            self.comm.send(
                [
                    (variable, source, block, iteration, offsets, a.dtype.str, a.shape, -1)
                    for (block, offsets, _), a in zip(parts, arrays, strict=True)
                ],
                self.server_rank,
                TAG_TO_SERVER,
            )
            for array in arrays:
                self.comm.Send(array.reshape(-1).view(np.uint8), self.server_rank, TAG_TO_SERVER)
            return
        first = parts[0][2]
        dtype_str, typed, itemsize = self._copiers.get(first.dtype) or self._copier(first.dtype)
        nbytes, size, shape = first.nbytes, first.size, first.shape
        locations = self._allocate_many(nbytes, len(parts))
        pending = self._pending
        notice = pending.append
        if nbytes and typed is not None:  # the copy of send_block, in the same loop
            flat = len(shape) == 1
            for (block, offsets, array), location in zip(parts, locations, strict=True):
                start = location // itemsize
                typed[start : start + size] = array if flat else array.ravel()  # type: ignore[call-overload]
                notice((variable, source, block, iteration, offsets, dtype_str, shape, location))
        else:
            for (block, offsets, array), location in zip(parts, locations, strict=True):
                if nbytes:
                    raw = np.ascontiguousarray(array).data.cast("B")
                    self._bytes[location : location + nbytes] = raw
                notice((variable, source, block, iteration, offsets, dtype_str, shape, location))
        if len(pending) >= NOTICE_BATCH:
            self._flush()

    def _allocate_many(self, nbytes: int, count: int) -> list[int]:
        """Locations of ``count`` blocks of ``nbytes`` each: one allocation for them all when
        the slice has that much room in one piece, otherwise the two halves apart, down to
        one block, which waits for space as a single write does. When one fails, what the
        others took is given back."""
        allocator = self.allocator
        if allocator is None or count == 1:
            return [self._allocate(nbytes)]
        step = allocator.reserved_size(nbytes)
        if nbytes >= TAKE_BACK_FROM:  # as for one block: small ones leave it to end_iteration
            self._collect_releases()
        runs: list[tuple[int, int]] = []  # (start, blocks)
        try:
            self._allocate_runs(nbytes, step, count, runs)
        except BaseException:
            for start, _ in runs:
                allocator.free(start)
            raise
        locations: list[int] = []
        for start, blocks in runs:
            run = range(start, start + step * blocks, step)
            locations.extend(run)
            if blocks > 1:
                bisect.insort(self._run_starts, start)
                self._runs[start] = [start + step * blocks, blocks]
        return locations

    def _allocate_runs(
        self, nbytes: int, step: int, count: int, runs: list[tuple[int, int]]
    ) -> None:
        """Append to ``runs`` allocations for ``count`` blocks, in block order."""
        allocator = cast(ShmAllocator, self.allocator)
        try:
            runs.append((allocator.allocate(step * count), count))
            return
        except BufferFullError:  # no single extent holds them all: split the run
            if count == 1:
                runs.append((self._allocate(nbytes), 1))
                return
        half = count // 2
        self._allocate_runs(nbytes, step, half, runs)
        self._allocate_runs(nbytes, step, count - half, runs)

    def _free(self, location: int) -> None:
        """Take back one block's location: a block of a run frees the run with the last of
        its blocks."""
        allocator = cast(ShmAllocator, self.allocator)
        starts = self._run_starts
        index = bisect.bisect_right(starts, location) - 1
        run = self._runs[starts[index]] if index >= 0 else None
        if run is None or location >= run[0]:
            allocator.free(location)
            return
        run[1] -= 1
        if not run[1]:
            allocator.free(starts[index])
            del self._runs[starts[index]], starts[index]

    def _copier(self, dtype: np.dtype) -> _Copier:
        """How blocks of ``dtype`` are copied into the slice: its dtype string, and the whole
        slice as a memoryview of the dtype's buffer format (None where the format has no such
        view: the copy then goes through bytes), with its item size."""
        whole = self._bytes[: len(self._bytes) // dtype.itemsize * dtype.itemsize]
        try:
            # the format is known at run time only, not as one of the stubs' literals
            typed = whole.cast(np.empty(0, dtype).data.format)  # type: ignore[call-overload]
        except (TypeError, ValueError):  # not a native one-character format
            typed = None
        copier = self._copiers[dtype] = (dtype.str, typed, dtype.itemsize)
        return copier

    @staticmethod
    def _notice(block: Block, dtype_str: str, shape: tuple[int, ...], location: int) -> Notice:
        return (
            block.variable,
            block.source,
            block.block,
            block.iteration,
            block.offsets,
            dtype_str,
            shape,
            location,
        )

    def _flush(self, last: IterationEnded | ClientStopped | None = None) -> None:
        """Send the pending notices (and ``last``) as one message, after one memory Sync.

        Many notices travel through the shared slice, so that the message itself stays small:
        MPI delivers a small message without the server's help, while a large one would wait
        until the server takes it (and, as a non-blocking send, until this client calls MPI
        again).
        """
        message: list = self._pending
        self._pending = []
        if message:
            if len(message) > INLINE_NOTICES:
                stored = self._store(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
                message = message if stored is None else [stored]
            _shared(self.window).Sync()  # the copies are visible before the server reads them
        if last is not None:
            message.append(last)
        if message:
            self.comm.send(message, self.server_rank, TAG_TO_SERVER)

    def _store(self, payload: bytes) -> StoredNotices | None:
        """``payload`` copied into the slice, or None when no space is free right now."""
        if self.allocator is None:
            return None
        try:
            location = self.allocator.allocate(len(payload))
        except BufferFullError:  # no room right now
            return None
        self._bytes[location : location + len(payload)] = payload
        return StoredNotices(location, len(payload))

    def _allocate(self, nbytes: int) -> int:
        allocator = self.allocator
        if allocator is not None:
            if nbytes >= TAKE_BACK_FROM:
                # a large block goes where the last one was, if it is back: still in cache
                self._collect_releases()
            try:
                return allocator.allocate(nbytes)
            except BufferFullError:  # no room right now
                pass
        arch = self.config.architecture
        if allocator is None or allocator.reserved_size(nbytes) > allocator.capacity:
            capacity = 0 if allocator is None else allocator.capacity
            raise BufferFullError(
                buffer_full_message(
                    arch.buffer_name,
                    arch.buffer_size,
                    nbytes,
                    0,
                    f"each client of this node gets a slice of {capacity} bytes",
                )
            ) from None
        # the server sees every block written so far before this client waits for it
        self._flush()

        def freed_enough() -> bool:
            self._collect_releases()
            return allocator.largest_free_extent >= allocator.reserved_size(nbytes)

        if not _poll(freed_enough, self.wait):
            raise BufferFullError(
                buffer_full_message(
                    arch.buffer_name,
                    arch.buffer_size,
                    nbytes,
                    allocator.used_bytes,
                    f"this client's slice of {allocator.capacity} bytes stayed full for "
                    f"{self.wait:g} s (the server did not free space; set {BUFFER_WAIT_VARIABLE})",
                )
            )
        return allocator.allocate(nbytes)

    def _collect_releases(self) -> bool:
        """Free every location the server has handed back; True if a DONE arrived."""
        status = self._status
        while self.comm.Iprobe(self.server_rank, MPI.ANY_TAG, status):
            message = self.comm.recv(source=self.server_rank, tag=status.Get_tag())
            if status.Get_tag() == TAG_DONE:
                return True
            if self.allocator is None:  # only locations it handed out come back
                raise RuntimeError(f"server released {message} to a client without a slice")
            if self._runs:
                for location in message:
                    self._free(location)
            else:
                for location in message:
                    self.allocator.free(location)
        return False

    def send_end_iteration(self, server: int, source: int, iteration: int) -> None:
        """Send the iteration's notices and its end as one message; take back freed space."""
        self._address(server)
        self._flush(IterationEnded(source, iteration))
        if self.allocator is not None:
            self._collect_releases()

    def send_stop(self, server: int, source: int) -> None:
        """Send what is pending and the stop; nothing follows from this client."""
        self._address(server)
        self._flush(ClientStopped(source))

    def close(self) -> None:
        """Wait for the server's DONE, taking the last releases on the way (a client that
        never named its server sent nothing to be released)."""
        if self.window is not None and self.server >= 0:
            _poll(self._collect_releases)


class MPIServerTransport:
    """Server side: receive notices, wrap shared memory as views, hand locations back."""

    def __init__(
        self, comm: MPI.Comm, topology: Topology, node_comm: MPI.Comm, window: MPI.Win | None
    ):
        self.comm = comm
        self.window = window
        self.clients = {
            topology.client_ranks[c]
            for c in topology.known_clients(topology.server_id(comm.Get_rank()))
        }
        self._slices: dict[int, np.ndarray] = {}
        self._pending_sends: list[MPI.Request] = []
        self._ready: deque[Message] = deque()  # unpacked from a batch, not yet received
        self._releases: dict[int, list[int]] = {}  # client rank -> locations to hand back
        self._dtypes: dict[str, np.dtype] = {}
        self._status = MPI.Status()  # filled by each probe for the next batch
        if window is not None:
            node_group, world_group = node_comm.Get_group(), comm.Get_group()
            for client in self.clients:
                node_rank = MPI.Group.Translate_ranks(world_group, [client], node_group)[0]
                buffer, _unit = window.Shared_query(node_rank)
                view = np.frombuffer(buffer, dtype=np.uint8)  # type: ignore[call-overload]
                self._slices[client] = view  # (the 3.12+ buffer protocol again)
                int(self._slices[client][::PAGE].sum())  # map the client's pages here too

    def receive(self) -> Message:
        """The next message from any owned client (polling, so idle servers cost no CPU).

        Releases made since the last call go out first, one message per client.
        """
        self._send_releases()
        if not self._ready:
            self._unpack(self._next_batch())
        return self._ready.popleft()

    def _next_batch(self) -> tuple[int, list]:
        status = self._status
        _poll(lambda: self.comm.Iprobe(MPI.ANY_SOURCE, TAG_TO_SERVER, status), spin=_SERVER_SPIN)
        self._reap_sends()
        source = status.Get_source()
        return source, self.comm.recv(source=source, tag=TAG_TO_SERVER)

    def _unpack(self, received: tuple[int, list]) -> None:
        """Turn one client's batch into messages, in the order the client issued them."""
        source, batch = received
        memory = self._slices.get(source)
        dtypes, ready = self._dtypes, self._ready
        synced = False
        for item in batch:
            if type(item) is not tuple:
                if type(item) is StoredNotices:
                    self._unpack((source, self._stored_notices(source, item)))
                else:
                    ready.append(item)
                continue
            variable, client, block, iteration, offsets, dtype_str, shape, location = item
            dtype = dtypes.get(dtype_str) or dtypes.setdefault(dtype_str, np.dtype(dtype_str))
            if location < 0:
                array = np.empty(shape, dtype=dtype)
                self.comm.Recv(array.reshape(-1).view(np.uint8), source, TAG_TO_SERVER)
                handle = None
            else:
                if not synced:
                    _shared(self.window).Sync()
                    synced = True
                array = np.ndarray(shape, dtype, memory, location)  # a view, no copy
                handle = (source, location)
            ready.append(
                BlockArrived(Block(variable, client, block, iteration, offsets, array), handle)
            )

    def _stored_notices(self, source: int, stored: StoredNotices) -> list[Notice]:
        """Read a batch of notices out of ``source``'s slice and give its space back."""
        _shared(self.window).Sync()
        end = stored.location + stored.nbytes
        notices = pickle.loads(self._slices[source][stored.location : end].data)
        self._releases.setdefault(source, []).append(stored.location)
        return notices

    def release(self, arrived: BlockArrived) -> None:
        """Queue a shared-memory location for its client; it goes back with the next call of
        :meth:`receive` (or :meth:`close`), together with the rest of the iteration's."""
        if arrived.handle is not None:
            client, location = cast(tuple[int, int], arrived.handle)  # made by _unpack()
            self._releases.setdefault(client, []).append(location)

    def _send_releases(self) -> None:
        for client, locations in self._releases.items():
            self._pending_sends.append(self.comm.isend(locations, client, TAG_RELEASE))
        self._releases = {}

    def _reap_sends(self) -> None:
        self._pending_sends = [r for r in self._pending_sends if not r.Test()]

    def close(self) -> None:
        """Hand back the last locations, then tell every owned client that nothing more will
        be released (shared memory only)."""
        self._send_releases()
        if self.window is not None:
            for client in self.clients:
                self._pending_sends.append(self.comm.isend(None, client, TAG_DONE))
        MPI.Request.Waitall(self._pending_sends)
        self._pending_sends = []
