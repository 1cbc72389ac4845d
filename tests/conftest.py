"""Shared test settings: the Hypothesis profile ``HYPOTHESIS_PROFILE`` names (see
``profiles.py``), and a check that no test leaves global Dask state behind."""

import gc
from collections.abc import Iterator

import dask
import distributed
import pytest
from process_state import default_dask_client

import profiles

profiles.load()


@pytest.fixture(scope="module")
def frozen_heap() -> Iterator[None]:
    """Freeze what the test process holds for a module of many in-process runs, then thaw it.

    A server collects garbage after every script run (spec §3); with this process's heap
    frozen, those collections walk only what a run makes, not the test session's modules and
    Hypothesis's state, so an example costs its run and not a full walk of the process.
    """
    if gc.get_freeze_count():  # frozen by someone else, who thaws it
        yield
        return
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


#: Dask's scheduler setting as the session found it (Dask reads it from its config files)
_PRISTINE_DASK_SCHEDULER = dask.config.get("scheduler", None)


@pytest.fixture(autouse=True)
def no_global_dask_state_left() -> Iterator[None]:
    """Fail the test that leaves a default Dask client or a changed ``dask.config`` scheduler
    behind (the next test's plain ``compute()`` would go there and can hang), then put both
    back so that only that test fails."""
    yield
    left = []
    client = default_dask_client()
    if client is not None:
        left.append(f"a default Dask client ({client!r})")
        distributed.client._del_global_client(client)
        distributed.client._current_client.set(None)
    scheduler = dask.config.get("scheduler", None)
    if scheduler != _PRISTINE_DASK_SCHEDULER:
        left.append(f"dask.config's scheduler set to {scheduler!r}")
        dask.config.set(scheduler=_PRISTINE_DASK_SCHEDULER)
    if left:
        pytest.fail(f"the test left global Dask state behind: {'; '.join(left)}")
