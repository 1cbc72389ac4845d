"""The third example as its files say (spec §6): two ``stats_3dmesh_dask`` simulations of
``examples/stats_3dmesh_dask.xml`` run at once under mpiexec against one scheduler, their
pyscript updating shared statistics, then the reader script prints them.

The same runs are made with upstream's own simulation and reader scripts, unchanged, when
``DAMARIS_UPSTREAM_SOURCE`` names upstream's source folder (as ``tox -e upstream`` does).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from damaris4py.dask.damaris_stats import DaskStats
from damaris_ref.launch import launcher

from processes import finish, run_command, start

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UPSTREAM = os.environ.get("DAMARIS_UPSTREAM_SOURCE")
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")


def scripts(kind: str) -> tuple[Path, Path]:
    """The (simulation, reader) scripts: this project's examples or upstream's files."""
    if kind == "ours":
        return EXAMPLES / "stats_3dmesh_dask.py", EXAMPLES / "programs" / "stats_get_results.py"
    if not UPSTREAM:
        pytest.skip("DAMARIS_UPSTREAM_SOURCE is not set")
    python = Path(UPSTREAM) / "examples" / "python"
    return python / "stats_3dmesh_dask.py", python / "SLURM" / "stats_get_results.py"


def example_config(script: Path, scheduler_file: Path, folder: Path) -> Path:
    """examples/stats_3dmesh_dask.xml with its scheduler file and pyscript as absolute paths."""
    text = (EXAMPLES / "stats_3dmesh_dask.xml").read_text()
    text = text.replace('scheduler-file="dask_file.json"', f'scheduler-file="{scheduler_file}"')
    text = text.replace('file="stats_3dmesh_dask.py"', f'file="{script}"')
    path = folder / "stats_3dmesh_dask.xml"
    path.write_text(text)
    return path


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["ours", "upstream"])
def test_two_simulations_then_the_reader_print_the_closed_form(
    kind, scheduler_file, stats_keeper, dask_client, tmp_path
):
    simulation_script, reader = scripts(kind)
    config = example_config(simulation_script, scheduler_file, tmp_path)
    DaskStats("dask_client_published_str", "dask_lock_str").reset(dask_client)
    exe = launcher.find_mpiexec()
    jobs, started = [], time.monotonic()
    for value in (1, 3):  # 4 ranks each: 2 clients of 4 domains, 2 dedicated cores
        command = [sys.executable, "-m", "damaris_ref.mocks", "stats_3dmesh_dask"]
        command += [str(config), "-i", "2", "-v", str(value), "-d", "4", "-s", "0"]
        launch = launcher.build_command(
            4, command, mpiexec=exe, flavour=launcher.detect_flavour(exe)
        )
        jobs.append(start(launch.argv, dict(launch.env), cwd=tmp_path))
    for proc in jobs:
        done = finish(proc, 180, started)
        assert done.returncode == 0, done.describe()
        assert "raised:" not in done.stderr and "ERROR" not in done.stdout, done.describe()
        assert "never retrieved" not in done.stderr, done.describe()
    read = run_command([sys.executable, str(reader), "-f", str(scheduler_file)], timeout=60)
    assert read.returncode == 0, read.describe()
    count_line, _, rest = read.stdout.partition("count")[2].partition("\n")
    assert NUMBER.findall(count_line) == ["4"], read.stdout
    numbers = [float(n) for n in NUMBER.findall(rest)]
    # -v 1 and 3, twice each: mean rank_start + 2 with rank_start 0 and 32, variance 4/3
    means, variances = np.reshape(numbers, (2, 2, 4))
    np.testing.assert_allclose(means, [[2.0] * 4, [34.0] * 4], rtol=1e-6)
    np.testing.assert_allclose(variances, np.full((2, 4), 4 / 3), rtol=1e-6)
