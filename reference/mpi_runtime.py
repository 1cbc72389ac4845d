"""Run a mock simulation as one rank of an MPI job: ``python -m damaris_ref.mpi_runtime SIM ...``.

This is what ``mpiexec -n N 3dmesh_py CONFIG ...`` runs on every rank. Any error outside a
user script aborts the whole job with one clear line (no rank is left waiting): errors every
rank hits alike (a bad config, an impossible layout) are reported by world rank 0 only, and
the simulation's own argument errors, which every client hits alike, by client 0 only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from damaris_ref.mocks import SIMULATIONS, Simulation, SimulationError

#: how long other ranks give the reporting rank to report an error they all share
_SHARED_ERROR_GRACE = 5.0


def run_simulation(simulation: Simulation, argv: Sequence[str]) -> int:
    """Run ``simulation`` with ``argv`` on this MPI rank; abort the job on any error."""
    from mpi4py import MPI

    from damaris_ref.api import Damaris
    from damaris_ref.config import ConfigError
    from damaris_ref.topology import LayoutError
    from damaris_ref.transport.mpi import MPIBackend
    from damaris_ref.transport.mpi_abort import abort_job

    comm = MPI.COMM_WORLD
    args = simulation.parse_args(argv)
    damaris = Damaris(MPIBackend(comm))
    try:
        simulation.main(damaris, comm, args)
    except (ConfigError, LayoutError) as error:
        _abort_shared(error, comm, reporter=comm.Get_rank() == 0)
    except SimulationError as error:
        _abort_shared(error, comm, reporter=_is_first_client(damaris))
    except BaseException as error:  # anything else: with its traceback
        abort_job(error, comm)
    return 0


def _abort_shared(error: Exception, comm: Any, reporter: bool) -> NoReturn:
    """Abort for an error many ranks hit alike: the reporter aborts at once, the others give
    it time to, so the job ends with one line rather than one per rank."""
    from damaris_ref.transport.mpi_abort import abort_job

    if not reporter:
        time.sleep(_SHARED_ERROR_GRACE)
    abort_job(error, comm, show_traceback=False)


def _is_first_client(damaris: Any) -> bool:
    """Whether this rank is client 0 (true too when the error came before the clients existed)."""
    from damaris_ref.api import DamarisStateError

    try:
        return damaris.client_comm_get().Get_rank() == 0
    except DamarisStateError:
        return True


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
