"""Statistics that no worker kept (issue: the reader waited for ever): when the workers that
held the published statistics are gone and no other worker took them, every read and update
fails at once with StatisticsLost, the count read included, and the server whose worker
leaves last says so in the simulation's output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from dask_support import own_scheduler, unique_name
from test_stats_examples import NUMBER, example_config

from damaris4py.dask.damaris_stats import DaskStats, StatisticsLost
from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.dask_bridge.workers import ServerWorker
from damaris_ref.launch import launcher

from processes import finish, run_command, start

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOST = "were lost"
WHY = "no worker outlived the simulations"
#: what a server prints when its worker leaves with data no other worker could take
SERVER_WARNING = "stops with published data no other worker could take"


@pytest.mark.timeout(120)
def test_every_read_and_update_says_the_statistics_were_lost(tmp_path):
    with own_scheduler(tmp_path) as (_scheduler_file, client):
        worker = ServerWorker.start(client, unique_name("only-worker"), 1, keep=False)
        stats = DaskStats(unique_name("stats"), unique_name("lock"))
        for value in (1.0, 3.0):
            stats.update(da.from_array(np.full((4, 6), value), chunks=(2, 3)), client)
        # the only worker leaves: the scheduler cannot retire it, so its data goes with it
        assert worker.stop() is False

        reads = {
            "return_count": lambda: stats.return_count(client, lock_timeout=5),
            "return_mean_var_tuple": lambda: stats.return_mean_var_tuple(client, lock_timeout=5),
            "summary": lambda: stats.summary(client, lock_timeout=5),
            "get_chunks": lambda: stats.get_chunks(client),
            "update": lambda: stats.update(da.ones((4, 6), chunks=(2, 3)), client, 5),
        }
        for read in reads.values():  # a read waiting for the lost data would hang the test
            with pytest.raises(StatisticsLost, match=rf"{LOST}.*4 of their 4 chunks.*{WHY}"):
                read()
        stats.reset(client)  # what the error says to do: the statistics start again
        assert stats.return_count(client) == 0


def simulation_then_reader(scheduler_file: Path, folder: Path) -> tuple[str, tuple[int, str, str]]:
    """One stats_3dmesh_dask simulation of the example (6 ranks, -i 4 -v 1 -d 4), then the
    example reader unchanged: the simulation's stderr and the reader's (exit code, stdout,
    stderr); a reader still waiting after 90 s fails the test."""
    simulation_script, reader = (
        EXAMPLES / "stats_3dmesh_dask.py",
        EXAMPLES / "programs" / "stats_get_results.py",
    )
    config = example_config(simulation_script, scheduler_file, folder)
    exe = launcher.find_mpiexec()
    command = [sys.executable, "-m", "damaris_ref.mocks", "stats_3dmesh_dask"]
    command += [str(config), "-i", "4", "-v", "1", "-d", "4", "-s", "0"]
    launch = launcher.build_command(6, command, mpiexec=exe, flavour=launcher.detect_flavour(exe))
    done = finish(start(launch.argv, dict(launch.env), cwd=folder), 180, time.monotonic())
    assert done.returncode == 0, done.describe()
    read = run_command([sys.executable, str(reader), "-f", str(scheduler_file)], timeout=90)
    return done.stderr, (read.returncode, read.stdout, read.stderr)


@pytest.mark.timeout(300)
def test_the_reader_says_so_when_no_worker_outlived_the_simulation(tmp_path):
    with local_scheduler(tmp_path) as scheduler_file:  # a scheduler alone
        sim_stderr, (code, out, err) = simulation_then_reader(scheduler_file, tmp_path)
    assert sim_stderr.count(SERVER_WARNING) >= 1, sim_stderr
    assert code == 1, (out, err)
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("damaris_ref.stats.published.StatisticsLost: damaris_stats: ")
    assert LOST in last_line and WHY in last_line and "docs/stats.md" in last_line, err
    assert "mean per chunk" not in out  # the count read fails too: no count without arrays


@pytest.mark.timeout(300)
def test_the_reader_prints_count_and_arrays_with_a_standing_worker(tmp_path):
    with own_scheduler(tmp_path) as (scheduler_file, client):
        keeper = ServerWorker.start(client, unique_name("stats-keeper"), 1, keep=False)
        try:
            sim_stderr, (code, out, err) = simulation_then_reader(scheduler_file, tmp_path)
        finally:
            keeper.stop()
    assert SERVER_WARNING not in sim_stderr, sim_stderr
    assert code == 0, err
    count_line, _, rest = out.partition("count")[2].partition("\n")
    assert NUMBER.findall(count_line) == ["4"], out
    # -v 1, four times: every sample the same, mean rank_start + 1 (a band of 4 chunks per
    # client, rank_start 32 times the client), variance 0
    numbers = [float(n) for n in NUMBER.findall(rest)]
    assert len(numbers) == 32, out
    assert sorted(numbers[:16]) == sorted([1.0, 33.0, 65.0, 97.0] * 4), out
    np.testing.assert_allclose(numbers[16:], 0.0, atol=1e-12)
