"""The seed's Dask command, run by the PDI port of its C program (``3dmesh_py_domains_pdi``)
beside the seed's own files, under mpiexec with a scheduler of the test's: PASS each time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dask_support import assert_no_workers_left, run_mpi
from test_dask_examples import EXAMPLES, assert_every_iteration_passes


@pytest.mark.timeout(90)
def test_the_seeds_dask_command_on_pdi_passes_every_iteration(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    for name in ("3dmesh_dask.yml", "3dmesh_dask.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    shutil.copy(scheduler_file, tmp_path / "dask_file.json")  # where the seed's file names it
    done = run_mpi(
        6,
        "3dmesh_py_domains_pdi",
        "3dmesh_dask.yml",
        "-i",
        "3",
        "-r",
        "-d",
        "4",
        "-s",
        "0",
        cwd=tmp_path,
    )
    assert_every_iteration_passes(done)
    assert "C++    iteration 2  Sum = 102400.000000" in done.stdout
    assert_no_workers_left(dask_client, "3dmesh_wf")
