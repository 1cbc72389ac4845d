"""Start a Dask scheduler on this machine for as long as a ``with`` block runs.

The demo (and anyone without a cluster) gets a scheduler file to point pyscripts at; the
scheduler is a child process on the loopback interface, stopped (and waited for) on exit, and
stopped as well if this process dies first. Its log goes to this module's logger at INFO
level, shown with ``DAMARIS_LOG_LEVEL=info`` (:mod:`damaris_ref.launch.log_level`); a scheduler that
does not start is reported with the log's tail.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from damaris_ref.launch import processes
from damaris_ref.launch.log_level import STARTED_PROCESS_OUTPUT

logger = logging.getLogger(__name__)

START_TIMEOUT = 60.0
#: seconds the scheduler gets to end after SIGTERM before it is killed
STOP_GRACE = 10.0


@contextlib.contextmanager
def local_scheduler(folder: Path) -> Iterator[Path]:
    """Run ``dask scheduler`` writing ``folder/scheduler.json``; yield that file's path."""
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "distributed.cli.dask_scheduler",
        "--scheduler-file",
        str(scheduler_file),
        "--no-dashboard",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    child = processes.start(
        command,
        stdin=subprocess.DEVNULL,
        stdout="log",
        stderr="log",
        log=processes.OutputLog(logger, STARTED_PROCESS_OUTPUT),
        label="the local Dask scheduler",
    )
    try:
        child.wait_ready(
            lambda: scheduler_file.is_file() and scheduler_file.stat().st_size, START_TIMEOUT
        )
        yield scheduler_file
    finally:
        child.stop(grace=STOP_GRACE)
        scheduler_file.unlink(missing_ok=True)
