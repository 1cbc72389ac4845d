"""The process module: captured output with bounds, waiting until ready with a deadline,
stopping a whole tree with a grace period (grandchildren in their own session and orphans
included), the death of the parent, and use from many threads at once."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from damaris_ref.core import polling
from damaris_ref.core.polling import poll_until
from damaris_ref.launch import processes
from damaris_ref.launch.process_output import LOG_LINE_CHARS, TAIL_CHARS
from damaris_ref.launch.processes import ProcessError

from processes import alive, all_gone, kill_all

pytestmark = pytest.mark.timeout(60)

# A process that starts a grandchild in a session of its own, prints both pids, then either
# hangs or exits (argv[1]); with argv[2] == "ignore-term" both ignore SIGTERM.
TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    prelude = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    prelude = prelude if sys.argv[2] == "ignore-term" else ""
    if prelude:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen(
        [sys.executable, "-c", prelude + "import time; time.sleep(120)"], start_new_session=True
    )
    print(os.getpid(), grandchild.pid, flush=True)
    if sys.argv[1] == "hang":
        time.sleep(120)
    """
)


def start_tree(ending: str = "hang", term: str = "obey-term") -> tuple[processes.Child, list[int]]:
    child = processes.start([sys.executable, "-c", TREE, ending, term], stdout=subprocess.PIPE)
    assert child.popen.stdout is not None
    return child, list(map(int, child.popen.stdout.readline().split()))


def python(code: str, **options) -> processes.Child:
    return processes.start([sys.executable, "-c", textwrap.dedent(code)], **options)


# --- poll_until (damaris_ref.core.polling) -------------------------------------------------------


def test_poll_until_returns_the_first_true_value():
    answers = iter([0, "", "ready", "later"])
    assert poll_until(lambda: next(answers), timeout=5, interval=0.001) == "ready"


class FakeTime:
    """Stands in for the ``time`` module of :mod:`damaris_ref.core.polling`: its clock moves only
    by what is slept and by ``tick`` s at each reading, so a poll runs at once and the same
    way whatever the machine's load."""

    def __init__(self, tick: float = 0.0) -> None:
        self.tick = tick
        self.now = 0.0
        self.sleeps: list[tuple[float, float]] = []  # (when, how long)

    def monotonic(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((self.now, seconds))
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    clock = FakeTime()
    monkeypatch.setattr(polling, "time", clock)
    return clock


def test_poll_until_gives_up_at_its_deadline(fake_time):
    looks: list[float] = []
    assert poll_until(lambda: looks.append(fake_time.now), timeout=0.3, interval=0.05) is None
    assert looks[-1] == pytest.approx(0.3)  # a last look at the deadline, none after it
    assert sum(length for _, length in fake_time.sleeps) == pytest.approx(0.3)


def test_poll_until_may_look_less_and_less_often(fake_time):
    assert not poll_until(lambda: None, 0.6, 0.01, max_interval=0.16)
    lengths = [length for _, length in fake_time.sleeps]
    # doubling up to 0.16, then the rest of the 0.6 s
    assert lengths == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.16, 0.16, 0.13])


def test_poll_until_asks_again_at_once_while_it_spins(fake_time):
    """An answer that comes during the spin is taken without a single sleep."""
    answers = iter([0] * 50 + ["ready"])
    assert poll_until(lambda: next(answers), timeout=60, interval=30, spin=30) == "ready"
    assert fake_time.sleeps == []


def test_poll_until_sleeps_once_its_spin_is_over(fake_time):
    fake_time.tick = 0.001  # each look at the clock takes a millisecond
    calls: list[float] = []
    assert not poll_until(lambda: calls.append(fake_time.now), 0.3, 0.05, spin=0.1)
    assert fake_time.sleeps, "it never slept after its spin"
    first_sleep, length = fake_time.sleeps[0]
    assert first_sleep >= 0.1 and length == 0.05
    assert sum(t < first_sleep for t in calls) > 10  # it asked again and again meanwhile


