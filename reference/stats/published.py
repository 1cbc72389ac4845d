"""Statistics shared through a Dask scheduler: dataset names, the lock, atomic publication.

Under a base name ``u`` the scheduler holds upstream's four datasets, ``u_count``,
``u_chunks_tup``, ``u_mean`` and ``u_M2`` (spec §4), and three of this implementation:
``u_min``, ``u_max`` and ``u_state``, the persisted record array everything else is a view of.
All seven are published by one ``publish_dataset`` call, which the scheduler applies in one
step: a reader sees the previous update or the new one, never a mix, even when the publisher
dies half way through.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import dask
import dask.array as da
from distributed import Client, Lock, futures_of, wait

from damaris_ref.stats import chunked


@dataclass(frozen=True)
class DatasetNames:
    """The scheduler's dataset names for the statistics called ``base``."""

    base: str

    @property
    def count(self) -> str:
        """Upstream's: the number of samples (an int)."""
        return f"{self.base}_count"

    @property
    def state(self) -> str:
        """This implementation's: the persisted record array."""
        return f"{self.base}_state"

    def all(self) -> tuple[str, ...]:
        """Every name this implementation publishes, upstream's four first."""
        suffixes = ("count", "chunks_tup", "mean", "M2", "min", "max", "state")
        return tuple(f"{self.base}_{suffix}" for suffix in suffixes)


@dataclass(frozen=True)
class Published:
    """What the scheduler holds: the sample count and the persisted state."""

    count: int
    state: da.Array


def chunks_tuple(ndim: int) -> tuple[int, ...]:
    """Upstream's ``chunks_tup``: one 1 per dimension, for ``map_blocks(..., chunks=...)``."""
    return (1,) * ndim


def read(client: Client, names: DatasetNames) -> Published | None:
    """The published statistics, or None when there are none (one scheduler round trip)."""
    count, state = client.get_dataset([names.count, names.state], default=None)
    if count is None:
        return None
    if state is None:
        raise ValueError(
            f"dataset {names.count!r} is published but {names.state!r} is not: these statistics "
            "were published by another implementation; reset them or use another name"
        )
    return Published(count, state)


def persist(client: Client, state: da.Array, timeout: float | None) -> da.Array:
    """``state`` computed on the workers and kept there; raises if any chunk failed.

    TimeoutError after ``timeout`` seconds: nothing is published then.
    """
    (persisted,) = client.persist([state])
    with client.as_current():  # wait() needs a client; this scopes ours to the call
        wait(persisted, timeout=timeout)
    for future in futures_of(persisted):
        if future.status != "finished":
            error = future.exception() if future.status == "error" else None
            raise RuntimeError(
                f"computing the statistics failed ({future.status}) on chunk {future.key}"
            ) from error
    return persisted


def publish(client: Client, names: DatasetNames, count: int, state: da.Array) -> None:
    """Publish ``count`` samples with their persisted ``state`` under every name, at once."""
    values = (
        count,
        chunks_tuple(state.ndim),
        chunked.mean(state),
        chunked.field(state, "m2"),
        chunked.field(state, "min"),
        chunked.field(state, "max"),
        state,
    )
    client.publish_dataset(override=True, **dict(zip(names.all(), values, strict=True)))


def unpublish(client: Client, names: DatasetNames) -> None:
    """Remove every dataset of these statistics (their data leaves the workers)."""
    published = set(client.list_datasets())
    for name in names.all():
        if name in published:
            client.unpublish_dataset(name)


#: one Lock object per client and name: each one keeps a lease-refreshing callback on its
#: client's event loop for as long as that client lives, so making one per update would pile
#: them up over a long run
_locks: weakref.WeakKeyDictionary[Client, dict[str, Lock]] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock(client: Client, name: str) -> Lock:
    with _locks_guard:
        by_name = _locks.setdefault(client, {})
        if name not in by_name:
            by_name[name] = Lock(name, scheduler_rpc=client.scheduler, loop=client.loop)
        return by_name[name]


@contextlib.contextmanager
def locked(client: Client, lock_name: str, timeout: float | None) -> Iterator[None]:
    """Hold the scheduler's lock ``lock_name`` for the ``with`` block.

    TimeoutError when it is not acquired within ``timeout`` seconds (None: wait for ever).
    """
    lock = _lock(client, lock_name)
    if not lock.acquire(timeout=timeout):
        lease = dask.config.get("distributed.scheduler.locks.lease-timeout")
        raise TimeoutError(
            f"damaris_stats: Dask lock {lock_name!r} not acquired within {timeout:g} s: another "
            "simulation holds it, or its holder died and the scheduler has not freed it yet "
            f"(a dead holder's lock is freed after the lease timeout, {lease})"
        )
    try:
        yield
    finally:
        lock.release()
