"""Who may write a shared-memory slot, and what a lease of it reads
(:mod:`damaris_ref.dask_bridge.segments`), without a scheduler.

The server's pool and the worker's side run here in one process: the "worker" maps each slot
through ``/proc/self/fd`` as a real worker does through the server's, and the pool's client
runs each task at once. A slot is written again only once every lease of its last call is
gone, and a lease of a call whose bytes were replaced since fails instead of reading them.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from damaris_ref.core.errors import DaskError
from damaris_ref.dask_bridge import segments, shared_files

pytestmark = pytest.mark.skipif(not shared_files.supported(), reason="needs memfd and /proc")

WORKER = "tcp://worker"


@dataclass
class DoneFuture:
    """A task that already ran here: its result, as a worker would hold it."""

    value: Any

    def exception(self, timeout: float | None = None) -> None:
        return None

    def release(self) -> None:
        self.value = None


class RunHere:
    """A client whose tasks run at once in this process, on "the worker"."""

    def submit(self, function, *args, key=None, **options) -> DoneFuture:
        return DoneFuture(function(*args))


def _wait_here(client: RunHere, futures: list[DoneFuture], timeout: float, what: str) -> None:
    """What waiting for tasks that already ran here comes to."""
    for future in futures:
        future.exception()


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(segments, "get_worker", lambda: SimpleNamespace(address=WORKER))
    monkeypatch.setattr(segments, "wait_done", _wait_here)
    pool = segments.SlotPool(RunHere(), WORKER, "damaris-test-slots")  # type: ignore[arg-type]
    yield pool
    pool.close()


def _worker_slot(pool: segments.SlotPool, key: str) -> segments.WorkerSlot:
    (slot,) = [s for s in pool._slots if s.key == key]
    return slot.worker_mapping.value


def test_a_box_lease_is_the_blocks_laid_out_as_their_box(pool) -> None:
    blocks = [np.full((2, 3), value, dtype=np.int32) for value in (1, 2)]
    starts = np.array([[0, 0], [2, 0]])
    written, offsets = pool.write(blocks, (starts, (4, 3)))
    assert offsets is None
    chunk = segments.box_lease(_worker_slot(pool, written.key), written.generation, (4, 3), "<i4")
    np.testing.assert_array_equal(chunk, np.concatenate(blocks))
    assert not chunk.flags.writeable


def test_a_slot_is_not_written_again_while_a_lease_of_it_lives(pool) -> None:
    block = np.arange(8.0)
    first, (offset,) = pool.write([block], None)
    lease = segments.lease(_worker_slot(pool, first.key), first.generation, first.nbytes)
    view = segments.block_view(lease, offset, block.shape, block.dtype.str)
    del lease  # the view keeps the call's bytes
    second, _ = pool.write([block + 100], None)
    assert second.key != first.key
    np.testing.assert_array_equal(view, block)
    del view
    gc.collect()
    third, _ = pool.write([block + 200], None)
    assert third.key == first.key  # free again once nothing reads it


def test_a_slot_written_and_not_yet_leased_is_not_written_again(pool) -> None:
    block = np.arange(8.0)
    first, _ = pool.write([block], None)
    second, _ = pool.write([block + 1], None)
    assert second.key != first.key


def test_a_lease_of_bytes_replaced_since_fails_instead_of_reading_them(pool) -> None:
    block = np.arange(8.0)
    first, _ = pool.write([block], None)
    worker_slot = _worker_slot(pool, first.key)
    segments.lease(worker_slot, first.generation, first.nbytes)  # taken, and gone at once
    gc.collect()
    again, _ = pool.write([block + 1], None)
    assert again.key == first.key
    with pytest.raises(DaskError, match=r"blocks of call 1 .* replaced by those of call 2"):
        segments.lease(worker_slot, first.generation, first.nbytes)
    # the slot's own call reads what was written last
    lease = segments.lease(worker_slot, again.generation, again.nbytes)
    np.testing.assert_array_equal(segments.block_view(lease, 0, (8,), "<f8"), block + 1)


def test_leases_of_one_call_share_its_bytes_and_free_them_once(pool) -> None:
    block = np.arange(8.0)
    first, _ = pool.write([block], None)
    worker_slot = _worker_slot(pool, first.key)
    as_lease = segments.lease(worker_slot, first.generation, first.nbytes)
    as_chunk = segments.box_lease(worker_slot, first.generation, (8,), "<f8")
    del as_lease
    gc.collect()
    second, _ = pool.write([block], None)
    assert second.key != first.key  # the chunk still reads the first call's bytes
    np.testing.assert_array_equal(as_chunk, block)


def test_a_forgotten_slot_is_never_written_again(pool) -> None:
    block = np.arange(8.0)
    first, _ = pool.write([block], None)
    pool.forget(first.key)
    second, _ = pool.write([block], None)
    assert second.key != first.key
