"""An mpi4py-shaped communicator between threads, for the in-process engine.

Simulation code written against mpi4py (``rank``, ``size``, ``bcast``, ``reduce``,
``allreduce``, ``gather``, ``Split``...) runs unchanged when each world rank is a thread.
Every collective is built on one exchange step over a shared barrier; aborting the world
breaks the barrier so no thread can wait forever.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable
from typing import Any

from damaris_ref.core.errors import RunError
from damaris_ref.runtime.transport.base import WorldAborted

#: seconds any wait of an in-process run may last before it fails: far longer than a healthy
#: run waits, short enough that a rank stuck for good fails its run within a minute
DEFAULT_TIMEOUT = 60.0

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "sum": operator.add,
    "prod": operator.mul,
    "max": max,
    "min": min,
}


class _Group:
    """State shared by the threads of one communicator."""

    def __init__(self, size: int, timeout: float):
        self.size = size
        self.timeout = timeout
        self.slots: list[Any] = [None] * size
        self.barrier = threading.Barrier(size)
        self.aborted = False


class ThreadComm:
    """One thread's handle on a communicator of ``size`` threads (mpi4py-like API subset)."""

    def __init__(self, group: _Group, rank: int, registry: list[_Group]):
        self._group = group
        self._registry = registry
        self.rank = rank
        self.size = group.size

    @classmethod
    def world(cls, size: int, timeout: float = DEFAULT_TIMEOUT) -> list[ThreadComm]:
        """Handles for every rank of a new world of ``size`` threads."""
        registry: list[_Group] = []
        group = _Group(size, timeout)
        registry.append(group)
        return [cls(group, rank, registry) for rank in range(size)]

    @staticmethod
    def abort_all(comms: list[ThreadComm]) -> None:
        """Break every barrier of this world and of communicators split from it."""
        for group in comms[0]._registry if comms else ():
            group.aborted = True
            group.barrier.abort()

    def Get_rank(self) -> int:
        """This thread's rank in the communicator (mpi4py's ``Get_rank``)."""
        return self.rank

    def Get_size(self) -> int:
        """How many ranks the communicator has (mpi4py's ``Get_size``)."""
        return self.size

    def _exchange(self, value: Any) -> list[Any]:
        """Deposit ``value`` and return every rank's value, in rank order."""
        group = self._group
        try:
            group.slots[self.rank] = value
            group.barrier.wait(group.timeout)
            values = list(group.slots)
            group.barrier.wait(group.timeout)
        except threading.BrokenBarrierError:
            if group.aborted:
                raise WorldAborted(
                    f"collective on rank {self.rank} of {self.size} aborted: another rank failed"
                ) from None
            raise RunError(
                f"collective on rank {self.rank} of {self.size} aborted: a rank did not join "
                f"within {group.timeout:g} s"
            ) from None
        return values

    def allgather(self, value: Any) -> list[Any]:
        """Every rank's value, on every rank."""
        return self._exchange(value)

    def gather(self, value: Any, root: int = 0) -> list[Any] | None:
        """Every rank's value on ``root``; None elsewhere."""
        values = self._exchange(value)
        return values if self.rank == root else None

    def bcast(self, value: Any = None, root: int = 0) -> Any:
        """``root``'s value on every rank."""
        return self._exchange(value)[root]

    def allreduce(self, value: Any, op: str | Callable[[Any, Any], Any] = "sum") -> Any:
        """Reduction of every rank's value (in rank order) on every rank; default sum."""
        return functools.reduce(_op(op), self._exchange(value))

    def reduce(self, value: Any, op: str | Callable[[Any, Any], Any] = "sum", root: int = 0) -> Any:
        """Reduction of every rank's value on ``root``; None elsewhere."""
        result = self.allreduce(value, op)
        return result if self.rank == root else None

    def barrier(self) -> None:
        """Wait until every rank arrives."""
        self._exchange(None)

    Barrier = barrier

    def Split(self, color: int, key: int = 0) -> ThreadComm | None:
        """Split into sub-communicators by ``color`` ordered by (key, rank); negative -> None."""
        infos = self._exchange((color, key, self.rank))
        groups = None
        if self.rank == 0:
            colors = sorted({c for c, _, _ in infos if c >= 0})
            groups = {
                c: _Group(sum(1 for i in infos if i[0] == c), self._group.timeout) for c in colors
            }
            self._registry.extend(groups.values())
        groups = self.bcast(groups)
        if color < 0:
            return None
        members = sorted((k, r) for c, k, r in infos if c == color)
        new_rank = members.index((key, self.rank))
        return ThreadComm(groups[color], new_rank, self._registry)


def _op(op: str | Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    if callable(op):
        return op
    if op not in _OPS:
        raise ValueError(f"unknown reduction {op!r}; valid: {', '.join(_OPS)} or a callable")
    return _OPS[op]
