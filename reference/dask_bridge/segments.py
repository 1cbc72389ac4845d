"""Blocks from a server to its own worker through shared memory: one copy, no serialization.

Each server keeps a small pool of **slots**, anonymous shared-memory files
(``memfd_create``: no name in ``/dev/shm``, so nothing can be left behind, even by a killed
process; the memory goes when the last mapping of it goes). A slot is mapped once by the
server and once by its worker; the worker opens it through ``/proc/<server pid>/fd/<fd>``
(same user) in a small task whose result, the mapping, stays on that worker under the slot's
key for as long as the server holds the slot.

Per ``global_array`` call each server copies its blocks into a free slot (the one copy: its
blocks are views of the transport's memory, which goes back to the clients after the
scripts), laid out as the box they tile or back to back, and numbers the call in the slot's
header. Server 0, which plans the array, then submits the **leases**: a task on the slot's
worker that takes the call's bytes as a buffer, either as the chunk itself (a read-only NumPy
array of the box, under the chunk's key: the array's chunk is in place as soon as it runs) or
as a :class:`Lease` that block tasks take zero-copy views of. Every view keeps the buffer
alive; when the last one goes (server 0 released its futures, the array and any kept dataset
are gone), the worker writes the call's number into the slot's header, and the server sees
the slot is free again without asking anyone. A slot still leased, or written and not yet
leased, is never written again: the next call takes another slot, or a new one. A lease of a
call whose bytes have since been replaced fails instead of reading them.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from distributed import Client, Future, get_worker

from damaris_ref.core.errors import DaskError
from damaris_ref.dask_bridge.chunks import SlotWrite
from damaris_ref.dask_bridge.current_client import wait_done
from damaris_ref.dask_bridge.layout import BoxPlace, lay_out, planned
from damaris_ref.dask_bridge.shared_files import fd_path

#: bytes before the payload: the call number of the last lease that died, then that of the
#: call whose bytes the slot holds (little-endian int64 each)
HEADER = 64
#: a free slot this many times larger than needed is dropped rather than reused
OVERSIZE = 4
#: seconds a worker gets to map a new slot (its first task also imports this module)
MAP_TIMEOUT = 60.0


class SharedMemoryUnavailable(DaskError, OSError):
    """The worker could not map a slot (no ``/proc``, another user...): use another way.

    A class of its own because the session catches it to send blocks another way; also an
    ``OSError``: it is one, raised where mapping the memory failed."""


# --- worker side: runs in the worker process ---------------------------------------------


class SlotLost(DaskError):
    """A slot's task ran again on another worker: its worker died, and what the slot held is
    gone with it (its server may have reused the memory since). A class of its own because
    the session catches it to deliver the blocks again."""


class WorkerSlot:
    """A slot as mapped in the worker; the result of the slot's task.

    The task may run on ``worker`` only; it is not restricted to it, so that when that worker
    dies whatever depends on the slot fails at once instead of waiting for the worker.
    """

    def __init__(self, server_pid: int, fd: int, size: int, worker: str, key: str = "") -> None:
        if get_worker().address != worker:
            raise LostSlot(server_pid, worker, key).lost()
        self.server_pid, self.worker, self.key = server_pid, worker, key
        path = fd_path(fd, server_pid)
        descriptor = os.open(path, os.O_RDWR)
        try:
            self.mapping = mmap.mmap(
                descriptor, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            )
        finally:
            os.close(descriptor)
        self.size = size
        self.header = np.frombuffer(self.mapping, dtype=np.int64, count=2)
        #: the buffer of the call being read, shared by all its leases so that it is
        #: released once, when the last of them goes
        self._payloads: weakref.WeakValueDictionary[int, ctypes.Array[ctypes.c_char]] = (
            weakref.WeakValueDictionary()
        )

    def payload(self, generation: int, nbytes: int) -> ctypes.Array[ctypes.c_char]:
        """The bytes of the call numbered ``generation``, kept from reuse while any view of
        them lives. DaskError if the slot holds another call's bytes by now."""
        buffer = self._payloads.get(generation)
        if buffer is not None:
            return buffer
        written = int(self.header[1])
        if written != generation:
            raise DaskError(
                f"the blocks of call {generation} in {self.server_pid}'s shared memory were "
                f"replaced by those of call {written}: an array was used after the bytes "
                "it reads were given back"
            )
        buffer = (ctypes.c_char * max(nbytes, 1)).from_buffer(self.mapping, HEADER)
        weakref.finalize(buffer, _release, self.header, generation)
        self._payloads[generation] = buffer
        return buffer

    def __sizeof__(self) -> int:
        return self.size

    def __reduce__(self) -> tuple[type[LostSlot], tuple[int, str, str]]:
        # Dask moves a retiring worker's keys in batches, and one value that cannot be sent
        # spoils its whole batch on the receiver, whose tasks then wait for ever (the family of
        # dask/distributed#7060): a slot must travel, as a slot that is lost
        return LostSlot, (self.server_pid, self.worker, self.key)


