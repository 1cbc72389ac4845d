"""Retiring a server's worker while it still holds shared-memory slots (spec §5).

When a simulation stops, its servers retire their workers so that the scheduler moves data
only they hold (statistics other simulations still update) elsewhere. The server releases its
slots first, but the release and the retirement travel on different connections, so the
scheduler may start moving a slot's mapping with the rest. Moving it must not fail: Dask
fetches a worker's keys in batches, and one value that cannot be sent spoils its whole batch
on the receiving worker, whose tasks then wait for ever on data the scheduler believes is
there (seen as a hung statistics update of two simulations sharing one scheduler).
"""

from __future__ import annotations

import pickle
import uuid

import distributed
import numpy as np
import pytest

from damaris_ref.dask_bridge import segments
from damaris_ref.dask_bridge.workers import ServerWorker

#: seconds any wait on the scheduler may take here
TIMEOUT = 60


@pytest.mark.timeout(180)
def test_a_retired_worker_hands_over_its_data_while_it_still_holds_a_slot(dask_client):
    tag = uuid.uuid4().hex[:8]
    leaving = ServerWorker.start(dask_client, f"leaving-{tag}", 1, keep=False)
    staying = ServerWorker.start(dask_client, f"staying-{tag}", 1, keep=False)
    pool = segments.SlotPool(dask_client, leaving.address, f"damaris-retire-{tag}")
    try:
        block = np.arange(16.0).reshape(4, 4)
        written, (offset,) = pool.write([block], None)
        lease = dask_client.submit(
            segments.lease,
            distributed.Future(written.key, dask_client),
            written.generation,
            written.nbytes,
            workers=[leaving.address],
            pure=False,
        )
        view = dask_client.submit(
            segments.block_view, lease, offset, block.shape, block.dtype.str, pure=False
        )
        # data only the leaving worker holds, which a later task needs
        state = dask_client.submit(
            np.full, (3, 3), 2.0, workers=[leaving.address], allow_other_workers=False, pure=False
        )
        for future in (view, state):  # done; through their client, as no client is current
            assert future.exception(timeout=TIMEOUT) is None
        holders = dask_client.who_has([lease, view, state])
        assert set(holders.values()) == {(leaving.address,)}, holders

        leaving.stop()  # retires it while its slot's mapping and the lease are still held

        sums = [dask_client.submit(np.sum, part, pure=False) for part in (state, view)]
        assert [part.result(timeout=TIMEOUT) for part in sums] == [18.0, block.sum()]
    finally:
        pool.close()
        leaving.stop()
        staying.stop()


def test_a_lease_of_a_slot_moved_off_its_worker_raises_slot_lost():
    moved = pickle.loads(pickle.dumps(segments.LostSlot(1234, "tcp://127.0.0.1:1")))
    lost = r"server process 1234 were on their worker tcp://127\.0\.0\.1:1, which has left"
    with pytest.raises(segments.SlotLost, match=lost):
        segments.lease(moved, 1, 8)
