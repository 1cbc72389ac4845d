"""The block helpers of both ``DaskStats`` classes (spec §4): upstream's reader reduces each
statistic to one number per chunk with them, so their shapes are what ``map_blocks`` needs."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

from damaris4py.dask import damaris_stats, damaris_stats_nolock

CLASSES = [damaris_stats.DaskStats, damaris_stats_nolock.DaskStats]


@pytest.mark.parametrize("cls", CLASSES)
def test_one_average_per_chunk_through_map_blocks(cls):
    values = np.arange(48.0).reshape(4, 3, 4)
    field = da.from_array(values, chunks=(2, 3, 2))
    chunks = cls.set_chunks(field.shape)
    assert chunks == (1, 1, 1)
    with dask.config.set(scheduler="synchronous"):
        averages = field.map_blocks(cls.compute_block_average, chunks=chunks).compute()
        roots = field.map_blocks(cls.compute_block_average_of_sqrt, chunks=chunks).compute()
    blocks = [[[values[2 * i : 2 * i + 2, :, 2 * k : 2 * k + 2] for k in (0, 1)]] for i in (0, 1)]
    np.testing.assert_allclose(averages, np.vectorize(np.mean, signature="(a,b,c)->()")(blocks))
    np.testing.assert_allclose(
        roots, np.vectorize(lambda b: np.sqrt(b).mean(), signature="(a,b,c)->()")(blocks)
    )


@pytest.mark.parametrize("cls", CLASSES)
def test_the_indexing_string_adds_one_none_per_extra_dimension(cls):
    assert cls.get_array_as_string(1) == "[: ]"
    assert cls.get_array_as_string(3) == "[: , None, None]"
    assert eval("np.array([7.0])" + cls.get_array_as_string(3)).shape == (1, 1, 1)


def test_noise_has_the_asked_mean_and_spread_and_differs_per_call():
    block = np.full((200, 200), 10.0)
    noisy = damaris_stats.DaskStats.compute_block_add_rand(block, mean=1.0, std=0.5)
    assert noisy.shape == block.shape
    assert abs((noisy - block).mean() - 1.0) < 0.01 and abs((noisy - block).std() - 0.5) < 0.01
    again = damaris_stats.DaskStats.compute_block_add_rand(block, mean=1.0, std=0.5)
    assert not np.array_equal(noisy, again)
