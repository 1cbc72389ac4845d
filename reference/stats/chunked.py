"""The statistics as one Dask array of :data:`~damaris_ref.stats.moments.RECORD_DTYPE` records.

Every chunk of the *state* array holds the shift, offset mean, M2, min and max of the
elements of one chunk of the samples, and every operation here is one ``map_blocks`` layer
that applies :class:`~damaris_ref.stats.moments.Moments` to a chunk. Once persisted, a state
has a graph of one task per chunk, whatever the number of samples behind it: that is what
keeps the cost of an update flat.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from numpy.typing import ArrayLike

from damaris_ref.stats.moments import RECORD_DTYPE, Moments, refuse_complex


def _record_of_sample(block: np.ndarray) -> np.ndarray:
    return Moments.of_sample(block).to_record()


def _record_of_batch(block: np.ndarray) -> np.ndarray:
    return Moments.of_samples(block).to_record()


def _record_plus_sample(record: np.ndarray, block: np.ndarray, count: int) -> np.ndarray:
    return Moments.from_record(count, record).add(block).to_record()


def _records_merged(
    record: np.ndarray, other: np.ndarray, count: int, other_count: int
) -> np.ndarray:
    return (
        Moments.from_record(count, record)
        .merge(Moments.from_record(other_count, other))
        .to_record()
    )


def _mean_of_record(record: np.ndarray) -> np.ndarray:
    return record["shift"] + record["mean"]


def _real(samples: ArrayLike) -> da.Array:
    """``samples`` as a Dask array, refused at once (before any task runs) when complex."""
    array = da.asarray(samples)
    refuse_complex(array.dtype)
    return array


def aligned(samples: ArrayLike, chunks: tuple[tuple[int, ...], ...]) -> da.Array:
    """``samples`` as a Dask array cut like the state (a NumPy array becomes one)."""
    array = _real(samples)
    shape = tuple(sum(c) for c in chunks)
    if array.shape != shape:
        raise ValueError(f"a sample of shape {array.shape} does not fit statistics of {shape}")
    return array if array.chunks == chunks else array.rechunk(chunks)


def of_sample(sample: ArrayLike) -> da.Array:
    """The state of one sample, cut like the sample."""
    return da.map_blocks(_record_of_sample, _real(sample), dtype=RECORD_DTYPE)


def of_batch(samples: ArrayLike) -> da.Array:
    """The state of a batch stacked along axis 0, cut like one sample of it."""
    array = _real(samples)
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"a batch needs at least one sample along axis 0, got {array.shape}")
    whole = array.rechunk({0: -1})
    return whole.map_blocks(_record_of_batch, drop_axis=0, dtype=RECORD_DTYPE)


def add(state: da.Array, count: int, sample: ArrayLike) -> da.Array:
    """The state after Welford's update with one more sample (spec §4)."""
    block = aligned(sample, state.chunks)
    return da.map_blocks(_record_plus_sample, state, block, count, dtype=RECORD_DTYPE)


def merge(state: da.Array, count: int, other: da.Array, other_count: int) -> da.Array:
    """The state of both sets of samples (Chan et al.), cut like ``state``."""
    other = aligned(other, state.chunks)
    return da.map_blocks(_records_merged, state, other, count, other_count, dtype=RECORD_DTYPE)


def mean(state: da.Array) -> da.Array:
    """The mean of the samples, per element."""
    return da.map_blocks(_mean_of_record, state, dtype=np.float64)


def field(state: da.Array, name: str) -> da.Array:
    """One statistic as kept: ``"m2"``, ``"min"`` or ``"max"``."""
    return state[name]


def variance(state: da.Array, count: int) -> da.Array:
    """The sample variance ``M2 / (count - 1)``; the caller handles ``count < 2``."""
    return state["m2"] / (count - 1)
