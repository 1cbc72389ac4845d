"""Run a program as one rank of an MPI job, the process's whole job (:func:`run_mpi_rank`).

This is what ``mpiexec -n N 3dmesh_py CONFIG ...`` runs on every rank. Errors every rank (or
every client) hits alike, a bad config, an impossible layout, or one of the program's own
``shared_errors`` (bad simulation arguments, a call a PDI program's plugin refuses), end the job
cleanly with status 1 and one line from the lowest failing rank
(:mod:`damaris_ref.launch.exit_status`); any other error outside a user script aborts the whole
job with its traceback, so no rank is left waiting.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import Any, Protocol


class RankProgram(Protocol):
    """A program every rank of an MPI job runs: it parses its arguments, then runs a rank."""

    @property
    def shared_errors(self) -> tuple[type[BaseException], ...]:
        """Errors that every rank (or every client) meets alike: they end the job with one line."""

    def parse_args(self, argv: Sequence[str]) -> Any:
        """The parsed command line; bad usage exits 2 with a message."""

    def main(self, damaris: Any, comm: Any, args: Any) -> None:
        """One world rank: initialize, start, work, stop, finalize."""


def run_mpi_rank(program: RankProgram, argv: Sequence[str]) -> int:
    """Run ``program`` with ``argv`` on this MPI rank, the process's whole job; the rank's
    exit status."""
    from mpi4py import MPI

    from damaris_ref.core.errors import ConfigError
    from damaris_ref.core.settings import SHARED_ERROR_DEADLINE, check_run_settings
    from damaris_ref.launch.exit_status import (
        abort_unless_done_within,
        agree_and_exit_status,
        deadline_seconds,
    )
    from damaris_ref.launch.job_abort import abort_job
    from damaris_ref.launch.log_level import apply_log_level
    from damaris_ref.runtime.session import Damaris
    from damaris_ref.runtime.transport.mpi import MPIBackend

    write_whole_lines()
    comm = MPI.COMM_WORLD
    args = _parse_once(program, argv, comm.Get_rank())
    deadline = SHARED_ERROR_DEADLINE.default  # until the environment's value is known good
    status_comm = comm.Dup()  # the end-of-run agreement must not mix with the run's messages
    damaris = Damaris(MPIBackend(comm))
    shared_errors: tuple[type[BaseException], ...] = (
        ConfigError,
        *program.shared_errors,
    )
    try:
        check_run_settings()  # a bad DAMARIS_* value is an error every rank shares
        deadline = deadline_seconds()
        apply_log_level()
        program.main(damaris, comm, args)
    except shared_errors as shared:
        with abort_unless_done_within(deadline, shared):
            _end_run(damaris)
            status = agree_and_exit_status(status_comm, shared)
    except BaseException as fault:  # anything else: with its traceback, at once
        abort_job(fault, comm)
    else:
        status = agree_and_exit_status(status_comm, None)
    status_comm.Free()
    return status


def _parse_once(program: RankProgram, argv: Sequence[str], rank: int) -> Any:
    """Parse the arguments; every rank parses alike, so only rank 0 prints usage or errors."""
    if rank == 0:
        return program.parse_args(argv)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return program.parse_args(argv)


def _end_run(damaris: Any) -> None:
    """After a shared error, end this rank's part so that the others can finish: a client
    that started tells its server it stops, and the transports are released."""
    from damaris_ref.core.errors import UsageError

    with contextlib.suppress(UsageError):  # it had not started
        damaris.stop()
    if damaris.config is not None:
        damaris.finalize()


def write_whole_lines() -> None:
    """Make this process's stdout and stderr write each line at once, when it ends.

    Under ``mpiexec`` every rank's output is relayed into one stream; a line written in pieces
    (each value of a ``print`` apart, as ``PYTHONUNBUFFERED`` does) or cut where a block
    buffer fills could have another rank's line inside it. Only an entry point that owns its
    process calls this.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True, write_through=False)
