"""Blocks read by a server's worker where the clients wrote them: no copy at all.

Where the node buffer is a file other processes can open
(:mod:`~damaris_ref.runtime.transport.mpi.node_segment`), each server's worker keeps a
:class:`NodeReader` (the result of a task pinned to it, like a slot's mapping), which maps the
whole file once, read-only. The blocks a server hands over in place for one call are a
**hold** (:mod:`~damaris_ref.runtime.transport.holds`): one task takes the window of the
mapping that holds them, each block's chunk is a view of it, and the server's transport keeps
the blocks' places from their clients while any of it lives.

Two pipes join the server and the reader (each opened by the worker through
``/proc/<server pid>/fd``). On the first the worker writes the number of each hold it no longer
reads: its window and every view of it are gone, or it was copied out. On the second the server
asks for a copy-out when a client waits for space: a thread of the reader copies the hold's
pages into an anonymous file of the worker's own and maps the copy at the very same addresses
(one ``mmap`` with ``MAP_FIXED``), so every array already taken keeps its address and bytes
and none reads the node buffer any more. When the worker's process ends, the first pipe ends
too, and the server knows no hold is read any more.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import os
import struct
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from distributed import Client, Future, get_worker

from damaris_ref.core.errors import DaskError
from damaris_ref.dask_bridge.hand_off import merged_runs
from damaris_ref.dask_bridge.segments import LostSlot, block_view, start_on_worker
from damaris_ref.dask_bridge.shared_files import fd_path

#: blocks as ``(offset, bytes)`` pairs from the start of a window of the node buffer
Runs = tuple[tuple[int, int], ...]

#: one message on either pipe: a hold's number (little-endian int64; 8 bytes are written at
#: once by the kernel, so messages never interleave)
_MESSAGE = struct.Struct("<q")
_PROT_READ = mmap.PROT_READ
_MAP_SHARED, _MAP_PRIVATE, _MAP_ANONYMOUS = mmap.MAP_SHARED, mmap.MAP_PRIVATE, mmap.MAP_ANONYMOUS
_MAP_FIXED = getattr(mmap, "MAP_FIXED", 0x10)  # Python 3.13 names it; Linux's value
_MAP_FAILED = ctypes.c_void_p(-1).value


@functools.cache
def _libc_mmap() -> Callable[..., int | None]:
    """The C library's ``mmap``, typed for a call that names the address (Python's cannot)."""
    function = ctypes.CDLL(None, use_errno=True).mmap
    function.restype = ctypes.c_void_p
    function.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    return function


# --- worker side --------------------------------------------------------------------------


class _NodeMapping:
    """One read-only mapping of the whole node buffer, which every hold made while it is its
    reader's current one reads through: its pages stay mapped from one hold to the next, so a
    block written where an earlier one was is read without a page fault.

    A copy-out gives some of its pages copies of their own, which no longer see the clients'
    writes, so the mapping then takes no new hold; once no hold reads the buffer through it,
    its other pages are replaced by zero pages of this process's own, so that it no longer
    keeps any of the buffer's memory."""

    def __init__(self, fd: int, size: int) -> None:
        # not populated: the pages a computation reads are mapped as it reads them, 16 at a
        # time (the kernel's fault-around), cheaper than mapping all first
        self.mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        self.reading: set[int] = set()  # holds that read the buffer through it
        self.copied: list[tuple[int, int]] = []  # page ranges that are copies of their own
        self.retired = False

    def view(self, start: int, length: int) -> np.ndarray:
        """``length`` read-only bytes from ``start``, as an array every view of it keeps."""
        with memoryview(self.mapping) as whole:
            return np.frombuffer(whole[start : start + length], np.uint8)

    def copy(self, runs: Runs) -> None:
        """Give the whole pages that hold ``runs`` (``(offset, bytes)``) copies of their own,
        at the same addresses."""
        pages = _page_runs(runs, len(self.mapping))
        address = np.frombuffer(self.mapping, np.uint8, count=1).ctypes.data
        copy = os.memfd_create("damaris-copied-out", os.MFD_CLOEXEC)
        try:
            os.ftruncate(copy, sum(end - begin for begin, end in pages))
            at = 0
            with memoryview(self.mapping) as source:
                for begin, end in pages:
                    written = begin
                    while written < end:
                        written += os.write(copy, source[written:end])
                    _map_over(address + begin, end - begin, copy, at)
                    at += end - begin
        finally:
            os.close(copy)  # the mapping keeps the copy alive
        self.copied.extend(pages)

    def leave_buffer(self) -> None:
        """Map zero pages of this process's own over every page that is not a copy."""
        address = np.frombuffer(self.mapping, np.uint8, count=1).ctypes.data
        cursor = 0
        for begin, length in merged_runs((b, e - b) for b, e in self.copied):
            _map_over(address + cursor, begin - cursor, -1, 0)
            cursor = begin + length
        _map_over(address + cursor, len(self.mapping) - cursor, -1, 0)


