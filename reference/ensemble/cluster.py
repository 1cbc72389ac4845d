"""Where the tasks run: an embedded ``LocalCluster`` or an existing Dask scheduler.

The embedded cluster is safe for engines that allow one instance per interpreter, because a
task never hosts the engine: it starts a fresh child process and waits for it. Worker threads
therefore spend their time waiting, so several of them per core keep the cores busy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from distributed import Client, LocalCluster

from damaris_ref.core.errors import UsageError
from damaris_ref.ensemble.quiet_logs import WORKER_LOGGER, not_heartbeat_failure

#: tasks per core running at once in the embedded cluster (each mostly waits on a child)
DEFAULT_THREADS_PER_WORKER = 2


@contextmanager
def open_client(
    scheduler: str | None = None,
    scheduler_file: str | os.PathLike[str] | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    processes: bool = False,
) -> Iterator[Client]:
    """Yield a connected client and close everything this call started on exit.

    With neither ``scheduler`` (an address such as ``tcp://host:8786``) nor ``scheduler_file``,
    start a ``LocalCluster`` of ``n_workers`` (default: one per core) with
    ``threads_per_worker`` threads each, as threads in this process or, with
    ``processes=True``, as separate worker processes.
    """
    if scheduler and scheduler_file:
        raise UsageError("give either a scheduler address or a scheduler file, not both")
    if scheduler or scheduler_file:
        if n_workers is not None or threads_per_worker is not None:
            raise UsageError(
                "n_workers/threads_per_worker configure the embedded cluster only; "
                "size an external cluster where its workers are started"
            )
        with Client(
            scheduler,
            scheduler_file=scheduler_file and os.fspath(scheduler_file),
            set_as_default=False,
        ) as c:
            yield c
        return
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if value is not None and value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    worker_log = logging.getLogger(WORKER_LOGGER)
    with ExitStack() as closing:
        # last of all, once the cluster is closed: its heartbeats are over
        closing.callback(worker_log.removeFilter, not_heartbeat_failure)
        cluster = closing.enter_context(
            LocalCluster(
                n_workers=n_workers or os.cpu_count() or 1,
                threads_per_worker=threads_per_worker or DEFAULT_THREADS_PER_WORKER,
                processes=processes,
                dashboard_address=":0",
            )
        )
        client = closing.enter_context(Client(cluster, set_as_default=False))
        try:
            yield client
        finally:
            # the cluster closes from here: a heartbeat caught by it is no error (threaded
            # workers log here; worker processes, with processes=True, log on their own)
            worker_log.addFilter(not_heartbeat_failure)
