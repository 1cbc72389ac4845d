"""Start a Dask scheduler on this machine for as long as a ``with`` block runs.

The demo (and anyone without a cluster) gets a scheduler file to point pyscripts at; the
scheduler is a child process on the loopback interface, stopped (and waited for) on exit.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT = 60.0


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
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not scheduler_file.is_file() or not scheduler_file.stat().st_size:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    detail = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"the local Dask scheduler did not start: {detail}")
                time.sleep(0.1)
            yield scheduler_file
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            scheduler_file.unlink(missing_ok=True)
