"""A server's Dask session: scheduler check, its worker, and the futures it holds (spec §5).

Opened when a server starts, closed when it stops. For each distinct scheduler file named by
a pyscript: if the file exists and a scheduler answers within the pyscript's ``timeout``, the
server connects and starts its worker; otherwise that pyscript's ``dask_scheduler_file`` is
"" and it runs without Dask (a warning, printed once per run by server 0).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import distributed.client
from distributed import Client

from damaris_ref.config.model import Config
from damaris_ref.dask_bridge.workers import ServerWorker
from damaris_ref.scripts.environment import threads_per_worker, workers_name

_local = threading.local()


@contextlib.contextmanager
def _current_in_this_context(client: Client) -> Iterator[None]:
    """Make ``client`` the current one for this thread's context only.

    ``Client.as_current`` also sets ``dask.config``'s process-wide ``scheduler``; server threads
    of the in-process engine entering and leaving it concurrently restore it out of order and
    leave it set. Dask finds the current client through this context variable alone.
    """
    variable = getattr(distributed.client, "_current_client", None)
    if variable is None:  # a distributed without it: its public, process-wide form
        with client.as_current():
            yield
        return
    token = variable.set(client)
    try:
        yield
    finally:
        variable.reset(token)


def current_session() -> DaskSession | None:
    """The Dask session of the server running on this thread, if it has one."""
    return getattr(_local, "session", None)


class DaskSession:
    """Clients and the worker one server uses, keyed by scheduler file."""

    def __init__(self, server_id: int, simulation_name: str, magic: str):
        self.server_id = server_id
        self.simulation_name = simulation_name
        self.magic = magic
        self.scheduler_files: dict[str, str] = {}  # pyscript name -> usable scheduler file
        self._clients: dict[str, Client] = {}
        self._workers: list[ServerWorker] = []
        self.held: dict[tuple, list] = {}  # futures kept until the next collective call

    @property
    def worker_name(self) -> str:
        """``<simulation_name>_<magic>_<server id>`` (spec §5)."""
        return f"{workers_name(self.simulation_name, self.magic)}_{self.server_id}"

    @classmethod
    def open(cls, config: Config, server_id: int, magic: str) -> DaskSession:
        """Connect and start workers for every pyscript that names a working scheduler."""
        session = cls(server_id, config.simulation_name, magic)
        tried: set[str] = set()  # each scheduler is tried (and warned about) once
        for pyscript in config.pyscripts:
            path = str(pyscript.scheduler_file or "")
            if not path:
                continue
            if path not in tried:
                tried.add(path)
                client = session._connect(Path(path), pyscript.timeout, pyscript.name)
                if client is not None:
                    session._clients[path] = client
                    session._workers.append(
                        ServerWorker.start(
                            client,
                            session.worker_name,
                            threads_per_worker(pyscript),
                            keep=pyscript.keep_workers,
                        )
                    )
            if path in session._clients:
                session.scheduler_files[pyscript.name] = path
        _local.session = session
        return session

    def _connect(self, path: Path, timeout: float, pyscript: str) -> Client | None:
        if not path.is_file():
            self._warn(pyscript, f"scheduler file {str(path)!r} does not exist")
            return None
        try:
            # not the process's default client: the library never changes global Dask state
            return Client(scheduler_file=str(path), timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            self._warn(
                pyscript,
                f"no scheduler answered within {timeout:g} s at {str(path)!r} ({error})",
            )
            return None

    def _warn(self, pyscript: str, why: str) -> None:
        if self.server_id == 0:
            print(
                f"[damaris-ref] warning: {why}; pyscript {pyscript!r} runs without Dask "
                '(dask_scheduler_file is "")',
                file=sys.stderr,
                flush=True,
            )

    def script_scope(self, pyscript: str) -> contextlib.AbstractContextManager[object]:
        """For the duration of one run of ``pyscript``: its scheduler's client as the current
        one (``.compute()`` in the script goes there, as with upstream, where the script's own
        ``Client`` is the default), and nothing changed once the run is over."""
        path = self.scheduler_files.get(pyscript)
        if path is None:
            return contextlib.nullcontext()
        return _current_in_this_context(self._clients[path])

    def client(self, scheduler_file: str) -> Client:
        """The session's client for ``scheduler_file`` (KeyError if it is not connected)."""
        return self._clients[scheduler_file]

    def worker_address(self, scheduler_file: str) -> str:
        """This server's worker on that scheduler."""
        client = self._clients[scheduler_file]
        return next(w.address for w in self._workers if w.client is client)

    def close(self) -> None:
        """Stop workers (unless kept), drop held futures, disconnect."""
        self.held.clear()
        for worker in self._workers:
            worker.stop()
        for client in self._clients.values():
            client.close()
        if current_session() is self:
            _local.session = None
