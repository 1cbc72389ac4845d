"""Poll until a condition holds or a deadline passes: the one such loop of the project.

Kept apart from :mod:`damaris_ref.processes` so that the MPI transport, which polls on its hot
path, imports nothing more than this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
