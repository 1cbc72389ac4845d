"""Several MPI jobs running at the same time, each logging to its own folder, none left behind.

:func:`damaris_ref.launch.launcher.run_job` runs one job to its end; the statistics workflow needs K
of them at once while it watches their progress, so this starts them with the launcher's
command line and environment and, on leaving the ``with`` block for whatever reason, stops
every job still running with the launcher's teardown (its whole process tree). Each job is
also stopped if this process dies (see :mod:`damaris_ref.launch.processes`).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from damaris_ref.launch import processes
from damaris_ref.launch.launcher import build_command, detect_flavour, find_mpiexec, stop_job
from damaris_ref.launch.process_output import file_tail


@dataclass(frozen=True)
class Job:
    """One started job: its process and the folder holding ``stdout.txt`` and ``stderr.txt``."""

    label: str
    process: processes.Child
    folder: Path

    @property
    def returncode(self) -> int | None:
        """The exit code once it ended (``128 + signal`` if a signal ended it), else None."""
        code = self.process.poll()
        return None if code is None else processes.shell_status(code)

    def stderr_tail(self, lines: int = 5) -> str:
        """The last lines the job wrote on stderr (read from the file's end only)."""
        path = self.folder / "stderr.txt"
        if not path.is_file():
            return ""
        with path.open("rb") as written:
            return file_tail(written, lines)


class Jobs:
    """Start jobs with :meth:`start`; see :func:`running_jobs`."""

    def __init__(self, mpiexec: str):
        self._mpiexec = mpiexec
        self.started: list[Job] = []

    def start(
        self,
        label: str,
        nranks: int,
        command: Sequence[str],
        folder: Path,
        env: Mapping[str, str],
    ) -> Job:
        """Start ``command`` on ``nranks`` ranks in a session of its own; output into ``folder``.

        ``env`` is the job's whole environment (the launcher's defaults are added under it).
        """
        launch = build_command(
            nranks, command, mpiexec=self._mpiexec, flavour=detect_flavour(self._mpiexec)
        )
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
            process = processes.start(
                launch.argv,
                env={**launch.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        job = Job(label, process, folder)
        self.started.append(job)
        return job


@contextmanager
def running_jobs(grace: float = processes.DEFAULT_GRACE) -> Iterator[Jobs]:
    """Jobs that are all stopped (SIGTERM, then SIGKILL after ``grace`` s) when the block ends.

    A job that already ended is stopped too: anything it left running is found by its token.
    """
    jobs = Jobs(find_mpiexec())
    try:
        yield jobs
    finally:
        for job in jobs.started:
            stop_job(job.process, signal.SIGTERM, grace)
