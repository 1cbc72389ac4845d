"""Run a mock simulation as one rank of an MPI job: ``python -m damaris_ref.mpi_runtime SIM ...``.

This is what ``mpiexec -n N 3dmesh_py CONFIG ...`` runs on every rank. Any error outside a
user script aborts the whole job with one clear line (no rank is left waiting): errors every
rank hits alike (a bad config, an impossible layout) are reported by world rank 0 only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from damaris_ref.mocks import SIMULATIONS, Simulation, SimulationError

#: how long other ranks give rank 0 to report an error they all share before aborting
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
    try:
        simulation.main(Damaris(MPIBackend(comm)), comm, args)
    except (ConfigError, LayoutError) as error:
        if comm.Get_rank() != 0:
            time.sleep(_SHARED_ERROR_GRACE)  # rank 0 reports it and aborts everyone
        abort_job(error, comm, show_traceback=False)
    except SimulationError as error:
        abort_job(error, comm, show_traceback=False)
    except BaseException as error:  # anything else: with its traceback
        abort_job(error, comm)
    return 0


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
