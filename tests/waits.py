"""Test doubles that tell when a thread starts waiting, so that tests order events by what
happened rather than by sleeping, and assert on why a wait ended rather than on how long it
took.

:data:`GUARD` is the one bound these tests put on a wait: a hang guard far above any normal
run, never a measurement.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

#: seconds a test waits for an event that should come at once before failing as hung
GUARD = 60.0


class WatchedCondition(threading.Condition):
    """A condition variable that sets ``waiting`` when a thread starts to wait on it (the event
    may be shared by several conditions) and records each wait's timeout and whether a notify
    (True) or the timeout (False) ended it."""

    def __init__(self, waiting: threading.Event | None = None) -> None:
        super().__init__()
        self.waiting = waiting or threading.Event()
        self.timeouts: list[float | None] = []
        self.woken: list[bool] = []

    def wait(self, timeout: float | None = None) -> bool:
        """Record the wait, announce it, then wait as a plain condition does."""
        self.timeouts.append(timeout)
        self.waiting.set()
        woken = super().wait(timeout)
        self.woken.append(woken)
        return woken


class WatchedQueue(queue.SimpleQueue):
    """A queue that sets ``reading`` when a thread starts a blocking ``get`` on it."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Announce the read, then read as a plain queue does."""
        if block:
            self.reading.set()
        return super().get(block, timeout)


def wait_for_event(event: threading.Event, what: str) -> None:
    """Wait until ``event`` is set; fail naming ``what`` if it is not within :data:`GUARD` s."""
    assert event.wait(GUARD), f"{what} did not happen within {GUARD:g} s"


def once(event: threading.Event, action: Callable[[], object]) -> threading.Thread:
    """Run ``action`` on a thread as soon as ``event`` is set (never, if it is not within
    :data:`GUARD` s); join the returned thread to see the action done."""
    thread = threading.Thread(
        target=lambda: event.wait(GUARD) and action(), name="once", daemon=True
    )
    thread.start()
    return thread