def test_poll_until_spins_no_longer_than_its_timeout(fake_time):
    fake_time.tick = 0.001
    assert poll_until(lambda: None, timeout=0.1, interval=0.01, spin=30) is None
    assert fake_time.sleeps == []  # the timeout ended the spin: no sleep came after it
    assert fake_time.now < 0.1 + 0.01  # it stopped at the timeout, not at the 30 s spin


# --- captured output ---------------------------------------------------------------------------


def test_captured_stderr_keeps_a_tail_and_logs_a_capped_number_of_lines(caplog):
    log = processes.OutputLog(logging.getLogger("test.capture"), max_lines=5)
    code = "import sys\nfor i in range(300): print('line', i, file=sys.stderr)"
    with caplog.at_level(logging.WARNING, logger="test.capture"):
        child = python(code, stderr="log", log=log, label="talker")
        assert child.wait(30) == 0
        child.drain()
    messages = [record.getMessage() for record in caplog.records]
    assert messages[:5] == [f"talker[{child.pid}]: line {i}" for i in range(5)]
    assert messages[5:] == [f"talker[{child.pid}]: ... 295 more lines not logged"]
    assert child.output_tail().splitlines() == [f"line {i}" for i in range(280, 300)]


def test_a_huge_line_is_logged_cut_and_kept_to_its_end(caplog):
    code = "import sys; sys.stderr.write('a' * 300_000 + 'b\\nend\\n')"
    with caplog.at_level(logging.WARNING, logger="damaris_ref.launch.processes"):
        child = python(code, stderr="log")
        child.wait(30)
        child.drain()
    first, last = (record.getMessage() for record in caplog.records)
    assert first.endswith("a" * 50 + " [cut]") and len(first) < LOG_LINE_CHARS + 500
    assert last.endswith(": end")
    assert child.output_tail() == "a" * (TAIL_CHARS - 5) + "b\nend"


def test_stdout_and_stderr_may_share_the_log_and_a_file_gives_its_tail(tmp_path):
    code = "import sys; print('out', flush=True); print('err', file=sys.stderr)"
    both = python(code, stdout="log", stderr="log")
    both.wait(30)
    both.drain()
    assert both.output_tail() == "out\nerr"
    with open(tmp_path / "log", "w+b") as file:  # readable too, as a TemporaryFile
        to_file = python("import sys; print('in a file', file=sys.stderr)", stderr=file)
        to_file.wait(30)
        assert to_file.output_tail() == "in a file"


# --- exit statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    ["import sys; sys.exit(3)", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
    ids=["exit-code", "signal"],
)
def test_shell_status_is_what_a_shell_reports_for_the_same_process(ending):
    ours = processes.shell_status(subprocess.run([sys.executable, "-c", ending]).returncode)
    shell = subprocess.run(["sh", "-c", '"$0" -c "$1"; exit $?', sys.executable, ending])
    assert ours == shell.returncode


def test_signal_status_is_what_a_shell_reports_for_that_signal():
    ending = "import os, signal; os.kill(os.getpid(), signal.SIGINT)"
    shell = subprocess.run(["sh", "-c", '"$0" -c "$1"; exit $?', sys.executable, ending])
    assert processes.signal_status(signal.SIGINT) == shell.returncode


# --- waiting until ready -----------------------------------------------------------------------


def test_wait_ready_returns_what_the_check_returned(tmp_path):
    flag = tmp_path / "ready"
    child = python(f"import time, pathlib; time.sleep(0.3); pathlib.Path({str(flag)!r}).touch()")
    assert child.wait_ready(lambda: flag.exists() and "yes", timeout=30) == "yes"
    child.stop()


def test_a_child_that_ends_before_it_is_ready_is_reported_with_its_output():
    child = python("import sys; print('bad option', file=sys.stderr); sys.exit(4)", stderr="log")
    with pytest.raises(ProcessError, match=r"did not start: it ended \(exit code 4\):\nbad option"):
        child.wait_ready(lambda: False, timeout=30)


def test_a_child_not_ready_by_its_deadline_is_stopped():
    child = python("import time; time.sleep(120)", label="sleeper")
    with pytest.raises(ProcessError, match=r"sleeper did not start: it was not ready within 0.5 s"):
        child.wait_ready(lambda: False, timeout=0.5)
    assert child.poll() == -signal.SIGTERM


