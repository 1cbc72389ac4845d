"""Shared test settings: hypothesis profiles (``--hypothesis-profile=ci`` runs more examples),
and a check that no test leaves global Dask state behind."""

import os
from collections.abc import Iterator

import dask
import distributed
import pytest
from hypothesis import HealthCheck, settings
from process_state import default_dask_client

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=40, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
