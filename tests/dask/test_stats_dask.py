"""``damaris4py.dask.damaris_stats`` and ``damaris_stats_nolock`` on a real scheduler (spec §4):
upstream's names and answers, NumPy's numbers, a flat graph, the lock, batches and merges,
and statistics that outlive the workers that computed them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
from dask_support import unique_name
from distributed import Client, Lock

from damaris4py.dask import damaris_stats, damaris_stats_nolock
from damaris_ref.dask_bridge.workers import ServerWorker

pytestmark = pytest.mark.timeout(120)
RTOL = 1e-9


@pytest.fixture
def client(scheduler_file: Path, stats_keeper: ServerWorker) -> Iterator[Client]:
    with Client(scheduler_file=str(scheduler_file), timeout=30, set_as_default=False) as client:
        yield client


@pytest.fixture
def stats() -> damaris_stats.DaskStats:
    """Statistics under a name and lock of this test's own."""
    return damaris_stats.DaskStats(unique_name("stats"), unique_name("lock"))


def samples(count: int, shape: tuple[int, ...] = (4, 6), seed: int = 0) -> list[np.ndarray]:
    """Fields near 1e8 that vary by about 1: where a naive variance has no digit left."""
    rng = np.random.default_rng(seed)
    return [1e8 + rng.normal(0, 1, shape) for _ in range(count)]


def on_cluster(client: Client, array: np.ndarray, chunks=(2, 3)) -> da.Array:
    """``array`` as a persisted dask.array, as a simulation hands its field over."""
    return client.persist(da.from_array(array, chunks=chunks))


def test_updates_count_every_sample_and_match_numpy(client, stats):
    fields = samples(5)
    counts = [stats.update(on_cluster(client, f), client) for f in fields]
    assert counts == [1, 2, 3, 4, 5]
    assert stats.return_count(client) == 5
    mean, variance = stats.return_mean_var_tuple(client)
    np.testing.assert_allclose(client.compute(mean, sync=True), np.mean(fields, 0), rtol=RTOL)
    np.testing.assert_allclose(
        client.compute(variance, sync=True), np.var(fields, 0, ddof=1), rtol=RTOL
    )
    summary = stats.summary(client)
    assert summary.count == 5 and summary.chunks == ((2, 2), (3, 3))
    np.testing.assert_allclose(summary.variance, np.var(fields, 0, ddof=1), rtol=RTOL)
    np.testing.assert_array_equal(summary.minimum, np.min(fields, 0))
    np.testing.assert_array_equal(summary.maximum, np.max(fields, 0))


def test_mean_and_variance_are_nan_until_there_are_two_samples(client, stats):
    assert stats.return_count(client) == 0
    assert np.isnan(client.compute(stats.return_mean(client), sync=True))
    assert stats.summary(client).count == 0 and stats.summary(client).mean is None
    first, second = samples(2)
    stats.update(on_cluster(client, first), client)
    mean, variance = (client.compute(a, sync=True) for a in stats.return_mean_var_tuple(client))
    assert mean.shape == variance.shape == (4, 6)
    assert np.isnan(mean).all() and np.isnan(variance).all()
    summary = stats.summary(client)  # plain NumPy: the mean exists from the first sample on
    np.testing.assert_array_equal(summary.mean, first)
    assert np.isnan(summary.variance).all()
    stats.update(on_cluster(client, second), client)
    mean = client.compute(stats.return_mean(client), sync=True)
    np.testing.assert_allclose(mean, (first + second) / 2, rtol=RTOL)


def test_upstream_dataset_names_are_published_and_get_chunks_needs_them(client, stats):
    name = stats.unique_name_str
    with pytest.raises(KeyError, match=f"{name}_chunks_tup"):
        stats.get_chunks(client)
    fields = samples(2, shape=(2, 3, 4))
    for field in fields:
        stats.update(on_cluster(client, field, chunks=(1, 3, 2)), client)
    published = set(client.list_datasets())
    assert {f"{name}_{suffix}" for suffix in ("count", "chunks_tup", "mean", "M2")} <= published
    assert stats.get_chunks(client) == (1, 1, 1)
    assert client.get_dataset(f"{name}_count") == 2
    mean = client.compute(client.get_dataset(f"{name}_mean"), sync=True)
    np.testing.assert_allclose(mean, np.mean(fields, 0), rtol=RTOL)
    m2 = client.compute(client.get_dataset(f"{name}_M2"), sync=True)
    np.testing.assert_allclose(m2, np.var(fields, 0, ddof=1), rtol=RTOL)  # M2 / (2 - 1)


def test_the_published_state_is_one_task_per_chunk_whatever_the_updates(client, stats):
    def published_tasks() -> tuple[int, int]:
        state = client.get_dataset(f"{stats.unique_name_str}_state")
        mean = client.get_dataset(f"{stats.unique_name_str}_mean")
        return len(state.__dask_graph__()), len(mean.__dask_graph__())

    fields = [on_cluster(client, f) for f in samples(8)]
    stats.update(fields[0], client)
    after_one = published_tasks()
    for field in fields[1:]:
        stats.update(field, client)
    assert published_tasks() == after_one
    assert after_one[0] == 4  # 2 x 2 chunks, persisted: nothing behind them


