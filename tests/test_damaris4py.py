"""The ``damaris4py.dask.damaris_dask`` accessors user scripts call on DamarisData (spec §4)."""

from __future__ import annotations

import numpy as np
import pytest

from damaris4py.dask import damaris_dask as dd
from damaris_ref.core import data
from damaris_ref.core.data import Block

MAGIC = "1700000000123"


@pytest.fixture
def damaris_data() -> dict:
    """Server 1 of a run holding blocks 0 and 1 of clients 2 and 3 of ``cube`` at iteration 7."""
    blocks = [
        Block(
            "cube",
            source,
            number,
            7,
            (source, 0),
            np.arange(6).reshape(2, 3) + 100 * source + 10 * number,
        )
        for source in (3, 2)
        for number in (1, 0)
    ]
    iteration = data.iteration_data(7, {"cube": blocks}, 1, MAGIC, {"cube": "_longint"})
    return data.damaris_data(
        {"simulation_magic_number": MAGIC},
        {"dask_scheduler_file": "/shared/scheduler.json"},
        iteration,
    )


def test_return_numpy_array_finds_a_block_by_client_and_block_number(damaris_data):
    np.testing.assert_array_equal(
        dd.return_numpy_array(damaris_data, "cube", 3, 1), [[310, 311, 312], [313, 314, 315]]
    )
    np.testing.assert_array_equal(
        dd.return_numpy_array(damaris_data, "cube", client_rank=2),
        [[200, 201, 202], [203, 204, 205]],
    )


@pytest.mark.parametrize(
    ("variable", "client", "block"),
    [("cube", 0, 0), ("cube", 2, 5), ("missing", 2, 0)],
    ids=["other client", "other block", "other variable"],
)
def test_return_numpy_array_is_none_when_absent(damaris_data, variable, client, block):
    assert dd.return_numpy_array(damaris_data, variable, client, block) is None


def test_return_scalar_from_position_reads_c_order_elements(damaris_data):
    assert dd.return_scalar_from_position(damaris_data, "cube", 4, 3, 1) == 314  # row 1, column 1
    assert dd.return_scalar_from_position(damaris_data, "cube", client_rank=2) == 200
    value = dd.return_scalar_from_position(damaris_data, "cube", 1, client_rank=3)
    assert value == 301 and type(value) is int  # a Python scalar, not a NumPy one
    assert dd.return_scalar_from_position(damaris_data, "cube", client_rank=9) is None


def test_return_iteration_magic_number_and_scheduler_file(damaris_data):
    assert dd.return_iteration(damaris_data) == 7
    assert dd.return_magic_number(damaris_data) == MAGIC
    assert dd.return_scheduler_filename(damaris_data) == "/shared/scheduler.json"


def test_return_scheduler_filename_is_empty_without_a_scheduler(damaris_data):
    damaris_data["dask_env"]["dask_scheduler_file"] = ""
    assert dd.return_scheduler_filename(damaris_data) == ""
