"""The mpi4py-shaped communicator between threads used by the in-process engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from damaris_ref.core.errors import RunError
from damaris_ref.core.polling import poll_until
from damaris_ref.runtime.transport.base import WorldAborted
from damaris_ref.runtime.transport.threadcomm import ThreadComm

from waits import GUARD


def on_threads(comms: list[ThreadComm], function: Callable[[ThreadComm], Any]) -> list[Any]:
    """Run ``function(comm)`` on one thread per comm; return results (or raised errors)."""
    results: list[Any] = [None] * len(comms)

    def target(rank: int) -> None:
        try:
            results[rank] = function(comms[rank])
        except Exception as error:  # returned so tests can assert on it
            results[rank] = error

    threads = [threading.Thread(target=target, args=(r,), daemon=True) for r in range(len(comms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
        assert not thread.is_alive(), "a rank is still blocked in a collective"
    return results


def run(size: int, function: Callable[[ThreadComm], Any], timeout: float = GUARD) -> list[Any]:
    return on_threads(ThreadComm.world(size, timeout), function)


def until_waiting(comm: ThreadComm, count: int, size: int | None = None) -> None:
    """Return once ``count`` ranks wait in a collective of ``comm`` or, given ``size``, of the
    communicator of that size split from its world (read from the barrier they share)."""
    groups = comm._registry if size is not None else [comm._group]
    (group,) = [g for g in groups if size is None or g.size == size]
    waiting = lambda: group.barrier.n_waiting == count  # noqa: E731
    assert poll_until(waiting, GUARD, 0.001), f"{count} ranks never waited in a collective"


def test_rank_and_size():
    assert run(3, lambda c: (c.Get_rank(), c.Get_size(), c.rank, c.size)) == [
        (r, 3, r, 3) for r in range(3)
    ]


@pytest.mark.parametrize(("op", "expected"), [("sum", 10), ("prod", 24), ("max", 4), ("min", 1)])
def test_allreduce_named_ops(op, expected):
    assert run(4, lambda c: c.allreduce(c.rank + 1, op)) == [expected] * 4


def test_allreduce_defaults_to_sum():
    assert run(3, lambda c: c.allreduce(c.rank)) == [3] * 3


def test_custom_op_callable_reduces_in_rank_order():
    concat = lambda a, b: a + b  # noqa: E731 - not commutative: order shows
    assert run(3, lambda c: c.allreduce(str(c.rank), concat)) == ["012"] * 3


def test_reduce_gives_the_result_on_root_only():
    assert run(3, lambda c: c.reduce(c.rank + 1, "sum", root=1)) == [None, 6, None]


def test_unknown_op_is_an_error_naming_valid_ones():
    (error,) = run(1, lambda c: c.allreduce(1, "average"))
    assert isinstance(error, ValueError)
    assert "unknown reduction 'average'" in str(error)
    assert "sum, prod, max, min" in str(error)


def test_bcast_from_any_root():
    assert run(3, lambda c: c.bcast(f"from {c.rank}", root=2)) == ["from 2"] * 3


def test_gather_and_allgather():
    assert run(3, lambda c: c.gather(c.rank * 10, root=0)) == [[0, 10, 20], None, None]
    assert run(3, lambda c: c.allgather(c.rank * 10)) == [[0, 10, 20]] * 3


def test_barrier_waits_for_every_rank():
    arrived = []

    def late_rank_first(comm: ThreadComm) -> int:
        if comm.rank == 0:  # arrives once the others wait for it
            until_waiting(comm, 2)
        arrived.append(comm.rank)
        comm.barrier()
        return len(arrived)

    assert run(3, late_rank_first) == [3, 3, 3]
    assert ThreadComm.Barrier is ThreadComm.barrier


def test_consecutive_collectives_do_not_mix_values():
    def many(comm: ThreadComm) -> list[int]:
        return [comm.allreduce(comm.rank * step) for step in range(20)]

    assert run(4, many) == [[6 * step for step in range(20)]] * 4


def test_split_groups_by_color_and_orders_by_key_then_rank():
    def split(comm: ThreadComm):
        sub = comm.Split(comm.rank % 2, key=-comm.rank)  # reverse order inside each color
        return sub.Get_rank(), sub.Get_size(), sub.allgather(comm.rank)

    assert run(5, split) == [
        (2, 3, [4, 2, 0]),
        (1, 2, [3, 1]),
        (1, 3, [4, 2, 0]),
        (0, 2, [3, 1]),
        (0, 3, [4, 2, 0]),
    ]


def test_split_with_negative_color_returns_none():
    def split(comm: ThreadComm):
        sub = comm.Split(-1 if comm.rank == 1 else 0, comm.rank)
        return None if sub is None else sub.allreduce(1)

    assert run(3, split) == [2, None, 2]


def test_abort_all_wakes_a_waiting_collective():
    comms = ThreadComm.world(3, timeout=GUARD)

    def wait_or_abort(comm: ThreadComm):
        if comm.rank == 0:
            until_waiting(comm, 2)
            ThreadComm.abort_all(comms)
        else:
            comm.barrier()

    _, *waiting = on_threads(comms, wait_or_abort)
    # woken by the abort, not by the collective's timeout ("did not join within")
    assert all(isinstance(error, WorldAborted) for error in waiting), waiting
    assert "aborted: another rank failed" in str(waiting[0])


def test_abort_all_reaches_split_communicators():
    comms = ThreadComm.world(3, timeout=GUARD)
    absent_left = threading.Event()

    def split_then_wait(comm: ThreadComm):
        sub = comm.Split(0 if comm.rank < 2 else 1, comm.rank)
        if comm.rank == 0:
            sub.barrier()  # rank 1 never joins it
        elif comm.rank == 1:
            absent_left.set()
        else:  # once rank 0 waits in the split communicator and rank 1 is out of the split
            until_waiting(comm, 1, size=2)
            assert absent_left.wait(GUARD)
            ThreadComm.abort_all(comms)

    waiting, absent, aborter = on_threads(comms, split_then_wait)
    assert isinstance(waiting, WorldAborted), waiting  # the abort woke it, no timeout
    assert absent is None and aborter is None


def test_a_collective_some_rank_never_joins_times_out():
    results = run(2, lambda c: c.barrier() if c.rank == 0 else "absent", timeout=0.2)
    assert isinstance(results[0], RunError)
    assert "did not join within 0.2 s" in str(results[0])
