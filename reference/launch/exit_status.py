"""End an MPI job cleanly when its ranks fail alike: one line, exit status 1, no MPI_Abort.

A bad configuration, an impossible layout or bad simulation arguments are found by every rank
(or every client) the same way. Aborting for them left MPI's shared-memory files behind and a
report from every rank. Instead each rank ends its run as far as it can (a client tells its
server it stops, so the servers finish), then all ranks agree on the outcome through one
non-blocking reduction on a communicator of their own: when every rank takes part, the lowest
failing rank prints the one line and every rank exits with status 1. A rank whose peers do not
all arrive within the deadline has met a real fault and aborts the job with ``MPI_Abort``.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from damaris_ref.core.polling import MPI_WAIT_FIRST, MPI_WAIT_MOST, poll_until
from damaris_ref.core.settings import SHARED_ERROR_DEADLINE
from damaris_ref.launch.job_abort import abort_job, fatal_line

if TYPE_CHECKING:
    from mpi4py import MPI

#: environment variable: seconds a failed rank waits for the others before aborting
DEADLINE_VARIABLE = SHARED_ERROR_DEADLINE.name
DEFAULT_DEADLINE = SHARED_ERROR_DEADLINE.default


def deadline_seconds(environ: Mapping[str, str] | None = None) -> float:
    """The deadline from ``$DAMARIS_SHARED_ERROR_DEADLINE`` (seconds > 0), else the default."""
    return SHARED_ERROR_DEADLINE.read(environ)


@contextmanager
def abort_unless_done_within(deadline: float, error: BaseException) -> Iterator[None]:
    """Abort the job with ``error`` if the block has not finished after ``deadline`` seconds.

    A failed rank ending its run meets its peers in collective calls (releasing the shared
    buffer, the agreement); a peer that never comes would block it there for good, and MPI
    calls cannot be interrupted, so a timer thread aborts instead.
    """
    timer = threading.Timer(deadline, abort_job, (error,), {"show_traceback": False})
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def agree_and_exit_status(status_comm: MPI.Comm, error: BaseException | None) -> int:
    """Agree with every rank of ``status_comm`` on whether any failed; the exit status to use.

    Every rank waits as long as the slowest needs (healthy ones would wait in MPI_Finalize
    anyway); the lowest failing rank prints its one line.
    """
    import numpy as np
    from mpi4py import MPI

    rank, size = status_comm.Get_rank(), status_comm.Get_size()
    mine = np.array([rank if error is not None else size], dtype=np.int64)
    lowest = np.empty_like(mine)
    request = status_comm.Iallreduce(mine, lowest, op=MPI.MIN)
    # polling, not Wait: this rank's other threads (and signal handlers) keep running
    poll_until(request.Test, math.inf, MPI_WAIT_FIRST, MPI_WAIT_MOST)
    if int(lowest[0]) == size:
        return 0
    if int(lowest[0]) == rank and error is not None:
        sys.stdout.flush()
        print(fatal_line(MPI.COMM_WORLD.Get_rank(), error), file=sys.stderr, flush=True)
    return 1