class NodeReader:
    """The node buffer as one worker reads it, through one mapping while no copy-out was
    needed (:class:`_NodeMapping`); the chunks' tasks take windows of it.

    Thread-safe: chunk tasks take holds while copy-out requests arrive on a thread of its own,
    and a hold's end may be noticed by the garbage collector in any thread. Each hold ends
    once: its number goes to the server after the last read of the node buffer for it.
    """

    def __init__(
        self, server_pid: int, fds: tuple[int, int, int], size: int, worker: str, key: str
    ) -> None:
        if get_worker().address != worker:
            raise LostSlot(server_pid, worker, key).lost()
        self.server_pid, self.worker, self.key, self.size = server_pid, worker, key, size
        buffer, requests, ends = (fd_path(fd, server_pid) for fd in fds)
        self._file = os.open(buffer, os.O_RDONLY | os.O_CLOEXEC)
        self._ends = os.open(ends, os.O_WRONLY | os.O_CLOEXEC)
        asked = os.open(requests, os.O_RDONLY | os.O_CLOEXEC)
        weakref.finalize(self, _close, self._file, self._ends)  # they go with the reader
        self._lock = threading.RLock()  # a hold may end (by GC) inside a locked section
        self._current: _NodeMapping | None = None  # the one new holds read through
        #: per live hold: its mapping, its window, and its blocks' bytes in the mapping
        self._live: dict[int, tuple[_NodeMapping, weakref.ref[np.ndarray], Runs]] = {}
        # the holds that ended: every one below the floor, and these above it (hold numbers
        # grow and each one ends here, so the set stays small in a run of any length)
        self._floor, self._ended = 0, set[int]()
        thread = threading.Thread(target=self._serve, args=(asked,), daemon=True)
        thread.name = f"damaris copy-out for {key}"
        thread.start()

    def window(self, hold: int, start: int, length: int, runs: Runs) -> np.ndarray:
        """The ``length`` read-only bytes at byte ``start`` of the node buffer, for ``hold``,
        whose blocks lie at ``runs`` (``(offset, bytes)`` from ``start``). DaskError if that
        hold ended (its bytes may be a client's by now)."""
        if start < 0 or length <= 0 or start + length > self.size:
            raise ValueError(
                f"{length} bytes at {start} do not lie inside the node buffer of {self.size} bytes"
            )
        with self._lock:
            if self._has_ended(hold):
                raise DaskError(
                    f"hold {hold} of server process {self.server_pid} has ended on worker "
                    f"{self.worker}: its blocks may belong to a client by now"
                )
            known = self._live.get(hold)
            root = known[1]() if known is not None else None
            if root is None:
                if self._current is None:
                    self._current = _NodeMapping(self._file, self.size)
                mapping = self._current
                root = mapping.view(start, length)
                weakref.finalize(root, self._died, hold)
                mapping.reading.add(hold)
                placed = tuple((start + offset, nbytes) for offset, nbytes in runs)
                self._live[hold] = (mapping, weakref.ref(root), placed)
        return root  # read-only: the mapping is

    def _serve(self, asked: int) -> None:
        """Copy out each hold the server names, until the server closes its end."""
        with os.fdopen(asked, "rb", buffering=0) as requests:
            while message := requests.read(_MESSAGE.size):
                if len(message) == _MESSAGE.size:
                    self.copy_out(_MESSAGE.unpack(message)[0])

    def copy_out(self, hold: int) -> None:
        """Give the blocks of ``hold`` copies of their own at the same addresses, then end
        the hold (nothing to copy if its chunks are gone: the hold just ends). Chunks of
        other holds are read and made meanwhile: only the hold's own end waits for the
        copy."""
        with self._lock:
            known = self._live.pop(hold, None)
            if self._has_ended(hold):
                return
            self._end(hold)  # read no more from the node buffer: a new task fails
            if known is not None:
                known[0].retired = True  # its copied pages would not see clients' writes
                if known[0] is self._current:
                    self._current = None
        if known is not None:
            mapping, root, runs = known
            if root() is not None:
                mapping.copy(runs)
            self._leave(mapping, hold)
        self._tell_ended(hold)

    def _died(self, hold: int) -> None:
        with self._lock:
            known = self._live.pop(hold, None)
            if known is None or self._has_ended(hold):
                return
            self._end(hold)
        self._leave(known[0], hold)
        self._tell_ended(hold)

    def _has_ended(self, hold: int) -> bool:
        return hold < self._floor or hold in self._ended

    def _end(self, hold: int) -> None:
        """Count ``hold`` as ended (with the lock held)."""
        self._ended.add(hold)
        while self._floor in self._ended:
            self._ended.remove(self._floor)
            self._floor += 1

    def _leave(self, mapping: _NodeMapping, hold: int) -> None:
        """``hold`` no longer reads the buffer through ``mapping``: the last hold of a retired
        mapping takes the buffer's pages out of it."""
        with self._lock:
            mapping.reading.discard(hold)
            last = mapping.retired and not mapping.reading
        if last:
            mapping.leave_buffer()

    def _tell_ended(self, hold: int) -> None:
        with contextlib.suppress(OSError):  # the server is gone: nobody waits for the hold
            os.write(self._ends, _MESSAGE.pack(hold))

    def __sizeof__(self) -> int:
        return 0  # it maps, it does not hold: each chunk counts its own block

    def __reduce__(self) -> tuple[type[LostSlot], tuple[int, str, str]]:
        # moved off its worker, it is lost (see WorkerSlot.__reduce__)
        return LostSlot, (self.server_pid, self.worker, self.key)


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


