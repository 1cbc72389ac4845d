"""The Dask examples run as their headers say, under mpiexec with a scheduler of the test's:
3dmesh_dask (seed Example 2, spec §6 numbers) and online_stats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from dask_support import assert_no_workers_left, run_mpi, unique_name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_config(name: str, scheduler_file: Path, folder: Path) -> tuple[Path, str]:
    """examples/<name>.yml with its scheduler file and script pointed at absolute paths,
    and a simulation name of its own; returns the file and that name."""
    spec = yaml.safe_load((EXAMPLES / f"{name}.yml").read_text())
    simulation = spec["damaris"]["simulation_name"] = unique_name(name)
    pyscript = spec["damaris"]["pyscript"]
    pyscript["scheduler_file"] = str(scheduler_file)
    pyscript["file"] = str(EXAMPLES / pyscript["file"])
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(spec))
    return path, simulation


@pytest.mark.timeout(90)
def test_3dmesh_dask_passes_every_iteration(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    config, simulation = example_config("3dmesh_dask", scheduler_file, tmp_path)
    done = run_mpi(
        6, "3dmesh_py_domains", str(config), "-i", "3", "-d", "4", "-r", "-s", "0", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    verdicts = re.findall(
        r"^Dask iteration  (\d+) , Sum\(\) = (\d+) , array_sum = (\d+) : (\w+)$",
        done.stdout,
        re.MULTILINE,
    )
    # spec §6: upstream's Dask config gives 98304, 100352, 102400, each equal to array_sum
    assert verdicts == [
        ("0", "98304", "98304", "PASS"),
        ("1", "100352", "100352", "PASS"),
        ("2", "102400", "102400", "PASS"),
    ], done.stdout
    assert_no_workers_left(dask_client, simulation)


@pytest.mark.timeout(90)
def test_online_stats_checks_and_plots_running_mean_and_variance(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    config, simulation = example_config("online_stats", scheduler_file, tmp_path)
    done = run_mpi(
        6, "3dmesh_py_domains", str(config), "-i", "4", "-d", "4", "-s", "0", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "raised:" not in done.stderr, done.stderr
    # values i + 32*client + k + 0.5 (k < 128) over 4 iterations: means from 0.5 + 1.5 to
    # 96 + 127 + 0.5 + 1.5, and every cell's variance is (16 - 1) / 12
    assert re.search(
        r"^Online stats over 4 iterations: mean in \[2, 225\], variance in \[1\.25, 1\.25\] "
        r".*: PASS$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert (tmp_path / "online_stats.png").stat().st_size > 0
    assert not [n for n in dask_client.list_datasets() if str(n).startswith("online-stats/")]
    assert_no_workers_left(dask_client, simulation)
