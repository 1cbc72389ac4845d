"""Statistics shared through a Dask scheduler: dataset names, the lock, atomic publication.

Under a base name ``u`` the scheduler holds upstream's four datasets, ``u_count``,
``u_chunks_tup``, ``u_mean`` and ``u_M2`` (spec §4), and three of this implementation:
``u_min``, ``u_max`` and ``u_state``, the persisted record array everything else is a view of.
All seven are published by one ``publish_dataset`` call, which the scheduler applies in one
step: a reader sees the previous update or the new one, never a mix, even when the publisher
dies half way through.

Every call to the scheduler here is bounded (the caller's timeout): a scheduler too busy to
answer, or gone, gives a ``TimeoutError`` that says what went unanswered, never a wait with
no end. A read also checks that a worker still holds every chunk of the published state: when
none does, the statistics were lost and :class:`StatisticsLost` says so, where gathering them
would wait for ever for a worker that will not come.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import dask
import dask.array as da
from dask.typing import Key
from distributed import Client, Lock, futures_of, wait

from damaris_ref.core.errors import DaskError
from damaris_ref.stats import chunked

logger = logging.getLogger(__name__)

#: seconds the scheduler gets to answer each call of an update or read (a lock request gets
#: this beyond its own timeout)
SCHEDULER_TIMEOUT = 30.0


class StatisticsLost(DaskError):
    """The published statistics are held by no worker any more: nothing can read them.

    A class of its own because a script catches it to reset the statistics
    (``damaris4py.dask.damaris_stats`` exports it for that)."""


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


@contextlib.contextmanager
def answered(what: str, timeout: float | None) -> Iterator[None]:
    """Turn a scheduler call's timeout into a ``TimeoutError`` that says what went unanswered."""
    try:
        yield
    except TimeoutError as error:
        within = "" if timeout is None else f" within {timeout:g} s"
        raise TimeoutError(
            f"damaris_stats: the Dask scheduler did not answer {what}{within} "
            "(it is overloaded, or gone)"
        ) from error


def read(client: Client, names: DatasetNames, timeout: float | None) -> Published | None:
    """The published statistics, or None when there are none (two scheduler round trips).

    StatisticsLost when no worker holds some chunk of them any more.
    """
    with answered("a read of the statistics", timeout):
        count, state = client.get_dataset(
            [names.count, names.state], default=None, callback_timeout=timeout
        )
    if count is None:
        return None
    if state is None:
        raise ValueError(
            f"dataset {names.count!r} is published but {names.state!r} is not: these statistics "
            "were published by another implementation; reset them or use another name"
        )
    check_held(client, names.base, count, state, timeout)
    return Published(count, state)


def check_held(
    client: Client, base: str, count: int, state: da.Array, timeout: float | None
) -> None:
    """StatisticsLost unless a worker holds every chunk of the published ``state``."""
    keys = [future.key for future in futures_of(state)]
    scheduler = client.scheduler
    if scheduler is None:
        raise DaskError("damaris_stats: the client is connected to no scheduler")
    with answered("where the statistics are", timeout):
        holders = client.sync(scheduler.who_has, keys=keys, callback_timeout=timeout)
    lost = len(keys) - sum(1 for workers in holders.values() if workers)
    if lost:
        raise StatisticsLost(
            f"damaris_stats: the statistics {base!r} ({count} samples) were lost: {lost} of "
            f"their {len(keys)} chunks are on no Dask worker. Their workers left with the "
            "simulations and no other worker was there to take them: no worker outlived the "
            "simulations. Start one beside the scheduler before the simulations (`dask worker "
            "--scheduler-file FILE`, see docs/stats.md), then reset these statistics (or "
            "restart the scheduler) and run the simulations again"
        )


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
            raise DaskError(
                f"computing the statistics failed ({future.status}) on chunk {future.key}"
            ) from error
    return persisted


def publish(
    client: Client, names: DatasetNames, count: int, state: da.Array, timeout: float | None
) -> None:
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
    datasets: dict[Key, object] = dict(zip(names.all(), values, strict=True))
    with answered("the publication of the statistics", timeout):
        client.publish_dataset(datasets, override=True, callback_timeout=timeout)


def unpublish(client: Client, names: DatasetNames, timeout: float | None) -> None:
    """Remove every dataset of these statistics (their data leaves the workers)."""
    with answered("the removal of the statistics", timeout):
        published = set(client.list_datasets(callback_timeout=timeout))
        for name in names.all():
            if name in published:
                client.unpublish_dataset(name, callback_timeout=timeout)


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
def locked(
    client: Client, lock_name: str, timeout: float | None, answer_timeout: float | None
) -> Iterator[None]:
    """Hold the scheduler's lock ``lock_name`` for the ``with`` block.

    TimeoutError when it is not acquired within ``timeout`` seconds (None: wait for ever), or
    when the scheduler does not answer the request within ``answer_timeout`` s more.
    """
    lock = _lock(client, lock_name)
    lease = dask.config.get("distributed.scheduler.locks.lease-timeout")
    # Lock.acquire and Lock.release wait for the scheduler's answer with no bound of their
    # own; their coroutines are run here with one. A request abandoned this way holds no
    # lease this client refreshes: the scheduler frees anything it granted after the lease.
    bound = None if timeout is None or answer_timeout is None else timeout + answer_timeout
    with answered(f"the request for lock {lock_name!r}", bound):
        acquired = client.sync(lock._acquire, timeout=timeout, callback_timeout=bound)
    if not acquired:
        raise TimeoutError(
            f"damaris_stats: Dask lock {lock_name!r} not acquired within {timeout:g} s: another "
            "simulation holds it, or its holder died and the scheduler has not freed it yet "
            f"(a dead holder's lock is freed after the lease timeout, {lease})"
        )
    try:
        yield
    finally:
        lease_id = lock._leases.popleft()  # what Lock.release does first: no more refreshes
        try:
            client.sync(lock._release, lease_id=lease_id, callback_timeout=answer_timeout)
        except TimeoutError:  # what was done under the lock stands; the lease runs out
            logger.warning(
                "damaris_stats: the Dask scheduler did not answer the release of lock %r "
                "within %g s; it frees the lock after the lease timeout (%s)",
                lock_name,
                answer_timeout,
                lease,
            )
