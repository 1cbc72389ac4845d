"""The seed's own command lines, with the seed's own files (PDI plugin grammar), unchanged.

Run from a copy of ``examples/`` as the seed's README runs them from its example folder.
The seed's ``3dmesh_py.yml`` names ``scheduler_file: dask_file.json`` although example 1
uses no Dask: with no such file, server 0 warns once and the run goes on.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_COMMAND = ["3dmesh_py.yml", "-i", "3", "-v", "2", "-r", "-s", "0"]
TOTAL = re.compile(r"^C\+\+    iteration  (\d+) , Sum \(\) = (\d+)$", re.M)
SERVER_SUM = re.compile(r"^Python iteration  (\d+) , Sum\(\) =  (\d+)$", re.M)
NO_SCHEDULER = "warning: scheduler file"


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    """The seed's four files, copied as shipped (no scheduler file beside them)."""
    for name in ("3dmesh_py.yml", "3dmesh_py.py", "3dmesh_dask.yml", "3dmesh_dask.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path


def sums(pattern: re.Pattern[str], output: str) -> dict[int, list[int]]:
    """``{iteration: sorted sums}`` of the lines ``pattern`` matches."""
    found: dict[int, list[int]] = {}
    for iteration, value in pattern.findall(output):
        found.setdefault(int(iteration), []).append(int(value))
    return {i: sorted(v) for i, v in found.items()}


def test_the_seed_command_prints_the_seed_sums(seed_folder, run_mpi, console_script):
    job = run_mpi(5, [console_script("3dmesh_py"), *SEED_COMMAND], cwd=seed_folder)
    assert job.returncode == 0, job.describe()
    expected = {0: [98304], 1: [98816], 2: [99328]}
    assert sums(TOTAL, job.stdout) == expected, job.describe()
    assert sums(SERVER_SUM, job.stdout) == expected, job.describe()
    assert job.stderr.count(NO_SCHEDULER) == 1, job.describe()


def test_two_dedicated_cores_split_the_python_sums(seed_folder, run_mpi, console_script):
    config = seed_folder / "3dmesh_py.yml"
    config.write_text(config.read_text().replace("core: 1", "core: 2", 1))
    job = run_mpi(6, [console_script("3dmesh_py"), *SEED_COMMAND], cwd=seed_folder)
    assert job.returncode == 0, job.describe()
    assert sums(SERVER_SUM, job.stdout) == {
        0: [16384, 81920],
        1: [16640, 82176],
        2: [16896, 82432],
    }, job.describe()


def test_damaris_ref_run_takes_the_seed_file(seed_folder, run_command, console_script):
    command = [console_script("damaris-ref"), "run", "-n", "5", "3dmesh_py", *SEED_COMMAND]
    job = run_command(command, cwd=seed_folder)
    assert job.returncode == 0, job.describe()
    assert sums(SERVER_SUM, job.stdout) == {0: [98304], 1: [98816], 2: [99328]}, job.describe()
