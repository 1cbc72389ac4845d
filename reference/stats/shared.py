"""Running statistics shared by any number of simulations through one Dask scheduler (spec §4).

``damaris4py.dask.damaris_stats.DaskStats`` is this class. Like upstream's, it keeps the
count, mean and M2 of every element of a ``dask.array`` under known dataset names, and every
update holds the scheduler lock of a known name, so simulations that run at the same time
against one scheduler all add to the same statistics. Unlike upstream's:

- the new state is persisted on the workers before it is published, so its graph is one task
  per chunk and the 500th update costs what the first does (upstream publishes an ever longer
  lazy expression, recomputed from every past sample at each read);
- the update is published in one step, only once it has been computed: a simulation that dies
  while holding the lock leaves the previous statistics intact;
- failing to get the lock raises a clear ``TimeoutError``, and nothing else is touched;
- every wait is bounded: a scheduler that stops answering gives a ``TimeoutError``;
- statistics whose data no worker holds any more (their workers left, none stayed) raise
  ``StatisticsLost`` at every read and update, where a read would otherwise wait for ever;
- ``update_batch`` and ``merge`` add many samples in one locked step (Chan et al.);
- ``reset`` and ``summary`` (plain NumPy) are added, and min/max are kept.

The statistics' workers must outlive the simulations that fed them (a worker that leaves is
retired, and its data moves to the others): run one worker beside the scheduler, as upstream's
job scripts and ``damaris-ref stats`` do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import dask.array as da
import numpy as np
from distributed import Client

from damaris_ref.stats import chunked, published
from damaris_ref.stats.helpers import BlockHelpers
from damaris_ref.stats.local import DaskStats as LocalStats
from damaris_ref.stats.moments import Moments
from damaris_ref.stats.published import SCHEDULER_TIMEOUT, StatisticsLost

__all__ = [
    "COMPUTE_TIMEOUT",
    "LOCK_TIMEOUT",
    "SCHEDULER_TIMEOUT",
    "DaskStats",
    "StatisticsLost",
    "Summary",
]

#: seconds a call waits for the statistics' lock by default: upstream's signature, which
#: simulations written for upstream call without the argument (spec §4)
LOCK_TIMEOUT = 60.0
#: seconds an update may spend computing the new statistics, once it holds the lock
COMPUTE_TIMEOUT = 300.0


@dataclass(frozen=True, eq=False)
class Summary:
    """The statistics as plain NumPy arrays (None while nothing has been published).

    Unlike ``return_mean``, whose upstream contract is NaN until there are two samples, the
    mean here is defined from the first sample; the variance is NaN until the second.
    """

    count: int
    mean: np.ndarray | None
    variance: np.ndarray | None
    minimum: np.ndarray | None
    maximum: np.ndarray | None
    chunks: tuple[tuple[int, ...], ...] | None

    def published(self) -> tuple[np.ndarray, np.ndarray, tuple[tuple[int, ...], ...]]:
        """``(mean, variance, chunks)``, for a report or plot; ValueError if none was published."""
        if self.mean is None or self.variance is None or self.chunks is None:
            raise ValueError("no statistics were published: nothing to report")
        return self.mean, self.variance, self.chunks


class DaskStats(BlockHelpers):
    """Statistics named ``unique_name_str``, updated under the Dask lock ``lock_name_str``.

    Every method that takes ``lock_timeout`` raises ``TimeoutError`` when the lock is not
    acquired within that many seconds, or when the scheduler leaves a call unanswered for
    ``scheduler_timeout`` seconds; and ``StatisticsLost`` when no worker holds the statistics.
    """

    def __init__(
        self,
        unique_name_str: str,
        lock_name_str: str,
        *,
        compute_timeout: float | None = COMPUTE_TIMEOUT,
        scheduler_timeout: float | None = SCHEDULER_TIMEOUT,
    ):
        self.unique_name_str = unique_name_str
        self.lock_name_str = lock_name_str
        self.compute_timeout = compute_timeout
        self.scheduler_timeout = scheduler_timeout
        self._names = published.DatasetNames(unique_name_str)

    def update(self, newValue: da.Array, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> int:
        """Add ``newValue`` as one more sample of every element; return the new count."""
        return self._combine(
            client,
            lock_timeout,
            lambda: (1, chunked.of_sample(newValue)),
            lambda now: (now.count + 1, chunked.add(now.state, now.count, newValue)),
        )

    def update_batch(
        self, samples: da.Array, client: Client, lock_timeout: float = LOCK_TIMEOUT
    ) -> int:
        """Add every sample of ``samples`` (stacked along axis 0) in one locked step."""
        batch = chunked.of_batch(samples)
        return self._merge_state(client, lock_timeout, len(samples), batch)

    def merge(self, other: LocalStats, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> int:
        """Add the samples a ``damaris_stats_nolock.DaskStats`` gathered, in one locked step."""
        if other.count == 0 or other.state is None:
            return self.return_count(client, lock_timeout)
        return self._merge_state(client, lock_timeout, other.count, other.state)

    def _merge_state(self, client: Client, lock_timeout: float, count: int, state: da.Array) -> int:
        return self._combine(
            client,
            lock_timeout,
            lambda: (count, state),
            lambda now: (now.count + count, chunked.merge(now.state, now.count, state, count)),
        )

    def _combine(
        self,
        client: Client,
        lock_timeout: float,
        first: Callable[[], tuple[int, da.Array]],
        then: Callable[[published.Published], tuple[int, da.Array]],
    ) -> int:
        """Under the lock: the new (count, state) from ``first()`` when nothing is published,
        else from ``then(published)``; persisted, then published in one step."""
        with self._locked(client, lock_timeout):
            now = published.read(client, self._names, self.scheduler_timeout)
            count, state = first() if now is None else then(now)
            state = published.persist(client, state, self.compute_timeout)
            published.publish(client, self._names, count, state, self.scheduler_timeout)
        return count

    def _locked(self, client: Client, lock_timeout: float) -> contextlib.AbstractContextManager:
        return published.locked(client, self.lock_name_str, lock_timeout, self.scheduler_timeout)

    def _read(self, client: Client, lock_timeout: float) -> published.Published | None:
        with self._locked(client, lock_timeout):
            return published.read(client, self._names, self.scheduler_timeout)

    def return_count(self, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> int:
        """The number of samples so far; 0 when nothing has been published."""
        now = self._read(client, lock_timeout)
        return 0 if now is None else now.count

    def return_mean(self, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> da.Array:
        """The mean per element, persisted; NaN while there are fewer than two samples."""
        return self._mean(client, self._read(client, lock_timeout))

    def return_variance(self, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> da.Array:
        """The sample variance per element, persisted; NaN while fewer than two samples."""
        return self._variance(client, self._read(client, lock_timeout))

    def return_mean_var_tuple(
        self, client: Client, lock_timeout: float = LOCK_TIMEOUT
    ) -> tuple[da.Array, da.Array]:
        """``(mean, variance)`` of the same update (one locked read)."""
        now = self._read(client, lock_timeout)
        return self._mean(client, now), self._variance(client, now)

    @staticmethod
    def _mean(client: Client, now: published.Published | None) -> da.Array:
        if now is None or now.count < 2:
            return _nan_like(now)
        return client.persist(chunked.mean(now.state))

    @staticmethod
    def _variance(client: Client, now: published.Published | None) -> da.Array:
        if now is None or now.count < 2:
            return _nan_like(now)
        return client.persist(chunked.variance(now.state, now.count))

    def get_chunks(self, client: Client) -> tuple[int, ...]:
        """The published ``chunks_tup`` (1s, one per dimension); KeyError if not published.

        Like every read, StatisticsLost when no worker holds the statistics any more.
        """
        now = published.read(client, self._names, self.scheduler_timeout)
        if now is None:
            raise KeyError(f"Dataset not found: {self.unique_name_str}_chunks_tup")
        return published.chunks_tuple(now.state.ndim)

    def reset(self, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> None:
        """Forget every sample: the statistics start again from the next update."""
        with self._locked(client, lock_timeout):
            published.unpublish(client, self._names, self.scheduler_timeout)

    def summary(self, client: Client, lock_timeout: float = LOCK_TIMEOUT) -> Summary:
        """Count, mean, variance, min and max as NumPy arrays, all of the same update."""
        now = self._read(client, lock_timeout)
        if now is None:
            return Summary(0, None, None, None, None, None)
        record = client.compute(now.state).result(timeout=self.compute_timeout)
        moments = Moments.from_record(now.count, record)
        return Summary(
            now.count,
            moments.mean,
            moments.variance,
            moments.minimum,
            moments.maximum,
            now.state.chunks,
        )


def _nan_like(now: published.Published | None) -> da.Array:
    """Upstream's answer before two samples: NaN of the statistics' shape (0-d if none)."""
    if now is None:
        return da.full((), np.nan)
    return da.full(now.state.shape, np.nan, chunks=now.state.chunks)
