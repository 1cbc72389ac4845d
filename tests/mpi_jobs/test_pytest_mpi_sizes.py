"""Runs the pytest-mpi tests of ``test_with_mpi.py`` under ``mpiexec`` for several world sizes,
so a plain ``pytest`` exercises them too."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

PER_RANK_TESTS = Path(__file__).with_name("test_with_mpi.py")
#: no colour: Open MPI gives ranks a terminal, and escape codes would split the summary words
PYTEST = (
    sys.executable,
    "-m",
    "pytest",
    "--with-mpi",
    "-q",
    "--color=no",
    "-p",
    "no:cacheprovider",
)


@pytest.mark.parametrize("ranks", [4, 6, 8])
def test_pytest_mpi_tests_pass_on_every_rank(ranks, run_mpi):
    repository = Path(__file__).parents[2]
    job = run_mpi(ranks, [*PYTEST, str(PER_RANK_TESTS)], timeout=120, cwd=repository)
    assert job.returncode == 0, job.describe()
    # every rank prints its own summary; none may have skipped or failed anything
    assert re.search(r"\b\d+ passed\b", job.stdout), job.describe()
    assert not re.search(r"\b\d+ (failed|skipped|errors?)\b", job.stdout), job.describe()
