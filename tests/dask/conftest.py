"""A Dask scheduler of the test session's own (local, free port), and a client of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.dask_bridge.workers import ServerWorker


@pytest.fixture(scope="session")
def scheduler_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The scheduler file of a scheduler that lives as long as the test session."""
    with local_scheduler(tmp_path_factory.mktemp("scheduler")) as path:
        yield path


@pytest.fixture(scope="session")
def dask_client(scheduler_file: Path) -> Iterator[Client]:
    """The tests' own client: to look at the scheduler's workers and keys (not the
    process's default one: a later test's plain ``compute()`` must not go there)."""
    with Client(scheduler_file=str(scheduler_file), timeout=30, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def stats_keeper(dask_client: Client) -> Iterator[ServerWorker]:
    """A worker of one test module, beside the session's scheduler, that outlives the
    simulations: where shared statistics live between their updates (as the worker started
    beside the scheduler by upstream's job scripts and by ``damaris-ref stats``)."""
    worker = ServerWorker.start(dask_client, f"stats-keeper-{uuid.uuid4().hex[:8]}", 2, keep=False)
    yield worker
    worker.stop()
