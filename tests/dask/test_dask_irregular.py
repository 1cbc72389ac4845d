"""Blocks of different sizes make a global array with irregular chunks (spec §4).

The generic mock writes equal blocks, so this rank main writes its own: the column bands are
``WIDTHS`` wide, each client owns one, and its two domains are ``HEIGHTS[0]`` and
``HEIGHTS[1]`` rows high, giving a 2 x 4 grid of blocks irregular along both axes, spread over
two servers. Where each server's clients own adjacent bands, its blocks tile a box and the
array has one chunk per server; where they do not, one chunk per block. It runs in-process
(every rank a thread), where the bridge works as under MPI.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Any

import dask
import dask.array
import distributed.client
import numpy as np
import pytest
from dask_support import JOB_TIMEOUT, OUT_ENV, SCRIPTS, assert_no_workers_left, unique_name

from damaris_ref.core.config.model import (
    Architecture,
    Config,
    Layout,
    Parameter,
    PyScript,
    Variable,
)
from damaris_ref.runtime.in_process import run_in_process

WIDTHS = (1, 4, 2, 3)
HEIGHTS = (2, 5)
ITERATIONS = 2
#: the band each client owns (clients 0 and 1 send to server 0, clients 2 and 3 to server 1)
#: and the chunks the global array then has
LAYOUTS = {
    "one-chunk-per-server": ((0, 1, 2, 3), [[sum(HEIGHTS)], [sum(WIDTHS[:2]), sum(WIDTHS[2:])]]),
    "one-chunk-per-block": ((0, 2, 1, 3), [list(HEIGHTS), list(WIDTHS)]),
}


def expected(iteration: int) -> np.ndarray:
    """The whole array at ``iteration``: its C-order index plus 1000 per iteration."""
    shape = (sum(HEIGHTS), sum(WIDTHS))
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1000.0 * iteration


def irregular_rank(damaris: Any, comm: Any, config: Config, bands: tuple[int, ...]) -> None:
    """One rank: as a client, write its band as two blocks of different heights."""
    damaris.initialize(config, comm)
    if damaris.start():
        band = bands[damaris.client_comm_get().Get_rank()]
        left = sum(WIDTHS[:band])
        damaris.parameter_set("w", WIDTHS[band])
        for iteration in range(ITERATIONS):
            whole = expected(iteration)
            for block, height in enumerate(HEIGHTS):
                top = sum(HEIGHTS[:block])
                damaris.parameter_set("h", height)
                damaris.set_block_position("field", block, (top, left))
                damaris.write_block(
                    "field", block, whole[top : top + height, left : left + WIDTHS[band]]
                )
            damaris.end_iteration()
        damaris.stop()
    damaris.finalize()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_blocks_of_different_sizes_give_irregular_chunks(
    layout: tuple[tuple[int, ...], list[list[int]]],
    scheduler_file: Path,
    dask_client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    bands, chunks = layout
    name = unique_name("irregular")
    config = Config(
        name,
        # 6 ranks as 2 emulated nodes of 2 clients and 1 dedicated core: 2 servers
        Architecture(domains=len(HEIGHTS), dedicated_cores=1, ranks_per_node=3),
        parameters=(Parameter("h", "int", 1), Parameter("w", "int", 1)),
        layouts=(Layout("band", "double", ("h", "w")),),
        variables=(Variable("field", "band", script="probe"),),
        pyscripts=(
            PyScript("probe", SCRIPTS / "dask_dump_global.py", scheduler_file=scheduler_file),
        ),
    )
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    # as in a fresh notebook: no default Dask client (this session's test client is hidden)
    monkeypatch.setattr(distributed.client, "_global_clients", weakref.WeakValueDictionary())
    hidden = distributed.client._current_client.set(None)
    try:
        with dask.config.set(scheduler=None):
            run_in_process(lambda d, c: irregular_rank(d, c, config, bands), 6, timeout=JOB_TIMEOUT)
            # the servers' Dask clients were the library's own: no default client is left
            # behind (a closed one would make the plain compute below hang)
            assert distributed.client._get_global_client() is None
            assert dask.config.get("scheduler", None) is None
            assert dask.array.ones(4, chunks=2).sum().compute() == 4
    finally:
        distributed.client._current_client.reset(hidden)
    errors = capfd.readouterr().err
    assert "raised:" not in errors, errors

    for iteration in range(ITERATIONS):
        got = np.load(tmp_path / f"field_I{iteration}.npy")
        np.testing.assert_array_equal(got, expected(iteration))
        summary = json.loads((tmp_path / f"field_I{iteration}.json").read_text())
        assert summary["chunks"] == chunks
        assert summary["sum"] == expected(iteration).sum()
    assert_no_workers_left(dask_client, name)
