"""The Dask examples run as their headers say, under mpiexec with a scheduler of the test's:
3dmesh_dask (seed Example 2, spec §6 numbers: the seed's own file and the compact one) and
online_stats."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from dask_support import assert_no_workers_left, run_mpi, unique_name

from damaris_ref.conformance.cases import case_by_id

import processes

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
    config, simulation = example_config("3dmesh_dask_compact", scheduler_file, tmp_path)
    done = run_mpi(
        6, "3dmesh_py_domains", str(config), "-i", "3", "-d", "4", "-r", "-s", "0", cwd=tmp_path
    )
    assert_every_iteration_passes(done)
    assert_no_workers_left(dask_client, simulation)


@pytest.mark.timeout(90)
def test_the_seeds_own_dask_command_passes_every_iteration(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    """``mpiexec -n 6 3dmesh_py_domains 3dmesh_dask.yml -i 3 -r -d 4 -s 0`` beside the seed's
    files, the scheduler file where the seed's file names it (``dask_file.json``)."""
    for name in ("3dmesh_dask.yml", "3dmesh_dask.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    shutil.copy(scheduler_file, tmp_path / "dask_file.json")
    domains = str(Path(sys.executable).with_name("3dmesh_py_domains"))
    args = ["3dmesh_dask.yml", "-i", "3", "-r", "-d", "4", "-s", "0"]
    done = processes.run_mpi(6, [domains, *args], cwd=tmp_path)
    assert_every_iteration_passes(done)
    assert_no_workers_left(dask_client, "3dmesh_wf")


def assert_every_iteration_passes(done) -> None:
    """The script's dask.array sum equals the simulation's total each iteration (PASS)."""
    assert done.returncode == 0, done.stderr
    verdicts = re.findall(
        r"^Python iteration  (\d+)  dask x\.sum\(\) :=  (\d+)\n(PASS|FAIL)$",
        done.stdout,
        re.MULTILINE,
    )
    # spec §6: upstream's Dask config gives these totals, each equal to array_sum (PASS)
    totals = case_by_id("seed-domains-6ranks-2cores-d4-r").expect.client_totals
    assert verdicts == [(str(i), str(t), "PASS") for i, t in enumerate(totals)], done.stdout
    assert "INFO" not in done.stderr, done.stderr  # the servers and their workers: warnings only


@pytest.mark.timeout(90)
def test_damaris_log_level_info_shows_what_the_servers_workers_print(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    config, simulation = example_config("3dmesh_dask_compact", scheduler_file, tmp_path)
    done = run_mpi(
        *(6, "3dmesh_py_domains", str(config), "-i", "1", "-d", "4", "-s", "0"),
        cwd=tmp_path,
        env={"DAMARIS_LOG_LEVEL": "info"},
    )
    assert done.returncode == 0, done.stderr
    for server in (0, 1):  # each server's worker, named after it, says where it registered
        registered = (
            rf"^damaris_ref\.dask_bridge\.workers: INFO: Dask worker '{simulation}_\d+_{server}'"
            r"\[\d+\]: .* - distributed\.worker - INFO - +Registered to:"
        )
        assert re.search(registered, done.stderr, re.M), done.stderr
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
    # cube_i = i + 32*client + k (k < 128) over 4 iterations: means from 0 + 1.5 to
    # 96 + 127 + 1.5, and every cell's variance is (16 - 1) / 12
    assert re.search(
        r"^Online stats over 4 iterations: mean in \[1\.5, 224\.5\], variance in \[1\.25, 1\.25\] "
        r".*: PASS$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert (tmp_path / "online_stats.png").stat().st_size > 0
    assert not [n for n in dask_client.list_datasets() if str(n).startswith("online-stats/")]
    assert_no_workers_left(dask_client, simulation)