class LostSlot:
    """What a slot is on any other worker (Dask moved it when its worker retired, or ran its
    task again when its worker died): nothing is mapped, and a lease of it raises
    :class:`SlotLost`."""

    def __init__(self, server_pid: int, worker: str, key: str = "") -> None:
        self.server_pid = server_pid
        self.worker = worker
        self.key = key  # names the server's worker: see SlotPool

    def __reduce__(self) -> tuple[type[LostSlot], tuple[int, str, str]]:
        return LostSlot, (self.server_pid, self.worker, self.key)

    def lost(self) -> SlotLost:
        """The error a use of this slot raises."""
        slot = f" in {self.key}" if self.key else ""
        return SlotLost(
            f"the shared-memory blocks of server process {self.server_pid}{slot} were on "
            f"their worker {self.worker}, which has left"
        )


class Lease:
    """The slot's payload for one call, the result of the call's task on the worker.

    ``buffer`` exports the payload; every block view keeps it alive, and when it dies (this
    object and every view gone) the slot is marked free. Moved to another worker (when Dask
    replicates or retires data) a lease becomes a private copy.
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: ctypes.Array[ctypes.c_char] | bytearray) -> None:
        self.buffer = buffer

    def __sizeof__(self) -> int:
        return memoryview(self.buffer).nbytes

    def __reduce__(self) -> tuple[type[Lease], tuple[bytearray]]:
        return Lease, (bytearray(memoryview(self.buffer)),)


def lease(slot: WorkerSlot | LostSlot, generation: int, nbytes: int) -> Lease:
    """Lease the ``nbytes`` of ``slot`` written by the call numbered ``generation``."""
    if isinstance(slot, LostSlot):
        raise slot.lost()
    return Lease(slot.payload(generation, nbytes))


def box_lease(
    slot: WorkerSlot | LostSlot, generation: int, shape: tuple[int, ...], dtype: str
) -> np.ndarray:
    """The box of ``shape`` written by the call numbered ``generation``, as a read-only array:
    a chunk of the global array in place. Moved to another worker, it is a private copy."""
    if isinstance(slot, LostSlot):
        raise slot.lost()
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return block_view(slot.payload(generation, nbytes), 0, shape, dtype)


def _release(header: np.ndarray, generation: int) -> None:
    header[0] = generation


def block_view(source: object, offset: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """One block: a read-only view at byte ``offset`` of a lease, of a slot's buffer or of a
    scattered array, shared by every task reading it."""
    buffer = memoryview(source.buffer) if isinstance(source, Lease) else source
    view = np.frombuffer(  # type: ignore[call-overload]
        buffer, dtype=np.dtype(dtype), count=int(np.prod(shape)), offset=offset
    )
    view = view.reshape(shape)
    view.flags.writeable = False
    return view


def box_view(source: object, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A box laid out in ``source``: a lease of it, or the box itself where it was
    scattered."""
    if isinstance(source, np.ndarray) and source.shape == tuple(shape):
        return source
    return block_view(source, 0, shape, dtype)


# --- server side ----------------------------------------------------------------------------


