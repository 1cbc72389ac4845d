"""The sleeping barrier: it waits for every rank without spinning, and gives up on time."""

from __future__ import annotations

from damaris_ref.core.polling import sleeping_barrier
from damaris_ref.runtime.transport.threadcomm import ThreadComm


class _Request:
    """An ``Ibarrier`` request that completes after ``calls`` tests."""

    def __init__(self, calls: int) -> None:
        self.left = calls
        self.tests = 0

    def Test(self) -> bool:
        self.tests += 1
        self.left -= 1
        return self.left <= 0


class _Comm:
    def __init__(self, calls: int) -> None:
        self.request = _Request(calls)

    def Ibarrier(self) -> _Request:
        return self.request


def test_it_tests_the_nonblocking_barrier_until_every_rank_arrived() -> None:
    comm = _Comm(calls=5)
    assert sleeping_barrier(comm, timeout=5) is True
    assert comm.request.tests == 5


def test_it_returns_false_once_the_timeout_passed() -> None:
    comm = _Comm(calls=10**9)
    assert sleeping_barrier(comm, timeout=0.05) is False
    assert comm.request.tests > 1


def test_a_communicator_without_ibarrier_uses_its_own_barrier() -> None:
    import threading

    comms = ThreadComm.world(2, timeout=10)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(sleeping_barrier(c))) for c in comms
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [True, True]
