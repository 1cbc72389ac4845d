"""The deadline of a failed rank's clean end: the job is aborted with the rank's error when,
and only when, the clean end has not finished by the deadline (a fake timer stands for the
clock, so the test decides when the deadline passes)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from damaris_ref.launch import exit_status
from damaris_ref.launch.exit_status import abort_unless_done_within


class FakeTimer:
    """Stands for ``threading.Timer``: runs its function when the test calls :meth:`expire`,
    unless it was cancelled before."""

    made: list[FakeTimer]

    def __init__(self, interval: float, function, args=(), kwargs=None) -> None:
        self.interval = interval
        self.call = (function, args, kwargs or {})
        self.started = self.cancelled = False
        self.daemon = False
        FakeTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def expire(self) -> None:
        """The interval has passed."""
        function, args, kwargs = self.call
        if self.started and not self.cancelled:
            function(*args, **kwargs)


@pytest.fixture
def aborts(monkeypatch) -> list[tuple[BaseException, dict[str, Any]]]:
    """The ``abort_job`` calls made, with a fake timer in place of the clock."""
    FakeTimer.made = []
    calls: list[tuple[BaseException, dict[str, Any]]] = []
    monkeypatch.setattr(exit_status, "threading", types.SimpleNamespace(Timer=FakeTimer))
    monkeypatch.setattr(exit_status, "abort_job", lambda error, **kw: calls.append((error, kw)))
    return calls


def test_a_clean_end_that_finishes_before_the_deadline_aborts_nothing(aborts):
    with abort_unless_done_within(2.5, ValueError("client 1 failed")):
        pass
    (timer,) = FakeTimer.made
    assert timer.interval == 2.5 and timer.daemon
    timer.expire()  # the deadline passes after the block ended
    assert aborts == []


def test_a_clean_end_still_running_at_the_deadline_aborts_the_job_with_the_error(aborts):
    error = ValueError("client 1 failed")
    with abort_unless_done_within(2.5, error):
        (timer,) = FakeTimer.made
        assert aborts == []  # not before the deadline
        timer.expire()
        assert aborts == [(error, {"show_traceback": False})]
    assert timer.interval == 2.5