def _page_runs(runs: Runs, length: int) -> list[tuple[int, int]]:
    """The whole pages (begin, end) that hold ``runs``, merged, within ``length`` bytes."""
    page = mmap.PAGESIZE
    pages = merged_runs(
        (offset // page * page, -(-(offset + nbytes) // page) * page - offset // page * page)
        for offset, nbytes in runs
    )
    return [(begin, min(begin + size, length)) for begin, size in pages]


def _map_over(address: int, length: int, fd: int, offset: int) -> None:
    """Map ``length`` bytes of ``fd`` from ``offset`` read-only at ``address`` (zero pages of
    this process's own when ``fd`` is -1); nothing for no bytes."""
    if length <= 0:
        return
    flags = _MAP_FIXED | (_MAP_SHARED if fd >= 0 else _MAP_PRIVATE | _MAP_ANONYMOUS)
    placed = _libc_mmap()(address, length, _PROT_READ, flags, fd, offset)
    if placed in (None, _MAP_FAILED):
        error = ctypes.get_errno()
        raise OSError(error, f"cannot map the copied-out bytes: {os.strerror(error)}")


def held_block(
    reader: NodeReader | LostSlot, hold: int, offset: int, shape: tuple[int, ...], dtype: str
) -> np.ndarray:
    """On the worker: the chunk that is the one block of ``hold``, read in place."""
    if isinstance(reader, LostSlot):
        raise reader.lost()
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return block_view(reader.window(hold, offset, nbytes, ((0, nbytes),)), 0, shape, dtype)


def held_window(
    reader: NodeReader | LostSlot, hold: int, start: int, length: int, runs: Runs
) -> np.ndarray:
    """On the worker: the bytes of the node buffer that hold the blocks of ``hold``, read in
    place, for each block's chunk to view."""
    if isinstance(reader, LostSlot):
        raise reader.lost()
    return reader.window(hold, start, length, runs)


# --- server side ---------------------------------------------------------------------------


@dataclass
class ReaderLink:
    """The server's end of its worker's :class:`NodeReader`: what the transport asks of it
    (:class:`~damaris_ref.dask_bridge.hand_off.Reader`)."""

    key: str
    future: Future
    requests: int  # write end
    ends: int  # read end, non-blocking
    gone: bool = False  # the worker's end closed: its process ended

    @classmethod
    def open(cls, client: Client, worker: str, node_file: tuple[str, int], key: str) -> ReaderLink:
        """Start the reader on ``worker`` for the node buffer (``path``, ``size``).
        SharedMemoryUnavailable if the worker cannot open it."""
        path, size = node_file
        asked, requests = os.pipe()
        ends, told = os.pipe()
        os.set_blocking(ends, False)
        buffer = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            args = (os.getpid(), (buffer, asked, told), size, worker, key)
            future = start_on_worker(client, worker, key, NodeReader, *args)
        except BaseException:
            os.close(requests)
            os.close(ends)
            raise
        finally:  # the worker has its own ends of them now (or never will)
            for fd in (buffer, asked, told):
                os.close(fd)
        return cls(key, future, requests, ends)

    def ended(self) -> list[int] | None:
        """The holds the worker ended since last asked; None once its process has ended."""
        try:
            data = os.read(self.ends, 8 * 1024)
        except BlockingIOError:
            return []
        if not data:
            self.gone = True
            return None
        return [hold for (hold,) in _MESSAGE.iter_unpack(data)]

    def copy_out(self, hold: int) -> None:
        """Ask the worker to copy the block of ``hold`` into its own memory."""
        with contextlib.suppress(BrokenPipeError):  # the worker is gone: ended() says so
            os.write(self.requests, _MESSAGE.pack(hold))

    def close(self) -> None:
        """Stop the worker's copy-out thread and release the reader (its holds end as their
        chunks go)."""
        os.close(self.requests)
        os.close(self.ends)
        self.future.release()
