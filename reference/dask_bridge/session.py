"""A server's Dask session: scheduler check, its worker, how blocks reach that worker, and the
futures it holds (spec §5).

Opened when a server starts, closed when it stops. For each distinct scheduler file named by
a pyscript: if the file names a scheduler that answers within the pyscript's ``timeout``
(:mod:`~damaris_ref.dask_bridge.scheduler_file`), the server connects and starts its worker;
otherwise, whatever the file holds or listens at its address, that pyscript's
``dask_scheduler_file`` is "" and it runs without Dask (a warning, printed once per run by
server 0).

The session of the script being run is found through a context variable that
:meth:`DaskSession.script_scope` sets around each run: nothing process-wide. ``distributed``
is imported only once a scheduler has answered, so that a server whose scheduler file names
no scheduler starts as fast as one without Dask.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from damaris_ref.core.config.model import Config
from damaris_ref.core.polling import (
    MPI_WAIT_FIRST,
    MPI_WAIT_MOST,
    PROCESS_POLL,
    poll_until,
    sleeping_barrier,
)
from damaris_ref.dask_bridge.chunks import Buffer, HeldBlock, ServerBlocks
from damaris_ref.dask_bridge.current_client import current_in_this_context
from damaris_ref.dask_bridge.exchange import Exchange
from damaris_ref.dask_bridge.hand_off import HandOff, copy_grace, merged_runs
from damaris_ref.dask_bridge.layout import lay_out, planned
from damaris_ref.dask_bridge.scheduler_file import SchedulerUnusable, connect_within
from damaris_ref.dask_bridge.worker_env import threads_per_worker, workers_name
from damaris_ref.launch.processes import Child, describe_exit

if TYPE_CHECKING:
    from distributed import Client, Future

    from damaris_ref.dask_bridge import segments
    from damaris_ref.dask_bridge.in_place import ReaderLink
    from damaris_ref.dask_bridge.workers import ServerWorker

_running: contextvars.ContextVar[DaskSession | None] = contextvars.ContextVar(
    "damaris_dask_session", default=None
)

#: seconds a server waits for its worker's process to end once the scheduler has lost it
WORKER_END_GRACE = 10.0
#: seconds a server's client holds a message to the scheduler to batch it with the next ones
CLIENT_SEND_INTERVAL = 0.002
#: seconds a closing server waits for its worker to copy out the blocks it still reads in
#: place (only a worker kept after the run, or its published data, still needs them)
COPY_OUT_AT_CLOSE = 10.0


def _worker_ended(status: int) -> RuntimeError:
    """What a server says when its worker's process has ended."""
    return RuntimeError(f"the worker process ended ({describe_exit(status)})")


def _send_sooner(client: Client) -> None:
    """Let ``client`` send a message to the scheduler 2 ms after its last one, not 10 ms.

    ``distributed`` holds a message that follows another within its client's interval (10 ms)
    to send both at once. A server's client sends a few messages per iteration, each soon
    after the last (the lease, then the analysis, then the releases), so each waited for the
    interval; 2 ms is what a worker's own stream to the scheduler uses. Only the
    connection this server made is changed, not the scheduler nor any other client.
    """
    stream = getattr(client, "scheduler_comm", None)
    if stream is not None and isinstance(getattr(stream, "interval", None), float):
        stream.interval = min(stream.interval, CLIENT_SEND_INTERVAL)


class _ReaderGone(RuntimeError):
    """The worker's node reader is gone: its process has ended, or is ending. A class of its
    own because :meth:`DaskSession.deliver` catches exactly it, to say how the worker ended."""


def current_session() -> DaskSession | None:
    """The Dask session of the server whose pyscript is running here, if it has one."""
    return _running.get()


@dataclass(frozen=True)
class Delivery:
    """One server's blocks of one call, for its worker: where they lie (``buffer``), and the
    futures that keep them there until server 0 refers to them (scattered blocks only)."""

    key: str
    buffer: Buffer
    futures: list[Future]


