"""Running jobs (MPI or not) with a timeout that kills their whole tree, waiting with a
deadline, and this host's live processes: for tests that start jobs and check a job or a Dask
worker left nothing running behind it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from damaris_ref.core.polling import poll_until
from damaris_ref.launch import launcher
from damaris_ref.launch.job_abort import FATAL_PREFIX
from damaris_ref.launch.processes import stop_tree, watch_shared_memory

#: seconds any single job may take before it counts as hung
JOB_TIMEOUT = 60.0


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; return its last value."""
    return poll_until(predicate, timeout, step)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def all_gone(pids: Sequence[int], timeout: float = 10.0) -> bool:
    """Wait up to ``timeout`` s for every process of ``pids`` to end; whether they did."""
    return wait_until(lambda: not any(map(alive, pids)), timeout)


def kill_all(pids: Sequence[int]) -> None:
    """SIGKILL whatever of ``pids`` still runs: a test's cleanup, whatever it asserted."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


def live_commands() -> dict[int, list[str]]:
    """``{pid: argv}`` of every live (non-zombie) process but this one, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry.name)] = cmdline.decode(errors="replace").split("\0")
    return found


@dataclass(frozen=True)
class Job:
    """A finished job: exit code, output and wall time."""

    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def fatal_lines(self) -> list[str]:
        """The one-line fatal reports of every rank that aborted."""
        return [line for line in self.stderr.splitlines() if line.startswith(FATAL_PREFIX)]

    def describe(self) -> str:
        """Everything a failed assertion should show."""
        return (
            f"exit {self.returncode} after {self.elapsed:.1f} s\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def start(command: Sequence[str], env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """Start ``command`` in a session of its own, output captured as text."""
    return subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


def finish(proc: subprocess.Popen, timeout: float, started: float) -> Job:
    """Wait for ``proc``; past ``timeout`` kill its whole tree and fail the test. Either way,
    the ``/dev/shm`` files its tree mapped and left (an aborted MPI job's) are removed."""
    watch = watch_shared_memory(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_tree(proc, signal.SIGKILL, 0.0)
        stdout, stderr = proc.communicate()
        job = Job(proc.returncode, stdout, stderr, time.monotonic() - started)
        pytest.fail(f"job still running after {timeout:g} s: {proc.args}\n{job.describe()}")
    finally:
        if watch is not None:
            watch.finish()
    return Job(proc.returncode, stdout, stderr, time.monotonic() - started)


def run_command(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = JOB_TIMEOUT,
    cwd: Path | None = None,
) -> Job:
    """Run ``command`` (no mpiexec added) in ``cwd`` to its end or ``timeout``."""
    started = time.monotonic()
    return finish(start(command, env, cwd=cwd), timeout, started)


def run_mpi(
    nranks: int,
    command: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = JOB_TIMEOUT,
    cwd: Path | None = None,
) -> Job:
    """Run ``command`` on ``nranks`` ranks under the launcher's mpiexec (MPICH or Open MPI,
    with that flavour's options and environment) to its end or ``timeout``."""
    exe = launcher.find_mpiexec()
    launch = launcher.build_command(
        nranks, command, mpiexec=exe, flavour=launcher.detect_flavour(exe)
    )
    started = time.monotonic()
    return finish(start(launch.argv, {**launch.env, **(env or {})}, cwd=cwd), timeout, started)
