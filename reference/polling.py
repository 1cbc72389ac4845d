"""Poll until a condition holds or a deadline passes: the one such loop of the project.

Kept apart from :mod:`damaris_ref.processes` so that the MPI transport, which polls on its hot
path, imports nothing more than this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def poll_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.05,
    max_interval: float | None = None,
) -> T:
    """Call ``predicate`` until it returns a true value or ``timeout`` s passed (``math.inf``:
    no deadline); return its last value, false on a timeout.

    Between calls it sleeps ``interval`` s; with ``max_interval``, the sleep doubles after each
    call up to that, which is kind to oversubscribed cores while keeping a quick first answer.
    """
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
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
    return bool(poll_until(request.Test, timeout, 0.0001, 0.002))
