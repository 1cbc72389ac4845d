"""Shared pieces of the MPI tests: launching real jobs, seed configs and recorded script runs.

Every job goes through the project's launcher (``find_mpiexec`` / ``build_command``), so the
same tests run under MPICH and Open MPI, and every job has a timeout after which its whole
process tree is killed. ``test_with_mpi.py`` holds pytest-mpi tests that only make sense on
each rank of an ``mpiexec`` run; a plain ``pytest`` leaves it to ``test_pytest_mpi_sizes.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from damaris_ref.conformance.record import RunRecord, load_records

import processes
from processes import Job

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RECORD_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mpi_record.py"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Collect the per-rank tests only in a ``--with-mpi`` run (they are run that way by
    ``test_pytest_mpi_sizes.py``); elsewhere they would only show up as skips."""
    if collection_path.name == "test_with_mpi.py" and not config.getoption("with_mpi", False):
        return True
    return None


@pytest.fixture
def console_script() -> Callable[[str], str]:
    """``console_script("3dmesh_py")``: the path of a console script installed beside this
    Python, the way a user's venv has it."""

    def path(name: str) -> str:
        found = Path(sys.executable).parent / name
        assert found.is_file(), f"{name} is not installed beside {sys.executable}"
        return str(found)

    return path


@pytest.fixture
def start_process() -> Callable[..., subprocess.Popen]:
    """``start_process(command, env=None)``: a running process in a session of its own."""
    return processes.start


@pytest.fixture
def run_mpi() -> Callable[..., Job]:
    """``run_mpi(n, command, env=None, timeout=JOB_TIMEOUT, cwd=None) -> Job`` under mpiexec."""
    return processes.run_mpi


@pytest.fixture
def run_command() -> Callable[..., Job]:
    """``run_command(command, env=None, timeout=JOB_TIMEOUT, cwd=None) -> Job``, no mpiexec
    added."""
    return processes.run_command


@pytest.fixture
def seed_config(tmp_path: Path) -> Callable[..., Path]:
    """``seed_config(cores=1, **parameters, domains=1, buffer_size=None)``: the example
    ``3dmesh_py_compact.yml`` with those changes, written beside a copy of its script (the way a
    user runs the seed example); returns the config path."""

    def write(
        cores: int = 1,
        domains: int = 1,
        buffer_size: int | None = None,
        name: str = "3dmesh_py.yml",
        **parameters: int,
    ) -> Path:
        document = yaml.safe_load((EXAMPLES / "3dmesh_py_compact.yml").read_text())
        section = document["damaris"]
        section["architecture"]["dedicated"]["core"] = cores
        section["architecture"]["domains"] = domains
        if domains > 1:  # as upstream's domains example: a "blocks" parameter splits WIDTH
            section["parameters"]["blocks"] = {"type": "int", "value": 1}
            for layout in section["layouts"].values():
                layout["dimensions"] = "DEPTH/size,HEIGHT,WIDTH/blocks"
        if buffer_size is not None:
            section["architecture"]["buffer"]["size"] = buffer_size
        for key, value in parameters.items():
            section["parameters"][key]["value"] = value
        script = tmp_path / "3dmesh_py_short.py"
        if not script.exists():
            script.write_text((EXAMPLES / "3dmesh_py_short.py").read_text())
        path = tmp_path / name
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    return write


@dataclass(frozen=True)
class Recording:
    """A folder tests/scripts/mpi_record.py dumps run records into, and how to read them."""

    folder: Path
    script: Path = RECORD_SCRIPT

    def env(self, sleep: float = 0.0, fail_at: tuple[int, int] | None = None) -> dict[str, str]:
        """Variables for the job: where to dump, how long to sleep, where to fail."""
        env = {"DAMARIS_TEST_RECORD_DIR": str(self.folder), "DAMARIS_TEST_SLEEP": str(sleep)}
        if fail_at is not None:
            env["DAMARIS_TEST_FAIL_AT"] = f"{fail_at[0]}:{fail_at[1]}"
        return env

    def load(self) -> dict[tuple[int, int], RunRecord]:
        """Every recorded run, by (server, iteration); any unreadable record fails the test."""
        records, problems = load_records(self.folder)
        assert not problems, problems
        return {(r.server, r.iteration): r for r in records}


@pytest.fixture
def recording(tmp_path: Path) -> Recording:
    """An empty folder for tests/scripts/mpi_record.py to dump into."""
    folder = tmp_path / "records"
    folder.mkdir()
    return Recording(folder)
