"""Start, find and retire the Dask worker of one server.

Decision: the worker is a child process of the server (``python -m
distributed.cli.dask_worker``), not a thread inside it. ``keep_workers: yes`` needs a worker
that outlives the simulation, and a crashing or memory-hungry analysis must not take the
server down with it. Locality is kept anyway: the server sends its blocks straight to its own
worker on its own node (``scatter(direct=True)``), never through the scheduler. When workers
are not kept, Linux's parent-death signal ends the worker even if the server is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import tempfile
import time

from distributed import Client

WORKER_START_TIMEOUT = 60.0
#: seconds a retiring worker gets to hand its data over to the other workers
RETIRE_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM when the server process dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: stop() still retires it
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_address(client: Client, name: str) -> str | None:
    """The address of the worker called ``name``, or None if the scheduler has none."""
    for address, info in client.scheduler_info(n_workers=-1)["workers"].items():
        if info.get("name") == name:
            return address
    return None


class ServerWorker:
    """The Dask worker process of one server."""

    def __init__(self, client: Client, name: str, process: subprocess.Popen, keep: bool, log):
        self.client = client
        self.log = log
        self.name = name
        self.process = process
        self.keep = keep
        self.address: str | None = None

    @classmethod
    def start(cls, client: Client, name: str, nthreads: int, keep: bool) -> ServerWorker:
        """Launch the worker and wait until the scheduler lists it (RuntimeError otherwise)."""
        command = [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            client.scheduler.address,
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
        log = tempfile.TemporaryFile()  # noqa: SIM115 - the worker's log, closed by stop()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if keep else _die_with_parent,
            start_new_session=keep,
        )
        worker = cls(client, name, process, keep, log)
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while (address := worker_address(client, name)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                detail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"Dask worker {name!r} did not start: {detail.strip()}")
            time.sleep(0.1)
        worker.address = address
        return worker

    def stop(self) -> None:
        """Retire the worker, then end it (SIGTERM), unless it is kept.

        Retiring first, as upstream's servers do, lets the scheduler move data only this
        worker holds (statistics other simulations still update, say) to other workers.
        """
        if not self.keep:
            with contextlib.suppress(OSError, TimeoutError):  # no scheduler: just end it
                retired = self.client.retire_workers(
                    workers=[self.address], close_workers=True, callback_timeout=RETIRE_TIMEOUT
                )
                if retired:  # the scheduler is closing it: a SIGTERM now could stall that
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(10)
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
        self.log.close()
