"""The server side of the MPI transport: notices are received and blocks in shared memory
are wrapped as NumPy views; their locations go back to each client once released, and once
no Dask worker reads them in place (:mod:`~damaris_ref.runtime.transport.holds`).
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from typing import cast

import numpy as np
from mpi4py import MPI

from damaris_ref.core.config.buffer import PAGE
from damaris_ref.core.data import Block
from damaris_ref.core.topology import Topology
from damaris_ref.dask_bridge.hand_off import Location, Reader, copy_grace
from damaris_ref.runtime.transport.base import BlockArrived, Message
from damaris_ref.runtime.transport.holds import Holds
from damaris_ref.runtime.transport.mpi.node_segment import NodeSegment
from damaris_ref.runtime.transport.mpi.wire import (
    TAG_DONE,
    TAG_RELEASE,
    TAG_TO_SERVER,
    Notice,
    SharedSegment,
    Starved,
    StoredNotices,
    node_window,
    poll,
)

#: a server asks again at once for this long before it starts sleeping: a client writing
#: iteration after iteration hears back within microseconds, so its next block goes where its
#: last one was (still in cache); 1 ms per iteration is nothing to a simulation's step
_SERVER_SPIN = 0.001


class MPIServerTransport:
    """Server side: receive notices, wrap shared memory as views, hand locations back."""

    def __init__(
        self, comm: MPI.Comm, topology: Topology, node_comm: MPI.Comm, window: SharedSegment | None
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
        self._holds = Holds()
        self._reader: Reader | None = None
        self._starving: dict[int, float] = {}  # client -> when its oldest hold is copied out
        self._releases_sent: dict[int, int] = {}  # messages of released locations, by client
        #: per client: where its slice starts in this process and in the node's file
        self._starts: dict[int, tuple[int, int]] = {}
        if window is not None:
            node_group, world_group = node_comm.Get_group(), comm.Get_group()
            for client in self.clients:
                node_rank = MPI.Group.Translate_ranks(world_group, [client], node_group)[0]
                buffer, _unit = window.Shared_query(node_rank)
                view = np.frombuffer(buffer, dtype=np.uint8)  # type: ignore[arg-type]
                self._slices[client] = view  # (the 3.12+ buffer protocol again)
                int(self._slices[client][::PAGE].sum())  # map the client's pages here too
                if isinstance(window, NodeSegment) and view.size:
                    self._starts[client] = (view.ctypes.data, window.starts[node_rank])

    def node_file(self) -> tuple[str, int] | None:
        """Where a worker of this user opens the node's buffer, and its size; None where the
        node shares none or MPI's window holds it (no other process can open that)."""
        if not isinstance(self.window, NodeSegment) or not self._starts:
            return None
        return self.window.path(), self.window.size

    def place(self, array: np.ndarray) -> tuple[Location, int] | None:
        """Where the C-contiguous ``array`` lies: its location (client, offset in the slice)
        and its offset in the node's file; None if not in the node buffer whole."""
        if not array.flags.c_contiguous:
            return None
        address = array.ctypes.data
        for client, (start, in_file) in self._starts.items():
            offset = address - start
            if offset >= 0 and offset + array.nbytes <= self._slices[client].size:
                return (client, offset), in_file + offset
        return None

    def hold(self, locations: list[Location], nbytes: int) -> int:
        """A Dask key now reads the ``nbytes`` of the blocks at ``locations`` in place,
        through the reader given to :meth:`attach`: they are not handed back before that
        hold ends."""
        return self._holds.hold(locations, nbytes)

    def attach(self, reader: Reader | None) -> None:
        """Hear of ended holds from ``reader`` (and have it copy blocks out when a client
        waits for space); None detaches it, ending every hold (its worker reads no more)."""
        if reader is None:
            self._ended(self._holds.end_all())
        self._reader = reader

    def holds(self) -> list[int]:
        """The live holds, oldest first."""
        return self._holds.live()

    def largest_hold(self) -> int:
        """The bytes the largest live hold reads (0 when none is live)."""
        return max(map(self._holds.size, self._holds.live()), default=0)

    def hear_reader(self) -> None:
        """Take the holds the reader ended and send their locations back at once."""
        reader = self._reader
        if reader is None:
            return
        ended = reader.ended()
        if ended is None:  # its process ended: it reads nothing any more
            self._reader = None
            self._ended(self._holds.end_all())
            return
        for hold in ended:
            self._ended(self._holds.end(hold))
        if self._starving:
            self._copy_out_due()

    def _ended(self, places: list[Location]) -> None:
        if places:
            for client, location in places:
                self._releases.setdefault(client, []).append(location)
                self._starving.pop(client, None)  # it asks again if that was not enough
            self._send_releases()

    def _starved(self, client: int, heard: int) -> None:
        """``client`` waits for space, having taken ``heard`` messages of released locations:
        unless more are on their way to it, the oldest hold on its waiting blocks gets as long
        to end as copying it would take, then is copied out
        (:func:`~damaris_ref.dask_bridge.hand_off.copy_grace`)."""
        self.hear_reader()
        if self._releases_sent.get(client, 0) > heard:
            return  # it asks again if what is on its way is not enough
        hold = self._holds.next_for(client)
        if self._reader is None or hold is None or client in self._starving:
            return
        grace = copy_grace(self._holds.size(hold))
        self._starving[client] = time.monotonic() + grace

    def _copy_out_due(self) -> None:
        """Have the holds of clients that waited past their grace copied out."""
        now = time.monotonic()
        for client, deadline in list(self._starving.items()):
            if now < deadline or self._reader is None:
                continue
            del self._starving[client]
            hold = self._holds.to_copy_out(client)
            if hold is not None:
                self._reader.copy_out(hold)

    def receive(self) -> Message:
        """The next message from any owned client (polling, so idle servers cost no CPU).

        Releases made since the last call go out first, one message per client.
        """
        self._send_releases()
        while not self._ready:  # a batch may hold no message (a client's Starved alone)
            self._unpack(self._next_batch())
        return self._ready.popleft()

    def _next_batch(self) -> tuple[int, list]:
        status = self._status

        def arrived() -> bool:
            if self._reader is not None:
                self.hear_reader()
            return self.comm.Iprobe(MPI.ANY_SOURCE, TAG_TO_SERVER, status)

        poll(arrived, spin=_SERVER_SPIN)
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
                elif type(item) is Starved:
                    self._starved(source, item.heard)
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
                    node_window(self.window).Sync()
                    synced = True
                array = np.ndarray(shape, dtype, memory, location)  # a view, no copy
                handle = (source, location)
            ready.append(
                BlockArrived(Block(variable, client, block, iteration, offsets, array), handle)
            )

    def _stored_notices(self, source: int, stored: StoredNotices) -> list[Notice]:
        """Read a batch of notices out of ``source``'s slice and give its space back."""
        node_window(self.window).Sync()
        end = stored.location + stored.nbytes
        notices = pickle.loads(self._slices[source][stored.location : end].data)
        self._releases.setdefault(source, []).append(stored.location)
        return notices

    def release(self, arrived: BlockArrived) -> None:
        """Queue a shared-memory location for its client; it goes back with the next call of
        :meth:`receive` (or :meth:`close`), together with the rest of the iteration's."""
        if arrived.handle is not None:
            client, location = cast(tuple[int, int], arrived.handle)  # made by _unpack()
            if self._holds.release((client, location)):
                self._releases.setdefault(client, []).append(location)

    def _send_releases(self) -> None:
        sent = self._releases_sent
        for client, locations in self._releases.items():
            self._pending_sends.append(self.comm.isend(locations, client, TAG_RELEASE))
            sent[client] = sent.get(client, 0) + 1
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
