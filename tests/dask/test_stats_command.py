"""``damaris-ref stats`` (spec §6, the third example): upstream's documented result from one
command, 8 simulations at once on one scheduler losing no update, and nothing left running,
whether the runs finish or are stopped."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from distributed import Client

from damaris4py.dask.damaris_stats import DaskStats
from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.stats.cli import LOCK_NAME, STATS_NAME
from damaris_ref.stats.workflow import read_updates

from processes import Job, live_commands, run_command, wait_until

#: set in the command's environment; every process it starts inherits it
TOKEN_ENV = "DAMARIS_STATS_TEST_RUN"


def stats(*args: str, timeout: float = 240) -> tuple[Job, str]:
    """``damaris-ref stats ARGS...`` to its end; its result and the token its processes carry."""
    token = uuid.uuid4().hex
    command = [sys.executable, "-m", "damaris_ref.cli", "stats", *args]
    return run_command(command, env={TOKEN_ENV: token}, timeout=timeout), token


def processes_of(token: str) -> dict[int, list[str]]:
    """Live processes of this host started (directly or not) by the run with ``token``."""
    marker = f"{TOKEN_ENV}={token}".encode()
    found = {}
    for pid, argv in live_commands().items():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if marker in environ:
            found[pid] = argv
    return found


def assert_nothing_left(token: str) -> None:
    left = wait_until(lambda: not processes_of(token), timeout=5)
    assert left, f"left running: {processes_of(token)}"


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> tuple[Job, Path, str]:
    """The command with its defaults: 4 simulations, -v 1..4, 4 iterations each (and its bar,
    which it draws into the pipe only when asked)."""
    out = tmp_path_factory.mktemp("stats") / "out"
    job, token = stats("--out", str(out), "--progress")
    return job, out, token


@pytest.mark.timeout(300)
def test_the_defaults_give_upstreams_documented_result_with_pass(golden):
    job, _, _ = golden
    assert job.returncode == 0, job.describe()
    assert "count: 16 (expected 16)" in job.stdout
    rows = re.findall(
        r"^\((\d), 0, (\d)\)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(PASS|FAIL)$",
        job.stdout,
        re.MULTILINE,
    )
    # 2 clients x 4 domains; rank_start = 32 * client: the first block's mean is 2.5
    expected = [
        (str(c), str(d), "16", mean, "1.33333", mean, "1.33333", "PASS")
        for c, mean in ((0, "2.5"), (1, "34.5"))
        for d in range(4)
    ]
    assert rows == expected, job.stdout
    verdict = "PASS: count 16, mean rank_start + 2.5 and variance 1.33333 at every element"
    assert verdict in job.stdout.splitlines()
    assert "16/16 done" in job.stderr  # the progress bar over simulations x iterations


def test_the_defaults_write_the_plot(golden):
    _, out, _ = golden
    png = (out / "stats.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_the_defaults_leave_no_process_behind(golden):
    job, _, token = golden
    assert job.returncode == 0, job.describe()
    assert_nothing_left(token)


@pytest.mark.timeout(300)
def test_the_defaults_leave_no_unretrieved_future_in_any_log(golden):
    job, out, _ = golden
    logs = {path: path.read_text() for path in sorted(out.glob("sim_*/std*.txt"))}
    assert len(logs) == 8, sorted(logs)
    for text in (job.stdout, job.stderr, *logs.values()):
        assert "never retrieved" not in text, text


@pytest.mark.timeout(300)
def test_eight_simulations_at_once_lose_no_update(scheduler_file, stats_keeper, tmp_path):
    out = tmp_path / "out"
    job, token = stats(
        *("-k", "8", "-i", "2", "--clients", "1", "--cores", "1", "-d", "1", "--no-plot"),
        *("--scheduler-file", str(scheduler_file), "--out", str(out)),
    )
    assert job.returncode == 0, job.describe()
    assert " done" not in job.stderr, job.stderr  # no bar drawn into a pipe by default
    # every update saw all the earlier ones: the counts right after them are 1..16, once each
    counts = {v: [c for _, c in read_updates(out / f"sim_{v}")] for v in range(1, 9)}
    assert sorted(c for cs in counts.values() for c in cs) == list(range(1, 17)), counts
    assert any(cs[1] - cs[0] > 1 for cs in counts.values()), f"never concurrent: {counts}"
    # read back on the scheduler, independently of the command: -v 1..8, twice each
    with Client(scheduler_file=str(scheduler_file), timeout=30, set_as_default=False) as client:
        summary = DaskStats(STATS_NAME, LOCK_NAME).summary(client)
    assert summary.count == 16
    np.testing.assert_allclose(summary.mean, 4.5, rtol=1e-12)
    np.testing.assert_allclose(summary.variance, 84 / 15, rtol=1e-12)
    assert_nothing_left(token)


@pytest.mark.timeout(120)
def test_runs_past_the_timeout_are_stopped_reported_and_leave_nothing(tmp_path):
    job, token = stats(
        *("-k", "2", "--clients", "1", "--cores", "1", "-d", "1", "--no-plot"),
        *("--timeout", "1", "--out", str(tmp_path / "out")),
    )
    assert job.returncode == 1, job.describe()
    assert job.stdout.count(": stopped at the timeout, ") == 2, job.stdout
    assert "FAIL" in job.stdout
    assert_nothing_left(token)


@pytest.mark.timeout(60)
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "is not JSON"),
        (
            '{"address": "tcp://127.0.0.1:9", "type": "Scheduler"}',
            "nothing listens at tcp://127.0.0.1:9",
        ),
    ],
    ids=["garbage", "a closed port"],
)
def test_an_unusable_scheduler_file_is_one_error_line_before_anything_starts(
    tmp_path, content, why
):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    job, token = stats("--scheduler-file", str(bad), "--out", str(tmp_path / "out"))
    assert job.returncode == 2, job.stdout + job.stderr
    assert job.stderr.splitlines() == [job.stderr.strip()], job.stderr  # one line
    # why it failed, not "no scheduler answered within 10 s": neither waited out the check
    assert job.stderr.startswith("damaris-ref stats: error: ") and why in job.stderr
    assert_nothing_left(token)


def test_a_cluster_without_a_worker_of_its_own_is_refused(tmp_path):
    with local_scheduler(tmp_path) as lonely:
        job, token = stats("--scheduler-file", str(lonely), "--out", str(tmp_path / "out"))
    assert job.returncode == 2, job.describe()
    assert "has no worker" in job.stderr and "dask worker --scheduler-file" in job.stderr
    assert_nothing_left(token)
