"""Start, find and retire the Dask worker of one server.

Decision: the worker is a child process of the server (``python -m
distributed.cli.dask_worker``), not a thread inside it. ``keep_workers: yes`` needs a worker
that outlives the simulation, and a crashing or memory-hungry analysis must not take the
server down with it. Locality is kept anyway: the server hands its blocks to its own worker on
its own node, never through the scheduler, copied into shared memory the worker maps and leased
to it (:mod:`damaris_ref.dask_bridge.segments`), or, where shared memory is unavailable, sent
over the worker's socket (``scatter(direct=True)``).

A worker that is not kept dies with the server, even a killed one (see
:mod:`damaris_ref.launch.processes`), and its log is streamed to this module's logger at INFO level
(shown with ``DAMARIS_LOG_LEVEL=info``), with a bounded tail kept for errors. A kept worker
outlives the server, so its log goes to a temporary file rather than to a pipe the server
would no longer read.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import tempfile
from typing import Literal

from distributed import Client, futures_of

from damaris_ref.core.errors import DaskError
from damaris_ref.launch import processes
from damaris_ref.launch.log_level import STARTED_PROCESS_OUTPUT

logger = logging.getLogger(__name__)

WORKER_START_TIMEOUT = 60.0
#: seconds a retiring worker gets to hand its data over to the other workers
RETIRE_TIMEOUT = 30.0
#: seconds a worker gets to end after SIGTERM before it is killed
STOP_GRACE = 10.0


def worker_address(client: Client, name: str) -> str | None:
    """The address of the worker called ``name``, or None if the scheduler has none."""
    for address, info in client.scheduler_info(n_workers=-1)["workers"].items():
        if info.get("name") == name:
            return address
    return None


def holds_published_data(client: Client, address: str, timeout: float) -> bool:
    """Whether the worker at ``address`` holds a piece of any dataset published on the
    scheduler (what other clients may still read); each call to the scheduler waits at most
    ``timeout`` s (TimeoutError)."""
    scheduler = client.scheduler
    if scheduler is None:
        return False
    holdings = client.sync(scheduler.has_what, workers=[address], callback_timeout=timeout)
    held = {_hashable(key) for key in holdings.get(address, ())}
    if not held:
        return False
    for name in client.list_datasets(callback_timeout=timeout):
        dataset = client.get_dataset(name, callback_timeout=timeout)
        if held & {_hashable(future.key) for future in futures_of(dataset)}:
            return True
    return False


def _hashable(key: object) -> object:
    """A key as the scheduler names it; a tuple key may arrive as a list."""
    return tuple(_hashable(part) for part in key) if isinstance(key, list | tuple) else key


class ServerWorker:
    """The Dask worker process of one server."""

    def __init__(self, client: Client, name: str, child: processes.Child, keep: bool) -> None:
        self.client = client
        self.name = name
        self.child = child
        self.keep = keep
        self.address = ""  # set by start() once the scheduler lists the worker

    @classmethod
    def start(cls, client: Client, name: str, nthreads: int, keep: bool) -> ServerWorker:
        """Launch the worker and wait until the scheduler lists it (a DaskError otherwise)."""
        scheduler = None if client.scheduler is None else client.scheduler.address
        if not isinstance(scheduler, str):
            raise DaskError(f"Dask worker {name!r}: the client is connected to no scheduler")
        command = [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            scheduler,
            "--name",
            name,
            "--nthreads",
            str(nthreads),
            "--nworkers",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--memory-limit",
            "0",
        ]
        # a kept worker's log file is closed here: the worker holds its own copy
        capture: Literal["log"] = "log"
        with tempfile.TemporaryFile() if keep else contextlib.nullcontext(capture) as output:
            child = processes.start(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                log=processes.OutputLog(logger, STARTED_PROCESS_OUTPUT),
                label=f"Dask worker {name!r}",
                new_session=keep,
                die_with_parent=not keep,
            )
            worker = cls(client, name, child, keep)
            worker.address = child.wait_ready(
                lambda: worker_address(client, name), WORKER_START_TIMEOUT
            )
        return worker

    def stop(self) -> bool:
        """Retire the worker, then end it (SIGTERM, SIGKILL after a grace), unless it is kept.

        Retiring first, as upstream's servers do, lets the scheduler move data only this
        worker holds (statistics other simulations still update, say) to other workers.
        False when the scheduler kept the worker because no other worker could take its data
        and some of it is published (as shared statistics are): that is lost with the worker.
        """
        if self.keep:
            return True
        handed_over = True
        with contextlib.suppress(OSError, TimeoutError):  # no scheduler: just end it
            retired = self.client.retire_workers(
                workers=[self.address], close_workers=True, callback_timeout=RETIRE_TIMEOUT
            )
            if retired:  # the scheduler is closing it: a SIGTERM now could stall that
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.child.wait(10)
            elif worker_address(self.client, self.name) is not None:
                # refused: its data had nowhere to go; what matters is what others can read
                published = holds_published_data(self.client, self.address, RETIRE_TIMEOUT)
                handed_over = not published
        self.child.stop(grace=STOP_GRACE)
        return handed_over
