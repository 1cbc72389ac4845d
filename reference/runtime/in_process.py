"""Run a whole simulation, clients and servers, inside one Python process.

Each world rank is a thread running the same ``main(damaris, comm)`` a real MPI rank would
run, on an :class:`~damaris_ref.runtime.transport.inprocess.InProcessWorld`. A failure on any rank
aborts the world (no thread waits forever) and is re-raised with the rank that failed.

The run changes nothing process-wide: each rank's context lives in its own thread, the
servers' reports go to the ``stderr`` given (default ``sys.stderr``), and what ranks and
scripts ``print`` goes to the process's ``sys.stdout`` as it is, never replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TextIO

from damaris_ref.core.errors import RunError
from damaris_ref.runtime.seams import DEFAULT_SEAMS, Seams
from damaris_ref.runtime.server import Observer
from damaris_ref.runtime.session import Damaris
from damaris_ref.runtime.transport.base import WorldAborted
from damaris_ref.runtime.transport.inprocess import InProcessWorld
from damaris_ref.runtime.transport.threadcomm import DEFAULT_TIMEOUT

__all__ = ["RankFailed", "RankMain", "run_in_process"]

#: a rank's program: what a simulation's ``main`` does with its Damaris session and world comm
RankMain = Callable[[Damaris, Any], Any]


class RankFailed(RunError):
    """A rank of an in-process run raised: ``rank``, and ``error`` its original exception.

    A class of its own because a command handles it apart: when ``error`` is a bug (not a
    :class:`~damaris_ref.core.errors.DamarisError`), it re-raises ``error`` with its traceback.
    """

    def __init__(self, rank: int, error: BaseException):
        super().__init__(f"rank {rank} failed: {type(error).__name__}: {error}")
        self.rank = rank
        self.error = error


def run_in_process(
    main: RankMain,
    world_size: int,
    *,
    observer: Observer | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    magic: str | None = None,
    seams: Seams = DEFAULT_SEAMS,
    stderr: TextIO | None = None,
) -> list[Any]:
    """Run ``main`` on ``world_size`` thread-ranks; return each rank's return value.

    ``observer(server_id, pyscript, DamarisData)`` sees what every script run receives (it is
    called from server threads; copy arrays you keep). ``timeout`` bounds every wait.
    ``seams`` plugs substitutes in (:mod:`damaris_ref.runtime.seams`); ``stderr`` receives the
    servers' reports (default ``sys.stderr``).
    """
    world = InProcessWorld(world_size, timeout, magic)
    results: list[Any] = [None] * world_size
    failures: list[tuple[int, BaseException]] = []

    def run_rank(rank: int) -> None:
        damaris = Damaris(world.backend(rank), observer=observer, seams=seams, stderr=stderr)
        try:
            results[rank] = main(damaris, world.comms[rank])
        except BaseException as error:
            failures.append((rank, error))
            world.abort()

    _run_threads(run_rank, world, world_size, timeout)
    if failures:
        rank, error = _root_failure(failures)
        raise RankFailed(rank, error) from error
    return results


def _run_threads(
    run_rank: Callable[[int], None], world: InProcessWorld, world_size: int, timeout: float
) -> None:
    threads = [
        threading.Thread(target=run_rank, args=(rank,), name=f"rank-{rank}", daemon=True)
        for rank in range(world_size)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            world.abort()
            thread.join(1.0)
            raise TimeoutError(
                f"in-process run did not finish within {timeout:g} s ({thread.name})"
            )


def _root_failure(failures: list[tuple[int, BaseException]]) -> tuple[int, BaseException]:
    """The failure that caused the others (not a rank woken up by the abort)."""
    for rank, error in failures:
        if not isinstance(error, WorldAborted):
            return rank, error
    return failures[0]
