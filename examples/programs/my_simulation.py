"""Your own simulation (README "Your own simulation"): clients write a NumPy block of "field"
every iteration, and the servers run my_simulation_script.py (beside my_simulation.yml, one
folder up) on the blocks they own.

Written as ``main(damaris, comm)``, so the same code runs both ways:

- under MPI, with the module API ``damaris_ref.damaris``:
  ``mpiexec -n 3 python examples/programs/my_simulation.py`` (2 clients, 1 dedicated core);
- in one process, every rank a thread with its own ``damaris_ref.runtime.session.Damaris`` session:
  ``damaris_ref.run_in_process(main, 3)``.
"""

from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parents[1] / "my_simulation.yml"  # examples/, by its script
ROWS, COLUMNS = 8, 16  # the shape of "field"'s layout in my_simulation.yml
ITERATIONS = 3


def main(damaris, comm):
    """One rank: a client writes ITERATIONS blocks, a server serves until the clients stop."""
    damaris.initialize(CONFIG, comm)
    if damaris.start():  # True on clients; servers serve, then get False
        rank = damaris.client_comm_get().Get_rank()
        for iteration in range(ITERATIONS):
            block = np.full((ROWS, COLUMNS), iteration + rank, dtype=np.float64)
            damaris.set_position("field", (rank * ROWS, 0))
            damaris.write("field", block)
            damaris.end_iteration()
        damaris.stop()
    damaris.finalize()


if __name__ == "__main__":
    from mpi4py import MPI

    from damaris_ref import damaris

    main(damaris, MPI.COMM_WORLD)
