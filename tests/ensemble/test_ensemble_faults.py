"""Findings 5 and 6 of issue 12: a task's whole tree ends when its timeout passes or its parent
dies, the default timeout is configurable, and 50 MB of stderr cost neither 50 MB of memory nor
one 50 MB log record."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading

import psutil
import pytest

import dask_espresso as de
from damaris_ref.ensemble import SimulationError, run_simulation
from damaris_ref.ensemble.timeouts import TIMEOUT_ENV, default_timeout, set_default_timeout
from damaris_ref.launch.process_output import LOG_LINE_CHARS, LOG_LINES, TAIL_CHARS

from processes import all_gone, kill_all, wait_until

pytestmark = pytest.mark.timeout(90)

RUNNER_LOGGER = "damaris_ref.ensemble.runner"

# a parent that runs one task with no timeout: only its death can end the task
PARENT = textwrap.dedent(
    """
    import sys
    from damaris_ref.ensemble import run_simulation
    run_simulation(sys.executable, sys.argv[1], {"pid_file": sys.argv[2], "own_session": True})
    """
)


def task_pids(pid_file) -> list[int]:
    """The child's and the grandchild's pid, once the sleepy task wrote both."""
    written = wait_until(lambda: pid_file.is_file() and len(pid_file.read_text().split()) == 2)
    assert written, "the task did not start"
    return list(map(int, pid_file.read_text().split()))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_the_death_of_the_parent_takes_the_whole_task_tree_down(sim, tmp_path, signum):
    pid_file = tmp_path / "pids"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, sim("sleepy"), str(pid_file)])
    pids = []
    try:
        pids = task_pids(pid_file)
        parent.send_signal(signum)
        parent.wait(10)
        assert all_gone(pids, timeout=15), "the task or its grandchild outlived its parent"
    finally:
        parent.kill()
        parent.wait(10)
        kill_all(pids)


def test_a_timeout_kills_a_grandchild_in_a_session_of_its_own(sim, tmp_path):
    pid_file = tmp_path / "pids"
    params = {"pid_file": str(pid_file), "own_session": True}
    try:
        with pytest.raises(SimulationError, match="within 2 s") as caught:
            run_simulation(sys.executable, sim("sleepy"), params, timeout=2)
        assert caught.value.kind == "timeout"
        assert all_gone(task_pids(pid_file), timeout=10)
    finally:
        kill_all(task_pids(pid_file))


class PeakRss:
    """Samples this process's resident memory while a ``with`` block runs."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.002):
            self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.base

    def __enter__(self) -> PeakRss:
        self._sampler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._sampler.join(10)


@pytest.mark.parametrize(
    ("lines", "width"), [(500_000, 100), (1, 50_000_000)], ids=["short-lines", "one-line"]
)
def test_50_mb_of_stderr_cost_little_memory_and_a_capped_number_of_records(
    sim, caplog, lines, width
):
    params = {"lines": lines, "width": width, "exit": 3}
    with (
        caplog.at_level(logging.WARNING, logger=RUNNER_LOGGER),
        PeakRss() as rss,
        pytest.raises(SimulationError) as caught,
    ):
        run_simulation(sys.executable, sim("loud_stderr"), params, timeout=60)
    assert caught.value.kind == "failed"
    assert rss.growth < 20 * 2**20, f"RSS grew by {rss.growth / 2**20:.0f} MiB"
    records = [r.getMessage() for r in caplog.records if r.name == RUNNER_LOGGER]
    assert len(records) <= LOG_LINES + 1
    assert max(map(len, records)) < LOG_LINE_CHARS + 200
    if lines > LOG_LINES:
        skipped = lines + 1 - LOG_LINES
        assert records[-1].endswith(f": ... {skipped} more lines not logged")
    tail = caught.value.stderr_tail
    assert tail.endswith("the last words") and len(tail) <= TAIL_CHARS


@pytest.fixture
def default_timeout_is_restored(monkeypatch):
    """Tests set the default timeout (an environment variable); put it back afterwards."""
    monkeypatch.setenv(TIMEOUT_ENV, "none")


@pytest.mark.usefixtures("default_timeout_is_restored")
def test_dask_espresso_task_takes_its_timeout_from_the_environment(sim, tmp_path, monkeypatch):
    pid_file = tmp_path / "pids"
    monkeypatch.setenv(TIMEOUT_ENV, "1.5")
    task = de.dask_espresso_task(sys.executable, sim("sleepy"), pid_file=str(pid_file))
    try:
        with pytest.raises(SimulationError, match=r"within 1\.5 s") as caught:
            task.compute(scheduler="sync")
        assert caught.value.kind == "timeout"
        assert all_gone(task_pids(pid_file), timeout=10)
    finally:
        kill_all(task_pids(pid_file))


@pytest.mark.usefixtures("default_timeout_is_restored")
def test_the_default_timeout_is_set_by_the_api_and_checked(sim, monkeypatch):
    assert default_timeout() == math.inf  # none, as upstream
    de.set_default_timeout(30)
    assert (os.environ[TIMEOUT_ENV], default_timeout()) == ("30.0", 30.0)
    set_default_timeout(None)
    assert default_timeout() == math.inf
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        set_default_timeout(-1)
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=f"{TIMEOUT_ENV}: invalid value 'soon'; allowed: a num"):
        run_simulation(sys.executable, sim("echo"), {})
    # an explicit limit, or an explicit "none", wins over the environment
    assert run_simulation(sys.executable, sim("echo"), {}, timeout=math.inf)["processed"]