class DaskSession:
    """Clients and the worker one server uses, keyed by scheduler file."""

    def __init__(
        self, server_id: int, simulation_name: str, magic: str, hand_off: HandOff | None = None
    ):
        self.server_id = server_id
        self._hand_off = hand_off  # the transport, where it lets a worker read blocks in place
        self._reader: tuple[str, ReaderLink] | None = None  # (scheduler file, its link)
        self.simulation_name = simulation_name
        self.magic = magic
        self.scheduler_files: dict[str, str] = {}  # pyscript name -> usable scheduler file
        self._clients: dict[str, Client] = {}
        self._workers: dict[str, ServerWorker] = {}
        self._pools: dict[str, segments.SlotPool | None] = {}  # None: no shared memory
        # kept until the next call for the variable: this server's delivery, and on server 0
        # the leases it submitted for every server
        self._held: dict[tuple[str, str], Delivery] = {}
        self._leases: dict[tuple[str, str], list[Future]] = {}
        self._exchanges: dict[int, Exchange] = {}  # by MPI communicator handle

    @property
    def worker_name(self) -> str:
        """``<simulation_name>_<magic>_<server id>`` (spec §5)."""
        return f"{workers_name(self.simulation_name, self.magic)}_{self.server_id}"

    @classmethod
    def open(
        cls, config: Config, server_id: int, magic: str, hand_off: HandOff | None = None
    ) -> DaskSession:
        """Connect and start workers for every pyscript that names a working scheduler;
        ``hand_off``, the server's transport where its worker may read blocks in place."""
        session = cls(server_id, config.simulation_name, magic, hand_off)
        tried: set[str] = set()  # each scheduler is tried (and warned about) once
        for pyscript in config.pyscripts:
            path = str(pyscript.scheduler_file or "")
            if not path:
                continue
            if path not in tried:
                tried.add(path)
                client = session._connect(Path(path), pyscript.timeout, pyscript.name)
                if client is not None:
                    from damaris_ref.dask_bridge.workers import ServerWorker

                    session._clients[path] = client
                    session._workers[path] = ServerWorker.start(
                        client,
                        session.worker_name,
                        threads_per_worker(pyscript),
                        keep=pyscript.keep_workers,
                    )
            if path in session._clients:
                session.scheduler_files[pyscript.name] = path
        return session

    def _connect(self, path: Path, timeout: float, pyscript: str) -> Client | None:
        try:
            client = connect_within(path, timeout)
        except SchedulerUnusable as why:
            self._warn(pyscript, str(why))
            return None
        _send_sooner(client)
        return client

    def _warn(self, pyscript: str, why: str) -> None:
        if self.server_id == 0:
            self._say(
                "warning",
                f'{why}; pyscript {pyscript!r} runs without Dask (dask_scheduler_file is "")',
            )

    @contextlib.contextmanager
    def script_scope(self, pyscript: str) -> Iterator[None]:
        """For the duration of one run of ``pyscript``: this session as the current one, its
        scheduler's client as the current client (``.compute()`` in the script goes there, as
        with upstream, where the script's own ``Client`` is the default), and nothing changed
        once the run is over."""
        token = _running.set(self)
        try:
            path = self.scheduler_files.get(pyscript)
            client = self._clients[path] if path else None
            with current_in_this_context(client) if client else contextlib.nullcontext():
                yield
        finally:
            _running.reset(token)

    def client(self, scheduler_file: str) -> Client:
        """The session's client for ``scheduler_file`` (KeyError if it is not connected)."""
        return self._clients[scheduler_file]

    def worker_address(self, scheduler_file: str) -> str:
        """This server's worker on that scheduler."""
        return self._workers[scheduler_file].address

    def deliver(
        self,
        scheduler_file: str,
        key: str,
        part: ServerBlocks,
        blocks: Sequence[np.ndarray],
        per_block: bool = False,
    ) -> Delivery:
        """Give this server's worker ``blocks`` (described by ``part``): where they lie, held
        from their clients, when the worker can read the node buffer and the blocks are to be
        chunks of their own (``per_block``, or one block); else in one buffer laid out as
        their box if they tile one: copied into shared memory the worker maps, for server 0
        to lease under ``key`` or the chunk's key, or, where shared memory is unavailable,
        scattered to the worker under ``key``.

        A second call for the key held by :meth:`hold` returns what was delivered then.
        """
        from damaris_ref.dask_bridge import segments

        held = next((d for d in self._held.values() if d.key == key), None)
        if held is not None:
            return held
        child = self._workers[scheduler_file].child
        ended = child.poll()
        if ended is not None:
            raise _worker_ended(ended)
        one = len(blocks) == 1 and part.box is not None
        if one or per_block:
            try:
                in_place = self._hold(scheduler_file, blocks)
            except _ReaderGone as gone:
                self._say_how_it_ended(child, gone)
            if in_place is not None:
                window, where = in_place
                return Delivery(key, Buffer(key, None, None if one else where, window), [])
        box = None
        if part.box is not None:
            box = (part.offsets - np.asarray(part.box[0]), part.box[1])
        pool = self._pool(scheduler_file)
        if pool is not None:
            try:
                written, starts = pool.write(blocks, box)
                return Delivery(key, Buffer(key, written, starts), [])
            except segments.SlotLost as lost:
                self._say_how_it_ended(child, lost)
            except segments.SharedMemoryUnavailable as why:
                self._pools[scheduler_file] = None
                self._say_scattering(str(why))
        nbytes, starts = planned(blocks, box)
        buffer = lay_out(np.empty(nbytes, dtype=np.uint8), blocks, box, starts)
        futures = self._clients[scheduler_file].scatter(
            {key: buffer},
            workers=[self.worker_address(scheduler_file)],
            direct=True,
            hash=False,
        )
        return Delivery(key, Buffer(key, None, starts), list(futures.values()))

    @staticmethod
    def _say_how_it_ended(child: Child, lost: Exception) -> NoReturn:
        """The worker was found gone (by the scheduler, or by its node reader) before its end
        reached this process, as a killed process takes a moment to go: say how it ended, as
        above, once it has; else raise ``lost``."""
        poll_until(lambda: child.poll() is not None, WORKER_END_GRACE, PROCESS_POLL)
        ended = child.poll()
        if ended is None:
            raise lost
        raise _worker_ended(ended) from None

    def _hold(
        self, scheduler_file: str, blocks: Sequence[np.ndarray]
    ) -> tuple[HeldBlock, tuple[int, ...]] | None:
        """``blocks`` held where their clients wrote them, for this server's worker to read,
        and where each starts in the window of the node buffer that holds them all; None
        where that cannot be (another transport, a block not in the node buffer or empty, a
        worker that cannot open it): they are then copied."""
        link, hand_off = self._reader_link(scheduler_file), self._hand_off
        if link is None or hand_off is None or not all(block.nbytes for block in blocks):
            return None
        found = [hand_off.place(block) for block in blocks]
        if None in found:
            return None
        places = [place for place in found if place is not None]  # all of them
        hand_off.hear_reader()
        if link.gone:
            raise _ReaderGone("the worker closed its end of the node reader's pipe")
        start = min(offset for _, offset in places)
        end = max(offset + block.nbytes for (_, offset), block in zip(places, blocks, strict=True))
        starts = tuple(offset - start for _, offset in places)
        runs = merged_runs(zip(starts, (block.nbytes for block in blocks), strict=True))
        nbytes = sum(block.nbytes for block in blocks)
        hold = hand_off.hold([location for location, _ in places], nbytes)
        return HeldBlock(link.key, hold, start, end - start, runs), starts

    def _reader_link(self, scheduler_file: str) -> ReaderLink | None:
        """The link to this server's node reader on its worker for ``scheduler_file``, made
        at the first call (one scheduler's worker reads in place; others get copies)."""
        if self._reader is not None:
            path, link = self._reader
            return link if path == scheduler_file else None
        hand_off = self._hand_off
        node_file = hand_off.node_file() if hand_off is not None else None
        if node_file is None or hand_off is None:
            return None
        from damaris_ref.dask_bridge import in_place, segments

        try:
            link = in_place.ReaderLink.open(
                self._clients[scheduler_file],
                self.worker_address(scheduler_file),
                node_file,
                f"damaris-{self.worker_name}-node-reader",
            )
        except segments.SharedMemoryUnavailable as why:
            self._hand_off = None
            self._say_copying(str(why))
            return None
        hand_off.attach(link)
        self._reader = (scheduler_file, link)
        return link

    def abandon(self, scheduler_file: str, delivery: Delivery) -> None:
        """The call that ``delivery`` was for failed: its slot, which server 0 may or may not
        have leased, is never written again; its hold ends (its worker refuses a late read)."""
        held = delivery.buffer.held
        if held is not None and self._reader is not None:
            self._reader[1].copy_out(held.hold)
        pool = self._pools.get(scheduler_file)
        if pool is not None and delivery.buffer.slot is not None:
            pool.forget(delivery.buffer.slot.key)

    def _pool(self, scheduler_file: str) -> segments.SlotPool | None:
        if scheduler_file not in self._pools:
            from damaris_ref.dask_bridge import segments, shared_files

            pool = None
            if shared_files.supported():
                pool = segments.SlotPool(
                    self._clients[scheduler_file],
                    self.worker_address(scheduler_file),
                    f"damaris-{self.worker_name}-{len(self._pools)}",
                )
            else:
                self._say_scattering("this system has no memfd_create or /proc/<pid>/fd")
            self._pools[scheduler_file] = pool
        return self._pools[scheduler_file]

    @staticmethod
    def _say(kind: str, what: str) -> None:
        print(f"[damaris-ref] {kind}: {what}", file=sys.stderr, flush=True)

    def _say_scattering(self, why: str) -> None:
        self._say(
            "note",
            f"server {self.server_id} sends its blocks to its Dask worker over its socket, not "
            f"through shared memory ({why})",
        )

    def _say_copying(self, why: str) -> None:
        self._say(
            "note",
            f"server {self.server_id}'s Dask worker reads copies of its blocks, not the blocks "
            f"where its clients wrote them ({why})",
        )

    def _say_data_lost(self, worker: str) -> None:
        self._say(
            "warning",
            f"server {self.server_id}'s Dask worker {worker!r} stops with published data no "
            "other worker could take (no other worker is left on the scheduler): shared "
            "statistics it held are lost. To keep them, start a worker beside the scheduler "
            "before the simulations (see docs/stats.md)",
        )

    def exchange(self, server_comm: Any) -> Exchange:
        """How this server's calls of ``global_array`` over ``server_comm`` talk to the other
        servers (made in the first call, which every server makes)."""
        handle = getattr(server_comm, "handle", None)
        if handle is None:  # the in-process engine's: nothing to keep
            return Exchange(server_comm)
        if handle not in self._exchanges:
            sleeping_barrier(server_comm)  # making it is collective: do not spin for it
            self._exchanges[handle] = Exchange(server_comm)
        return self._exchanges[handle]

    def _end_holds(self) -> None:
        """Let the holds end as server 0's last arrays go, for as long as copying them would
        take; then have the worker copy out what it still reads in place (a kept worker or
        its published data may outlive the node buffer's clients), and detach it: no block
        is held any more."""
        if self._reader is None or self._hand_off is None:
            return
        hand_off, link = self._hand_off, self._reader[1]

        def all_ended() -> bool:
            hand_off.hear_reader()
            return not hand_off.holds()

        grace = copy_grace(hand_off.largest_hold())
        if not poll_until(all_ended, grace, MPI_WAIT_FIRST, MPI_WAIT_MOST):
            for hold in hand_off.holds():
                link.copy_out(hold)
            poll_until(all_ended, COPY_OUT_AT_CLOSE, MPI_WAIT_FIRST, MPI_WAIT_MOST)
        hand_off.attach(None)
        link.close()
        self._reader = None

    def hold(
        self,
        scheduler_file: str,
        variable: str,
        delivery: Delivery | None,
        leases: Sequence[Future] = (),
    ) -> None:
        """Keep ``delivery`` and, on server 0, the ``leases`` it submitted on the workers
        until the next call for ``variable``; the previous ones may go (its server 0 script
        run is over)."""
        if delivery is None:
            self._held.pop((scheduler_file, variable), None)
        else:
            self._held[(scheduler_file, variable)] = delivery
        self._leases[(scheduler_file, variable)] = list(leases)

    def close(self) -> None:
        """Drop held futures and shared memory, stop workers (unless kept), disconnect."""
        self._held.clear()
        self._leases.clear()
        self._end_holds()
        for exchange in self._exchanges.values():
            exchange.close()
        self._exchanges.clear()
        for pool in self._pools.values():
            if pool is not None:
                pool.close()
        for worker in self._workers.values():
            if not worker.stop():
                self._say_data_lost(worker.name)
        for client in self._clients.values():
            client.close()
