"""Count, mean, M2, min and max of a stream of equally shaped arrays, element by element.

Samples arrive one at a time (Welford's update) or as whole batches merged pairwise (Chan,
Golub and LeVeque's combination of count, mean and M2), in any grouping: the result is the
same as if every sample had been stacked and reduced at once.

Decision: every element keeps a *shift* (its first sample) and the mean of the samples minus
that shift. Welford's update on raw values loses about ``|mean| / spread`` ulps of the
variance (values near 1e8 that vary by 1 keep only ~7 digits of it); on shifted values the
subtraction ``x - shift`` is exact for close values, so the variance keeps full precision
whatever the magnitude. The mean is ``shift + offset_mean``.

Pure NumPy (no Dask, no MPI): the Dask statistics apply these functions chunk by chunk, and
property tests check them against ``numpy.mean`` and ``numpy.var(ddof=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: one element of the statistics as a NumPy record: what a Dask chunk of the state holds
RECORD_DTYPE = np.dtype(
    [("shift", "f8"), ("mean", "f8"), ("m2", "f8"), ("min", "f8"), ("max", "f8")]
)


def refuse_complex(dtype: np.dtype) -> None:
    """Raise TypeError for complex samples: the statistics are real, and a float64 copy would
    silently drop the imaginary part."""
    if dtype.kind == "c":
        raise TypeError(
            f"complex samples ({dtype}) are refused: the statistics are real: pass x.real or abs(x)"
        )


def _float_copy(values: ArrayLike) -> np.ndarray:
    """A float64 copy: the statistics never alias (or later see changes to) a caller's array."""
    array = np.asarray(values)
    refuse_complex(array.dtype)
    return np.array(array, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Moments:
    """The statistics of ``count`` samples of one shape; every method returns a new object.

    ``offset_mean`` is the mean of ``sample - shift`` and ``m2`` the sum of squared deviations
    from the mean, per element.
    """

    count: int
    shift: np.ndarray
    offset_mean: np.ndarray
    m2: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @classmethod
    def of_sample(cls, sample: ArrayLike) -> Moments:
        """The statistics of one sample."""
        values = _float_copy(sample)
        return cls(1, values, np.zeros_like(values), np.zeros_like(values), values, values)

    @classmethod
    def of_samples(cls, samples: ArrayLike) -> Moments:
        """The statistics of a batch stacked along axis 0 (two passes over the batch)."""
        stacked = _float_copy(samples)
        if stacked.ndim == 0 or len(stacked) == 0:
            raise ValueError(
                f"a batch needs at least one sample along axis 0, got shape {stacked.shape}"
            )
        shift = stacked[0].copy()
        offsets = stacked - shift
        offset_mean = offsets.mean(axis=0)
        m2 = np.square(offsets - offset_mean).sum(axis=0)
        return cls(len(stacked), shift, offset_mean, m2, stacked.min(axis=0), stacked.max(axis=0))

    @classmethod
    def from_record(cls, count: int, record: np.ndarray) -> Moments:
        """The statistics stored in a :data:`RECORD_DTYPE` array (see :meth:`to_record`)."""
        return cls(
            count,
            record["shift"],
            record["mean"],
            record["m2"],
            record["min"],
            record["max"],
        )

    def to_record(self) -> np.ndarray:
        """The statistics as one :data:`RECORD_DTYPE` array of the samples' shape."""
        record = np.empty(self.shape, RECORD_DTYPE)
        record["shift"], record["mean"], record["m2"] = self.shift, self.offset_mean, self.m2
        record["min"], record["max"] = self.minimum, self.maximum
        return record

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape every sample has."""
        return self.shift.shape

    @property
    def mean(self) -> np.ndarray:
        """The mean of the samples, per element."""
        mean: np.ndarray = self.shift + self.offset_mean
        return mean

    @property
    def variance(self) -> np.ndarray:
        """The sample variance ``M2 / (count - 1)`` per element; NaN while ``count < 2``."""
        if self.count < 2:
            return np.full(self.shape, np.nan)
        return self.m2 / (self.count - 1)

    def add(self, sample: ArrayLike) -> Moments:
        """Welford's update with one more sample."""
        values = _float_copy(sample)
        self._check_shape(values.shape)
        count = self.count + 1
        offset = values - self.shift
        delta = offset - self.offset_mean
        offset_mean = self.offset_mean + delta / count
        m2 = self.m2 + delta * (offset - offset_mean)
        return Moments(
            count,
            self.shift,
            offset_mean,
            m2,
            np.minimum(self.minimum, values),
            np.maximum(self.maximum, values),
        )

    def merge(self, other: Moments) -> Moments:
        """Chan et al.'s pairwise combination: the statistics of both sets of samples."""
        self._check_shape(other.shape)
        count = self.count + other.count
        # the other mean in this object's frame; the shifts' difference is exact when close
        delta = (other.offset_mean + (other.shift - self.shift)) - self.offset_mean
        offset_mean = self.offset_mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + np.square(delta) * (self.count * other.count / count)
        return Moments(
            count,
            self.shift,
            offset_mean,
            m2,
            np.minimum(self.minimum, other.minimum),
            np.maximum(self.maximum, other.maximum),
        )

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if shape != self.shape:
            raise ValueError(f"a sample of shape {shape} does not fit statistics of {self.shape}")