@dataclass
class Slot:
    """A slot as the server holds it: its file, its mapping and its worker's mapping."""

    key: str
    fd: int
    size: int
    mapping: mmap.mmap
    worker_mapping: Future
    generation: int = 0

    @property
    def free(self) -> bool:
        """True once the lease of the last call has died on the worker."""
        released = int.from_bytes(self.mapping[:8], "little", signed=True)
        return released == self.generation

    def close(self) -> None:
        """Release the worker's mapping, then this server's."""
        self.worker_mapping.release()
        self.mapping.close()
        os.close(self.fd)


def start_on_worker(
    client: Client, worker: str, key: str, make: Callable[..., object], *args: object
) -> Future:
    """``make(*args)`` run under ``key`` on ``worker``, once it has run there: a mapping of
    this server's memory that the worker keeps while the future lives. The task may run on
    ``worker`` only (``make`` refuses another worker); it is not restricted to it, so that
    when that worker dies whatever depends on it fails at once. SharedMemoryUnavailable if
    the worker cannot map the memory (an OSError there)."""
    future = client.submit(
        make, *args, key=key, workers=[worker], allow_other_workers=True, pure=False
    )
    try:
        wait_done(client, [future], MAP_TIMEOUT, f"the mapping of {key}")
    except OSError as failed:
        future.release()
        raise SharedMemoryUnavailable(f"the worker cannot map {key}: {failed}") from None
    except BaseException:
        future.release()
        raise
    return future


class SlotPool:
    """The slots one server uses with one worker."""

    def __init__(self, client: Client, worker: str, prefix: str) -> None:
        self.client = client
        self.worker = worker
        self.prefix = prefix  # names the files (as seen in /proc) and the slots' keys
        self._slots: list[Slot] = []
        self._created = 0

    def write(
        self, blocks: Sequence[np.ndarray], box: BoxPlace | None
    ) -> tuple[SlotWrite, tuple[int, ...] | None]:
        """Copy ``blocks`` into a free slot for one call, laid out as ``box`` if given, else
        back to back (:mod:`~damaris_ref.dask_bridge.layout`); what server 0 needs to lease
        them, and their byte offsets when back to back. OSError if the worker cannot map
        slots."""
        nbytes, offsets = planned(blocks, box)
        slot = self._free_slot(nbytes)
        slot.generation += 1
        header = np.frombuffer(slot.mapping, dtype=np.int64, count=2)
        header[1] = slot.generation  # before any byte: a late lease of the last call fails
        target = np.frombuffer(slot.mapping, dtype=np.uint8, count=nbytes, offset=HEADER)
        lay_out(target, blocks, box, offsets)
        del header, target
        written = SlotWrite(slot.key, slot.generation, nbytes, self.worker)
        return written, offsets

    def forget(self, key: str) -> None:
        """Never write the slot ``key`` again (a call that failed may or may not have leased
        it): it goes once the worker no longer reads it."""
        for slot in [s for s in self._slots if s.key == key]:
            self._slots.remove(slot)
            slot.close()

    def _free_slot(self, payload: int) -> Slot:
        """The smallest free slot that fits; free slots that do not fit are dropped."""
        need = HEADER + payload
        free = sorted((s for s in self._slots if s.free), key=lambda s: s.size)
        fitting = [s for s in free if need <= s.size <= OVERSIZE * need]
        for slot in free:
            if slot not in fitting:
                self._slots.remove(slot)
                slot.close()
        if fitting:
            return fitting[0]
        slot = self._create(need)
        self._slots.append(slot)
        return slot

    def _create(self, size: int) -> Slot:
        name = f"{self.prefix}-slot{self._created}"
        self._created += 1
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        mapping = None
        try:
            os.ftruncate(fd, size)
            mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
            args = (os.getpid(), fd, size, self.worker, name)
            future = start_on_worker(self.client, self.worker, name, WorkerSlot, *args)
        except BaseException:
            if mapping is not None:
                mapping.close()
            os.close(fd)
            raise
        return Slot(name, fd, size, mapping, future)

    def close(self) -> None:
        """Release every slot (the workers drop their mappings once no lease needs them)."""
        while self._slots:
            self._slots.pop().close()