def test_a_held_lock_makes_update_time_out_and_change_nothing(client, stats):
    stats.update(on_cluster(client, samples(1)[0]), client)
    other = Lock(stats.lock_name_str, scheduler_rpc=client.scheduler, loop=client.loop)
    assert other.acquire(timeout=10)
    try:
        with pytest.raises(TimeoutError, match=f"lock '{stats.lock_name_str}' not acquired"):
            stats.update(on_cluster(client, samples(1, seed=1)[0]), client, lock_timeout=0.5)
        with pytest.raises(TimeoutError):
            stats.return_count(client, lock_timeout=0.2)
    finally:
        other.release()
    assert stats.return_count(client) == 1


def test_batches_and_merged_local_statistics_add_many_samples_in_one_step(client, stats):
    fields = samples(7)
    stats.update(on_cluster(client, fields[0]), client)
    batch = client.persist(da.from_array(np.stack(fields[1:4]), chunks=(1, 2, 2)))
    assert stats.update_batch(batch, client) == 4
    local = damaris_stats_nolock.DaskStats(da.zeros((4, 6), chunks=(2, 3)))
    for field in fields[4:]:
        local.update(on_cluster(client, field))
    assert local.count == 3
    assert stats.merge(local, client) == 7
    summary = stats.summary(client)
    np.testing.assert_allclose(summary.mean, np.mean(fields, 0), rtol=RTOL)
    np.testing.assert_allclose(summary.variance, np.var(fields, 0, ddof=1), rtol=RTOL)


def test_reset_forgets_every_sample(client, stats):
    for field in samples(3):
        stats.update(on_cluster(client, field), client)
    stats.reset(client)
    assert stats.return_count(client) == 0
    assert not [n for n in client.list_datasets() if str(n).startswith(stats.unique_name_str)]
    stats.update(on_cluster(client, samples(1)[0]), client)
    assert stats.return_count(client) == 1


def test_nolock_statistics_as_upstream_and_saved_for_others(client):
    shape = da.zeros((4, 6), chunks=(2, 3))
    local = damaris_stats_nolock.DaskStats(shape)
    assert local.count == 0 and client.compute(local.mean, sync=True).sum() == 0
    assert local.get_chunks(shape) == (1, 1)
    fields = samples(3)
    local.update(on_cluster(client, fields[0]))
    assert np.isnan(client.compute(local.return_mean(), sync=True)).all()
    for field in fields[1:]:
        local.update(on_cluster(client, field))
    mean, variance = (client.compute(a, sync=True) for a in local.return_mean_var_tuple())
    np.testing.assert_allclose(mean, np.mean(fields, 0), rtol=RTOL)
    np.testing.assert_allclose(variance, np.var(fields, 0, ddof=1), rtol=RTOL)
    name = unique_name("saved")
    local.save_on_dask(client, name)
    again = damaris_stats_nolock.DaskStats(shape)
    again.retrieve_from_dask(client, name)
    assert again.count == 3
    np.testing.assert_allclose(client.compute(again.M2, sync=True), variance * 2, rtol=RTOL)
    # the locked class reads what was saved under the same name
    shared = damaris_stats.DaskStats(name, unique_name("lock"))
    np.testing.assert_allclose(shared.summary(client).mean, mean, rtol=RTOL)
    with pytest.raises(KeyError, match="nothing_count"):
        again.retrieve_from_dask(client, "nothing")


def test_statistics_outlive_the_worker_that_computed_them(client, stats, dask_client):
    # a simulation's worker holds its blocks and computes the update on them; the blocks
    # cannot be recomputed, so the statistics survive its retirement only if they move
    worker = ServerWorker.start(dask_client, unique_name("stats-sim"), 1, keep=False)
    fields = samples(2)
    for field in fields:
        block = client.scatter(field, workers=[worker.address], direct=True)
        with dask.annotate(workers=[worker.address]):
            stats.update(da.from_delayed(dask.delayed(block), field.shape, field.dtype), client)
        del block
    state = client.get_dataset(f"{stats.unique_name_str}_state")
    assert {w for ws in client.who_has(state).values() for w in ws} == {worker.address}
    del state
    worker.stop()
    summary = stats.summary(client, lock_timeout=10)
    np.testing.assert_allclose(summary.variance, np.var(fields, 0, ddof=1), rtol=RTOL)


def test_a_field_of_another_shape_is_refused_and_changes_nothing(client, stats):
    stats.update(on_cluster(client, samples(1)[0]), client)
    with pytest.raises(ValueError, match=r"shape \(6, 4\) does not fit statistics of \(4, 6\)"):
        stats.update(on_cluster(client, samples(1, shape=(6, 4))[0], chunks=(3, 2)), client)
    assert stats.return_count(client) == 1
    stats.update(on_cluster(client, samples(1, seed=2)[0], chunks=(4, 6)), client)  # rechunked
    assert stats.summary(client).chunks == ((2, 2), (3, 3))
