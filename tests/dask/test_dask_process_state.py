"""A run whose scripts compute on Dask leaves the process's Dask defaults, streams, hooks and
``sys.path`` as it found them, during the run as after it: the scheduler's client is current
for each script run only, in that run's context."""

from __future__ import annotations

import json
from pathlib import Path

from dask_support import FIELD, JOB_TIMEOUT, OUT_ENV, SCRIPTS, TWO_SERVERS, dask_config, unique_name
from process_state import process_state, while_running

from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime.in_process import run_in_process


def test_a_dask_run_leaves_the_process_as_it_found_it(scheduler_file: Path, tmp_path, monkeypatch):
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    simulation = SIMULATIONS["generic"]
    args = simulation.parse_args(["in-memory", "-i", "2"])
    args.config = dask_config(
        unique_name("state"), SCRIPTS / "dask_arange_sum.py", scheduler_file, *FIELD, TWO_SERVERS
    )
    before = process_state()
    during = []  # seen by each server just before a script run, its Dask session open

    run_in_process(
        simulation.rank_main(args),
        4,
        observer=lambda *_: during.append(while_running(process_state())),
        timeout=JOB_TIMEOUT,
    )

    assert process_state() == before
    assert during == [while_running(before)] * 4  # 2 servers, 2 iterations
    totals = {p.name: json.loads(p.read_text())["total"] for p in tmp_path.glob("sum_*.json")}
    assert totals == {f"sum_S{s}_I{i}.json": 45 for s in range(2) for i in range(2)}
