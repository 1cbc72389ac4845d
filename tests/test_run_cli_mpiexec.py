"""``damaris-ref run`` names the mpiexec it used when the job fails, so that a system
launcher picked up instead of the one beside this Python is seen at once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from damaris_ref.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def fake_mpiexec(tmp_path: Path, monkeypatch):
    """An mpiexec that says it is MPICH's and exits with the status a test writes to a file."""

    def make(status: int) -> Path:
        path = tmp_path / "bin" / "mpiexec"
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            '#!/bin/sh\nif [ "$1" = --version ]; then echo "HYDRA build details:"; exit 0; fi\n'
            f"exit {status}\n"
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("DAMARIS_MPIEXEC", str(path))
        return path

    return make


def _run() -> int:
    return main(["run", "-n", "2", "3dmesh_py", str(EXAMPLES / "3dmesh_py.yml"), "-i", "1"])


def test_a_failed_job_names_the_mpiexec_it_ran_under(fake_mpiexec, capsys):
    mpiexec = fake_mpiexec(3)
    assert _run() == 3
    assert capsys.readouterr().err == (
        f"damaris-ref run: the MPI job failed (exit status 3) under {mpiexec} (MPICH); "
        "DAMARIS_MPIEXEC chooses another\n"
    )


def test_a_job_that_succeeds_says_nothing_about_it(fake_mpiexec, capsys):
    fake_mpiexec(0)
    assert _run() == 0
    assert capsys.readouterr().err == ""
