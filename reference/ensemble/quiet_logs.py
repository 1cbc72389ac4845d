"""Keep Dask's duplicate failure report, and its shutdown noise, off the ensemble terminal.

A failed task makes its Dask worker log ``Compute Failed`` with the task, the exception and a
traceback, although the command prints its own one-line failure for each task (naming the
command, the exit code and the stderr tail). The command installs :class:`QuietComputeFailed`
on the workers of the cluster it starts; the library API leaves Dask's logging alone.

A worker's heartbeat still in flight when its embedded cluster closes fails, and Dask logs
that as an error with a traceback although nothing went wrong;
:func:`~damaris_ref.ensemble.cluster.open_client` drops that record while the cluster it
started closes (:func:`not_heartbeat_failure`).
"""

from __future__ import annotations

import logging
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

#: the logger Dask's workers report a failed task on
WORKER_LOGGER = "distributed.worker"


def not_compute_failed(record: logging.LogRecord) -> bool:
    """A logging filter: False for Dask's ``Compute Failed`` record, True for any other."""
    return not str(record.msg).startswith("Compute Failed")


def not_heartbeat_failure(record: logging.LogRecord) -> bool:
    """A logging filter: False for a worker's failed heartbeat, True for any other record."""
    return not str(record.msg).startswith("Failed to communicate with scheduler during heartbeat")


class QuietComputeFailed(WorkerPlugin):
    """Worker plugin: filters ``Compute Failed`` out of the worker's log while it runs (in
    this process for a threaded cluster, in each worker process otherwise)."""

    name = "damaris-ref-quiet-compute-failed"

    def setup(self, worker: Any) -> None:
        """Install the filter (a Dask hook, called as the worker starts or the plugin lands)."""
        logging.getLogger(WORKER_LOGGER).addFilter(not_compute_failed)

    def teardown(self, worker: Any) -> None:
        """Remove it again, so no process-wide logging state outlives the cluster."""
        logging.getLogger(WORKER_LOGGER).removeFilter(not_compute_failed)
