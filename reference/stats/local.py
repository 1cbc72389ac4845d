"""Running statistics kept by one object, without a lock (spec §4, ``damaris_stats_nolock``).

``damaris4py.dask.damaris_stats_nolock.DaskStats`` is this class. It accumulates samples in
its own persisted state; ``save_on_dask`` publishes them under a name (the same datasets
:mod:`damaris_ref.stats.shared` uses, so the locked class can read them, and
``shared.DaskStats.merge`` can add them to statistics shared by many simulations).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from distributed import Client, futures_of

from damaris_ref.stats import chunked, published
from damaris_ref.stats.helpers import BlockHelpers


class DaskStats(BlockHelpers):
    """Statistics of samples shaped and chunked like ``array_of_shape``."""

    def __init__(self, array_of_shape: da.Array, *, compute_timeout: float | None = 300.0):
        self.count = 0
        self.state: da.Array | None = None
        self._shape = array_of_shape.shape
        self._chunks = array_of_shape.chunks
        self.compute_timeout = compute_timeout

    @property
    def mean(self) -> da.Array:
        """The running mean (zeros before the first sample, as upstream starts)."""
        if self.state is None:
            return da.zeros(self._shape, chunks=self._chunks)
        return chunked.mean(self.state)

    @property
    def M2(self) -> da.Array:
        """The running sum of squared deviations (zeros before the first sample)."""
        if self.state is None:
            return da.zeros(self._shape, chunks=self._chunks)
        return chunked.field(self.state, "m2")

    def update(self, newValue: da.Array, client: Client | None = None) -> None:
        """Add one sample; the new state is computed and kept on the workers.

        ``client`` defaults to the one ``newValue``'s data belongs to; without either, the
        state is persisted with Dask's current scheduler.
        """
        if self.state is None:
            state = chunked.of_sample(chunked.aligned(newValue, self._chunks))
        else:
            state = chunked.add(self.state, self.count, newValue)
        client = client or _client_of(newValue) or _client_of(self.state)
        if client is None:
            self.state = state.persist()
        else:
            self.state = published.persist(client, state, self.compute_timeout)
        self.count += 1

    def save_on_dask(self, client: Client, unique_name_str: str) -> None:
        """Publish the statistics under ``unique_name_str`` (replacing what was there)."""
        if self.state is None:
            raise ValueError("no sample yet: nothing to save")
        names = published.DatasetNames(unique_name_str)
        state = client.persist(self.state)
        published.publish(client, names, self.count, state, published.SCHEDULER_TIMEOUT)

    def retrieve_from_dask(self, client: Client, unique_name_str: str) -> None:
        """Take over the statistics published under ``unique_name_str``; KeyError if none."""
        names = published.DatasetNames(unique_name_str)
        now = published.read(client, names, published.SCHEDULER_TIMEOUT)
        if now is None:
            raise KeyError(f"Dataset not found: {unique_name_str}_count")
        self.count, self.state = now.count, now.state
        self._shape, self._chunks = now.state.shape, now.state.chunks

    def return_mean(self) -> da.Array:
        """The mean per element; NaN while there are fewer than two samples."""
        if self.count < 2 or self.state is None:
            return da.full(self._shape, np.nan, chunks=self._chunks)
        return _persisted(self.mean, self.state)

    def return_variance(self) -> da.Array:
        """The sample variance per element; NaN while there are fewer than two samples."""
        if self.count < 2 or self.state is None:
            return da.full(self._shape, np.nan, chunks=self._chunks)
        return _persisted(chunked.variance(self.state, self.count), self.state)

    def return_mean_var_tuple(self) -> tuple[da.Array, da.Array]:
        """``(return_mean(), return_variance())``."""
        return self.return_mean(), self.return_variance()

    @staticmethod
    def get_chunks(dask_array: da.Array) -> tuple[int, ...]:
        """A tuple of 1s, one per dimension of ``dask_array``."""
        return published.chunks_tuple(dask_array.ndim)


def _client_of(array: da.Array | None) -> Client | None:
    """The client whose futures hold ``array``'s data, if its data is on a cluster."""
    futures = [] if array is None else futures_of(array)
    return futures[0].client if futures else None


def _persisted(array: da.Array, data: da.Array) -> da.Array:
    """``array`` persisted by the client that holds ``data`` (Dask's current scheduler if none)."""
    client = _client_of(data)
    return array.persist() if client is None else client.persist(array)