# --- stopping the whole tree -------------------------------------------------------------------


@pytest.fixture
def grace_waits(monkeypatch) -> list[tuple[float, object]]:
    """(timeout, outcome) of each wait of :mod:`damaris_ref.launch.processes` for processes to end;
    a false outcome means the wait ran out its timeout."""
    waits: list[tuple[float, object]] = []

    def recorded(predicate, timeout, *args, **options):
        outcome = poll_until(predicate, timeout, *args, **options)
        waits.append((timeout, outcome))
        return outcome

    monkeypatch.setattr(processes, "poll_until", recorded)
    return waits


def test_stop_ends_a_tree_that_obeys_sigterm_without_waiting_out_the_grace(grace_waits):
    child, pids = start_tree()
    try:
        assert child.stop(grace=30) == -signal.SIGTERM
        assert grace_waits[0] == (30, True)  # the grace wait ended because the tree did
        assert all_gone(pids)
    finally:
        kill_all(pids)


def test_stop_kills_what_ignores_sigterm_once_the_grace_is_over(grace_waits):
    child, pids = start_tree(term="ignore-term")
    try:
        assert child.stop(grace=1) == -signal.SIGKILL
        assert grace_waits[0] == (1, False)  # killed after the grace ran out, not before
        assert all_gone(pids)
    finally:
        kill_all(pids)


def test_stop_finds_an_orphan_that_left_the_tree():
    child, (_, orphan) = start_tree(ending="exit")
    try:
        assert child.wait(30) == 0
        assert alive(orphan) and psutil.Process(orphan).ppid() != child.pid
        child.stop()
        assert all_gone([orphan])
    finally:
        kill_all([orphan])


# A parent that starts a tree that dies with it and a process that does not, prints the pids.
PARENT = textwrap.dedent(
    """
    import subprocess, sys
    from damaris_ref.launch import processes
    tree = processes.start([sys.executable, "-c", sys.argv[1], "hang", "obey-term"],
                           stdout=subprocess.PIPE)
    kept = processes.start([sys.executable, "-c", "import time; time.sleep(120)"],
                           die_with_parent=False)
    print(tree.popen.stdout.readline().decode().strip(), kept.pid, flush=True)
    sys.stdin.read()
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_the_death_of_the_parent_stops_the_trees_that_die_with_it(signum):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, TREE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        assert parent.stdout is not None
        *pids, kept = map(int, parent.stdout.readline().split())
        pids.append(kept)
        parent.send_signal(signum)
        parent.wait(10)
        assert all_gone(pids[:-1], timeout=15), "the tree outlived its parent"
        assert alive(kept), "a process started with die_with_parent=False was stopped"
    finally:
        parent.kill()
        parent.wait(10)
        kill_all(pids)


# --- threads -------------------------------------------------------------------------------


def test_many_threads_start_capture_and_stop_at_once():
    def run(n: int) -> tuple[int, str, int | None]:
        talker = python(f"import sys; print('I am', {n}, file=sys.stderr)", stderr="log")
        sleeper = python("import time; time.sleep(120)")
        talker.wait(30)
        talker.drain()
        return n, talker.output_tail(), sleeper.stop(grace=5)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(run, range(12)))
    assert results == [(n, f"I am {n}", -signal.SIGTERM) for n in range(12)]


# --- subreaper -----------------------------------------------------------------------------

SUBREAPER = textwrap.dedent(
    """
    import os, subprocess, sys
    import psutil
    from damaris_ref.launch import processes
    print(processes.become_subreaper())
    child = processes.start([sys.executable, "-c", sys.argv[1], "exit", "obey-term"],
                            stdout=subprocess.PIPE)
    orphan = int(child.popen.stdout.readline().split()[1])
    child.wait(30)
    print(psutil.Process(orphan).ppid() == os.getpid())
    child.stop()
    print(psutil.pid_exists(orphan))  # stopped, and reaped by its adoptive parent
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_CHILD_SUBREAPER is Linux's")
def test_a_subreaper_adopts_orphans_and_stops_and_reaps_them():
    done = subprocess.run(
        [sys.executable, "-c", SUBREAPER, TREE], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True", "False"], done.stderr
