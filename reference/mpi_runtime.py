"""Run a mock simulation as one rank of an MPI job: ``python -m damaris_ref.mpi_runtime SIM ...``.

This is what ``mpiexec -n N 3dmesh_py CONFIG ...`` runs on every rank. Errors every rank (or
every client) hits alike, a bad config, an impossible layout, bad simulation arguments or a
call a PDI program's plugin refuses (``pdi.Error``), end the job cleanly with status 1 and
one line from the lowest failing rank (:mod:`damaris_ref.shared_errors`); any other error
outside a user script aborts the whole job with its traceback, so no rank is left waiting.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import Any

from damaris_ref.mocks import SIMULATIONS, Simulation, SimulationSetupError


def run_simulation(simulation: Simulation, argv: Sequence[str]) -> int:
    """Run ``simulation`` with ``argv`` on this MPI rank, the process's whole job; the rank's
    exit status."""
    from mpi4py import MPI

    from damaris_ref.api import Damaris
    from damaris_ref.config import ConfigError
    from damaris_ref.environment import SHARED_ERROR_DEADLINE, check_run_settings
    from damaris_ref.log_level import apply_log_level
    from damaris_ref.pdi import Error as PdiError
    from damaris_ref.shared_errors import (
        abort_unless_done_within,
        agree_and_exit_status,
        deadline_seconds,
    )
    from damaris_ref.topology import LayoutError
    from damaris_ref.transport.mpi import MPIBackend
    from damaris_ref.transport.mpi_abort import abort_job

    write_whole_lines()
    comm = MPI.COMM_WORLD
    args = _parse_once(simulation, argv, comm.Get_rank())
    deadline = SHARED_ERROR_DEADLINE.default  # until the environment's value is known good
    status_comm = comm.Dup()  # the end-of-run agreement must not mix with the run's messages
    damaris = Damaris(MPIBackend(comm))
    try:
        check_run_settings()  # a bad DAMARIS_* value is an error every rank shares
        deadline = deadline_seconds()
        apply_log_level()
        simulation.main(damaris, comm, args)
    except (ConfigError, LayoutError, SimulationSetupError, PdiError) as shared:
        with abort_unless_done_within(deadline, shared):
            _end_run(damaris)
            status = agree_and_exit_status(status_comm, shared)
    except BaseException as fault:  # anything else: with its traceback, at once
        abort_job(fault, comm)
    else:
        status = agree_and_exit_status(status_comm, None)
    status_comm.Free()
    return status


def _parse_once(simulation: Simulation, argv: Sequence[str], rank: int) -> Any:
    """Parse the arguments; every rank parses alike, so only rank 0 prints usage or errors."""
    if rank == 0:
        return simulation.parse_args(argv)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return simulation.parse_args(argv)


def _end_run(damaris: Any) -> None:
    """After a shared error, end this rank's part so that the others can finish: a client
    that started tells its server it stops, and the transports are released."""
    from damaris_ref.api import DamarisStateError

    with contextlib.suppress(DamarisStateError):
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m damaris_ref.mpi_runtime SIMULATION ARGS...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SIMULATIONS:
        print(
            f"usage: python -m damaris_ref.mpi_runtime {{{','.join(SIMULATIONS)}}} ARGS...",
            file=sys.stderr,
        )
        return 2
    return run_simulation(SIMULATIONS[argv[0]], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
