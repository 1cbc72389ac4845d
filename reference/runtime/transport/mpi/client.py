"""The client side of the MPI transport: a block is copied into the client's slice of the
node's shared segment (or sent across nodes) and its notice goes to the server in batches.
"""

from __future__ import annotations

import bisect
import pickle
from typing import cast

import numpy as np
from mpi4py import MPI

from damaris_ref.core.config.model import Config
from damaris_ref.core.data import Block
from damaris_ref.core.errors import RunError
from damaris_ref.core.settings import BUFFER_WAIT
from damaris_ref.core.topology import Topology
from damaris_ref.runtime.transport.base import (
    BlockPart,
    BufferFullError,
    ClientStopped,
    IterationEnded,
)
from damaris_ref.runtime.transport.budget import buffer_full_message
from damaris_ref.runtime.transport.mpi.wire import (
    TAG_DONE,
    TAG_TO_SERVER,
    Notice,
    SharedSegment,
    Starved,
    StoredNotices,
    node_window,
    poll,
)
from damaris_ref.runtime.transport.prefault import prefault
from damaris_ref.runtime.transport.shm_allocator import ShmAllocator

#: the environment variable that sets how long a client waits for its server to free space
BUFFER_WAIT_VARIABLE = BUFFER_WAIT.name

#: a client sends its pending notices once this many have piled up within one iteration
NOTICE_BATCH = 4096

#: a block of at least this many bytes first takes back what the server has freed, so that it
#: goes where the last one was (still in cache); a smaller one would pay more for asking than
#: it gains, as the few places its last blocks took stay in the core's cache anyway
TAKE_BACK_FROM = 1 << 18

#: more pending notices than this travel through the shared slice, not in the message
INLINE_NOTICES = 32


#: how a client copies blocks of one dtype: (dtype string, typed view of its slice, item size)
_Copier = tuple[str, memoryview | None, int]


class MPIClientTransport:
    """Client side: copy into the shared slice (or Send across nodes), notify the server."""

    def __init__(
        self,
        comm: MPI.Comm,
        config: Config,
        topology: Topology,
        node_comm: MPI.Comm,
        window: SharedSegment | None,
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
        self._releases_heard = 0  # messages of released locations taken from the server
        if window is not None:
            buffer, _unit = window.Shared_query(node_comm.Get_rank())
            # mpi4py's stubs declare the buffer protocol of MPI.buffer on Python 3.12+ only
            self.memory = np.frombuffer(buffer, dtype=np.uint8)  # type: ignore[arg-type]
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

    def _flush(self, last: IterationEnded | ClientStopped | Starved | None = None) -> None:
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
            node_window(self.window).Sync()  # the copies are visible before the server reads them
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
        # the server sees every block written so far before this client waits for it, and
        # has what Dask holds of this client copied out
        self._flush(Starved(self._releases_heard))
        used = allocator.used_bytes

        def freed_enough() -> bool:
            nonlocal used
            self._collect_releases()
            if allocator.largest_free_extent >= allocator.reserved_size(nbytes):
                return True
            if allocator.used_bytes < used:  # space came back, not enough: ask for more
                self.comm.send([Starved(self._releases_heard)], self.server_rank, TAG_TO_SERVER)
            used = allocator.used_bytes
            return False

        if not poll(freed_enough, self.wait):
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
            self._releases_heard += 1
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
            poll(self._collect_releases)
