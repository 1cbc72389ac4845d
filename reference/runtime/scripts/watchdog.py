"""Say when a pyscript run takes long, with where it is, without stopping it.

A script stuck in ``while True: pass`` hangs the job on upstream too, so the reference does
not kill it; it makes the hang visible instead. After ``after`` seconds one report names the
server, iteration and script and shows the Python stack of the thread running it; further
reports follow at doubling intervals (after 2x, 4x, 8x ... the first delay) for as long as
the run lasts. The stack is read from the interpreter's frames of that thread rather than by
``faulthandler``, whose delayed dump is one per process and would mix the servers of the
in-process engine.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

#: seconds a run may take before the first report (the pyscript's ``watchdog`` key)
DEFAULT_AFTER = 60.0


def _stack_of(thread_id: int) -> str:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return "  (its stack is not available)\n"
    return "".join(traceback.format_stack(frame))


@contextmanager
def watching(what: str, after: float | None, stream: TextIO) -> Iterator[None]:
    """Report on ``stream`` while the block runs longer than ``after`` seconds (None or 0:
    never). ``what`` names the run, e.g. ``server 0 iteration 3: pyscript 'MyPyAction'``."""
    if not after:
        yield
        return
    watched = threading.get_ident()
    finished = threading.Event()
    started = time.monotonic()

    def watch() -> None:
        due = after
        while not finished.wait(max(0.0, started + due - time.monotonic())):
            stream.write(
                f"[damaris-ref] watchdog: {what} is still running after {due:g} s "
                f"(it is not stopped); it is at:\n{_stack_of(watched)}"
            )
            stream.flush()
            due *= 2  # the next report when the run has lasted twice as long

    watcher = threading.Thread(target=watch, name="damaris-ref-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()
