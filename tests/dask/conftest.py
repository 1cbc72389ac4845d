"""A Dask scheduler of the test session's own (local, free port), and a client of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from damaris_ref.dask_bridge.local_scheduler import local_scheduler


@pytest.fixture(scope="session")
def scheduler_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The scheduler file of a scheduler that lives as long as the test session."""
    with local_scheduler(tmp_path_factory.mktemp("scheduler")) as path:
        yield path


@pytest.fixture(scope="session")
def dask_client(scheduler_file: Path) -> Iterator[Client]:
    """The tests' own client: to look at the scheduler's workers and keys."""
    with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
        yield client
