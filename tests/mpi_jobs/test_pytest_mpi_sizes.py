"""Runs the pytest-mpi tests of ``test_with_mpi.py`` under ``mpiexec`` for several world sizes,
so a plain ``pytest`` exercises them too."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

PER_RANK_TESTS = Path(__file__).with_name("test_with_mpi.py")


@pytest.mark.parametrize("ranks", [4, 6, 8])
def test_pytest_mpi_tests_pass_on_every_rank(ranks, run_mpi):
    command = [sys.executable, "-m", "pytest", "--with-mpi", "-q", "-p", "no:cacheprovider"]
    job = run_mpi(
        ranks, [*command, str(PER_RANK_TESTS)], timeout=120, cwd=Path(__file__).parents[2]
    )
    assert job.returncode == 0, job.describe()
    # every rank prints its own summary; none may have skipped or failed anything
    assert re.search(r"\b\d+ passed\b", job.stdout), job.describe()
    assert not re.search(r"\b\d+ (failed|skipped|errors?)\b", job.stdout), job.describe()
