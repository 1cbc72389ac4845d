"""Poll until a condition holds or a deadline passes: the one such loop of the project, and
the intervals its waits use (a rank waiting on MPI, a process watching another).

Kept apart from :mod:`damaris_ref.launch.processes` so that the MPI transport, which polls on
its hot path, imports nothing more than this.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: a rank waiting on MPI (a request, a message, space in its buffer) sleeps this long at first,
#: doubling up to :data:`MPI_WAIT_MOST`: an idle rank costs about 1.4% of a core (MPI's own
#: blocking waits spin, taking a whole one), and an answer is seen within 2 ms
MPI_WAIT_FIRST = 0.00005
MPI_WAIT_MOST = 0.002
#: seconds between two looks at another process (has it ended, is it ready, what has it
#: written): soon enough for whoever waits on a process, and a look is a few system calls
PROCESS_POLL = 0.1

#: gives the core to another runnable process, if any (where the system has no such call, a
#: zero sleep does the same)
_yield_core: Callable[[], object] = getattr(os, "sched_yield", lambda: time.sleep(0))


def poll_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.05,
    max_interval: float | None = None,
    spin: float = 0.0,
) -> T:
    """Call ``predicate`` until it returns a true value or ``timeout`` s passed (``math.inf``:
    no deadline); return its last value, false on a timeout.

    For the first ``spin`` s it calls again at once, yielding the core between calls: an
    answer that comes within microseconds is seen within microseconds, where the shortest
    sleep takes some 0.1 ms. Then it sleeps ``interval`` s between calls; with
    ``max_interval``, the sleep doubles after each call up to that, which is kind to
    oversubscribed cores while keeping a quick first answer.
    """
    now = time.monotonic()
    deadline = now + timeout
    spin_until = now + min(spin, timeout)
    while not (value := predicate()):
        if time.monotonic() < spin_until:
            _yield_core()
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
        if max_interval is not None:
            interval = min(2 * interval, max_interval)
    return value


def sleeping_barrier(comm: Any, timeout: float = math.inf) -> bool:
    """Wait until every rank of ``comm`` got here, sleeping between checks; False on a timeout.

    MPI's blocking collectives spin while they wait: a server waiting for server 0 to finish
    its analysis would take a whole core from the Dask workers doing that analysis. A
    communicator without ``Ibarrier`` (the in-process engine's, whose waits already sleep)
    uses its own ``barrier``.
    """
    start_barrier = getattr(comm, "Ibarrier", None)
    if start_barrier is None:
        comm.barrier()
        return True
    request = start_barrier()
    return bool(poll_until(request.Test, timeout, MPI_WAIT_FIRST, MPI_WAIT_MOST))
