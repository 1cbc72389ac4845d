"""``python -m damaris_ref.mocks SIMULATION ARGS...``: one rank of a mock simulation's MPI job.

What ``damaris-ref run``, the demo and the statistics workflow start on every rank; the console
scripts (``3dmesh_py`` ...) run the same thing under their own names.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from damaris_ref import run_mpi_rank
from damaris_ref.mocks import SIMULATIONS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulation the first argument names, with the rest as its arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SIMULATIONS:
        print(
            f"usage: python -m damaris_ref.mocks {{{','.join(SIMULATIONS)}}} ARGS...",
            file=sys.stderr,
        )
        return 2
    return run_mpi_rank(SIMULATIONS[argv[0]], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
