"""docs/dask.md "Analysis from outside": the arrays a run kept pin its kept workers until
``release_kept`` unpublishes them; then ``retire_workers`` stops the workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from dask_support import (
    FIELD,
    SCRIPTS,
    TWO_SERVERS,
    assert_no_workers_left,
    dask_config,
    run_generic,
    unique_name,
    worker_processes,
    workers_named,
    write_config,
)

from damaris_ref.dask_bridge import iteration_array, release_kept
from damaris_ref.mocks.generic import expected_global

from processes import wait_until


@pytest.mark.timeout(120)
def test_kept_arrays_hold_the_workers_until_released(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    name = unique_name("release")
    config = dask_config(
        name, SCRIPTS / "dask_keep.py", scheduler_file, *FIELD, TWO_SERVERS, keep_workers=True
    )
    out = tmp_path / "out"
    try:
        done = run_generic(4, write_config(config, tmp_path), 5, out)
        assert done.returncode == 0, done.stderr
        kept = sorted(workers_named(dask_client, f"{name}_"))
        assert len(kept) == 2
        cube = iteration_array(dask_client, "field", 4, simulation=name)
        expected = expected_global(np.dtype(np.int32), (8, 8), 4)
        np.testing.assert_array_equal(dask_client.compute(cube).result(timeout=60), expected)
        del cube
        assert dask_client.retire_workers(names=kept) == {}  # the kept arrays pin them
        assert sorted(workers_named(dask_client, f"{name}_")) == kept
        released = release_kept(dask_client, simulation=name)
        assert [n.rsplit("/", 1)[1] for n in released] == ["2", "3", "4"]
        assert all(n.startswith(f"damaris/{name}/") for n in released)
        assert release_kept(dask_client, simulation=name) == []
        assert sorted(w["name"] for w in dask_client.retire_workers(names=kept).values()) == kept
        exited = wait_until(lambda: not worker_processes(f"{name}_"), timeout=30)
        assert exited, f"retired workers still running: {worker_processes(f'{name}_')}"
    finally:
        for pid in worker_processes(f"{name}_"):  # only when the test failed above
            os.kill(pid, signal.SIGKILL)
    assert_no_workers_left(dask_client, name)
