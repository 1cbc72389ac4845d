"""A simulation killed while it holds the statistics' lock, in the middle of an update: the
others get a clear TimeoutError instead of waiting for ever, the statistics it was changing
stay as they were, and once the scheduler frees the dead holder's lock updates go on.

The scheduler of this module checks leases every 0.2 s and the holder registers the lock
with a 2 s lease, so the lock is freed within seconds rather than the default 30-40 s.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
from dask_support import unique_name
from distributed import Client, Lock

from damaris4py.dask.damaris_stats import DaskStats
from damaris_ref.dask_bridge.local_scheduler import local_scheduler
from damaris_ref.dask_bridge.workers import ServerWorker

from processes import start, wait_until

LEASE = "2s"

#: the dying simulation: an update whose new field takes long to compute, so it is killed
#: after it took the lock and before it could publish
HOLDER = """\
import sys, time
import dask
import dask.array as da
from distributed import Client
from damaris4py.dask.damaris_stats import DaskStats

def slowly(block):
    time.sleep(5)
    return block + 1000.0

client = Client(scheduler_file=sys.argv[1], timeout=30, set_as_default=False)
field = da.ones((4, 6), chunks=(2, 3)).map_blocks(slowly, dtype=float)
print("updating", flush=True)
DaskStats(sys.argv[2], sys.argv[3]).update(field, client, lock_timeout=30)
print("updated", flush=True)
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path]]:
    """A scheduler that frees a dead holder's lock quickly, with one worker; a client of it
    that registers locks with the short lease, and the scheduler file."""
    validation = "DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_VALIDATION_INTERVAL"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(validation, "200ms")  # read by the scheduler process at its start
        with local_scheduler(tmp_path_factory.mktemp("lease")) as scheduler_file:
            env.delenv(validation)
            with (
                dask.config.set({"distributed.scheduler.locks.lease-timeout": LEASE}),
                Client(scheduler_file=str(scheduler_file), timeout=30, set_as_default=False) as c,
            ):
                worker = ServerWorker.start(c, "lease-keeper", 2, keep=False)
                yield c, scheduler_file
                worker.stop()


def on_cluster(client: Client, value: float) -> da.Array:
    return client.persist(da.from_array(np.full((4, 6), value), chunks=(2, 3)))


@pytest.mark.timeout(120)
def test_a_dead_lock_holder_times_the_others_out_and_publishes_nothing(cluster):
    client, scheduler_file = cluster
    stats = DaskStats(unique_name("stats"), unique_name("lock"))
    for value in (1.0, 3.0):
        stats.update(on_cluster(client, value), client)
    name = stats.unique_name_str
    holder = start(
        [sys.executable, "-c", HOLDER, str(scheduler_file), name, stats.lock_name_str],
        env={"DASK_DISTRIBUTED__SCHEDULER__LOCKS__LEASE_TIMEOUT": LEASE},
    )
    lock = Lock(stats.lock_name_str, scheduler_rpc=client.scheduler, loop=client.loop)
    try:
        held = wait_until(lock.locked, timeout=30)  # then killed inside its 5 s computation
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        out, err = holder.communicate(timeout=10)
    assert held and out == "updating\n", err

    with pytest.raises(TimeoutError, match=f"lock '{stats.lock_name_str}' not acquired within"):
        stats.update(on_cluster(client, 1.0), client, lock_timeout=0.5)
    # nothing of the dead holder's update was published: still the two samples before it
    assert client.get_dataset(f"{name}_count") == 2
    mean = client.compute(client.get_dataset(f"{name}_mean"), sync=True)
    np.testing.assert_array_equal(mean, np.full((4, 6), 2.0))

    # the scheduler frees the dead holder's lease: the next update goes through, on top of
    # the statistics as they were
    assert stats.update(on_cluster(client, 5.0), client, lock_timeout=20) == 3
    summary = stats.summary(client)
    np.testing.assert_array_equal(summary.mean, np.full((4, 6), 3.0))
    np.testing.assert_allclose(summary.variance, 4.0, rtol=1e-12)
