"""No wait of a statistics run without an end (issue: a simulation hung under load).

Two ways it hung, each now a clear error within the run's timeouts: a scheduler that stops
answering in the middle of the updates, and a server whose pyscript raised before its
``return_dask_array`` call while the other servers waited for it there (under load, the
example pyscript's 2 s ``Client(...)`` timed out on one server).
"""

from __future__ import annotations

import os
import signal
import sys
import time

import dask.array as da
import numpy as np
import pytest
from dask_support import own_scheduler, unique_name
from test_stats_examples import example_config

from damaris4py.dask.damaris_stats import DaskStats
from damaris_ref.dask_bridge.workers import ServerWorker
from damaris_ref.launch import launcher

from processes import finish, start

#: a pyscript whose server 1 raises before its first return_dask_array call, as the example's
#: did when its Client(...) timed out
SKIPS_A_CALL = """\
def main(DD):
    from damaris4py.dask import damaris_dask
    from damaris4py.server import getservercomm
    from damaris_ref.dask_bridge import current_session

    servers = getservercomm()
    if servers.Get_rank() == 1 and damaris_dask.return_iteration(DD) == 0:
        raise RuntimeError("server 1 fails before its call")
    client = current_session().client(damaris_dask.return_scheduler_filename(DD))
    damaris_dask.return_dask_array(DD, client, "cube_d", servers)


if __name__ == "__main__":
    main(DamarisData)
"""


@pytest.mark.timeout(120)
def test_a_scheduler_that_stops_answering_gives_a_timeout_error(tmp_path):
    with own_scheduler(tmp_path) as (_scheduler_file, client):
        worker = ServerWorker.start(client, unique_name("worker"), 1, keep=False)
        stats = DaskStats(unique_name("stats"), unique_name("lock"), scheduler_timeout=2)
        sample = da.from_array(np.ones((4, 6)), chunks=(2, 3))
        assert stats.update(sample, client) == 1
        scheduler_pid = client.run_on_scheduler(os.getpid)
        os.kill(scheduler_pid, signal.SIGSTOP)
        try:
            for call in (
                lambda: stats.update(sample, client, lock_timeout=1),
                lambda: stats.return_count(client, lock_timeout=1),
            ):  # without the scheduler timeout, each call would wait for ever
                with pytest.raises(TimeoutError, match="scheduler did not answer the request"):
                    call()
        finally:
            os.kill(scheduler_pid, signal.SIGCONT)
        worker.stop()


@pytest.mark.timeout(240)
def test_a_server_that_skips_the_collective_call_ends_the_job(scheduler_file, tmp_path):
    script = tmp_path / "skips_a_call.py"
    script.write_text(SKIPS_A_CALL)
    config = example_config(script, scheduler_file, tmp_path)
    exe = launcher.find_mpiexec()
    command = [sys.executable, "-m", "damaris_ref.mocks", "stats_3dmesh_dask"]
    command += [str(config), "-i", "3", "-v", "1", "-d", "4", "-s", "0"]
    launch = launcher.build_command(6, command, mpiexec=exe, flavour=launcher.detect_flavour(exe))
    done = finish(start(launch.argv, dict(launch.env), cwd=tmp_path), 180, time.monotonic())
    assert done.returncode != 0, done.describe()
    assert any(
        "DaskError: global_array('cube_d') at iteration 0: the servers are in calls of "
        "different iterations ([0, 1], by server)" in line
        for line in done.fatal_lines
    ), done.describe()
