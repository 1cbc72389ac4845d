"""The running statistics' math (damaris_ref.stats.moments) against NumPy on stacked samples.

Samples are arrays of any shape up to 3-D whose values reach 1e8 but vary by little: there a
naive sum of squares keeps no correct digit of the variance, and a Welford update on raw
values keeps about seven. Whether fed one sample at a time or as batches merged in any
grouping and order, the mean and the sample variance must match ``numpy.mean`` and
``numpy.var(ddof=1)`` of the stacked samples to 1e-9 relative.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from damaris_ref.stats import Moments, chunked
from damaris_ref.stats.moments import RECORD_DTYPE

RTOL = 1e-9
EPS = np.finfo(np.float64).eps

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@st.composite
def sample_lists(draw: st.DrawFn) -> list[np.ndarray]:
    """1-12 samples of one shape: large bases with a small spread, or small arbitrary values."""
    shape = draw(shapes)
    count = draw(st.integers(1, 12))
    if draw(st.booleans()):
        # up to 1e8 in magnitude, varying by up to 20 steps of 0.01 to 1
        bases = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e8, 1e8)))
        step = draw(st.sampled_from([1.0, 0.1, 0.01]))
        steps = st.integers(-20, 20)
        offsets = [draw(hnp.arrays(np.int64, shape, elements=steps)) for _ in range(count)]
        return [bases + step * offset for offset in offsets]
    elements = st.floats(-1e3, 1e3, allow_subnormal=False)
    return [draw(hnp.arrays(np.float64, shape, elements=elements)) for _ in range(count)]


def assert_matches_numpy(moments: Moments, samples: list[np.ndarray]) -> None:
    """Mean and sample variance as NumPy computes them from the stacked samples."""
    stacked = np.stack(samples)
    scale = np.abs(stacked).max(axis=0)
    assert moments.count == len(samples)
    # the mean to 1e-9 of the values' magnitude (a mean may cancel to 0 exactly)
    assert np.all(np.abs(moments.mean - np.mean(stacked, axis=0)) <= RTOL * scale)
    np.testing.assert_array_equal(moments.minimum, stacked.min(axis=0))
    np.testing.assert_array_equal(moments.maximum, stacked.max(axis=0))
    if len(samples) < 2:
        assert np.isnan(moments.variance).all()
        return
    expected = np.var(stacked, axis=0, ddof=1)
    # below 16 ulps of the magnitude, squared, a variance is indistinguishable from 0; and
    # where the squares are subnormal, every step of the arithmetic rounds to the smallest one
    floor = np.square(16 * EPS * scale) + 16 * np.finfo(np.float64).smallest_subnormal
    assert np.all(np.abs(moments.variance - expected) <= RTOL * expected + floor), (
        moments.variance,
        expected,
    )


def fold(samples: list[np.ndarray]) -> Moments:
    """One Welford update per sample."""
    moments = Moments.of_sample(samples[0])
    for sample in samples[1:]:
        moments = moments.add(sample)
    return moments


@given(sample_lists())
def test_one_update_per_sample_matches_numpy(samples):
    assert_matches_numpy(fold(samples), samples)


@given(sample_lists(), st.data())
def test_batches_merged_in_any_grouping_and_order_match_numpy(samples, data):
    order = data.draw(st.permutations(range(len(samples))))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(samples) - 1))) if len(samples) > 1 else [])
    groups = [
        [samples[i] for i in order[start:stop]]
        for start, stop in zip([0, *cuts], [*cuts, len(samples)], strict=True)
    ]
    # each batch reduced at once or one sample at a time, then merged pairwise in any order
    parts = [Moments.of_samples(g) if data.draw(st.booleans()) else fold(g) for g in groups]
    while len(parts) > 1:
        first = parts.pop(data.draw(st.integers(0, len(parts) - 1)))
        second = parts.pop(data.draw(st.integers(0, len(parts) - 1)))
        parts.append(first.merge(second))
    assert_matches_numpy(parts[0], samples)


def test_a_variance_among_subnormal_numbers_matches_numpy_to_their_last_steps():
    """Squares of 6e-162 are subnormal, where each step rounds to a multiple of 5e-324: one
    update per sample gives 1e-323, NumPy 1.5e-323 (found by the merge property above)."""
    samples = [np.array(0.0), np.array(6.41343227e-162), np.array(0.0)]
    assert fold(samples).variance != np.var(np.stack(samples), ddof=1)
    assert_matches_numpy(fold(samples), samples)


def test_values_near_1e8_with_a_spread_of_1_keep_the_variance_exact():
    samples = [np.full((2, 3), 1e8 + value) for value in (1.0, 2.0, 3.0, 4.0)]
    moments = fold(samples)
    assert moments.variance.tolist() == [[5 / 3] * 3] * 2
    # what a naive sum of squares gives for the same samples: no correct digit left
    stacked = np.stack(samples)
    naive = (np.square(stacked).sum(0) - stacked.sum(0) ** 2 / 4) / 3
    assert not np.allclose(naive, 5 / 3, rtol=1e-3)


def test_four_simulations_of_four_iterations_give_the_documented_result():
    # spec §6: -v 1..4, 4 iterations each: count 16, mean 2.5, sample variance 4/3
    per_simulation = [Moments.of_samples([np.full(3, float(value))] * 4) for value in (1, 2, 3, 4)]
    total = per_simulation[0]
    for part in per_simulation[1:]:
        total = total.merge(part)
    assert total.count == 16
    np.testing.assert_allclose(total.mean, 2.5, rtol=1e-15)
    np.testing.assert_allclose(total.variance, 4 / 3, rtol=1e-15)


def test_the_record_form_holds_every_statistic():
    moments = fold([np.arange(6.0).reshape(2, 3), np.ones((2, 3)), np.full((2, 3), -2.0)])
    record = moments.to_record()
    assert record.dtype == RECORD_DTYPE and record.shape == (2, 3)
    again = Moments.from_record(moments.count, record)
    for name in ("mean", "variance", "minimum", "maximum", "m2"):
        np.testing.assert_array_equal(getattr(again, name), getattr(moments, name))


def test_a_sample_of_another_shape_is_refused():
    moments = Moments.of_sample(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(3, 2\) does not fit statistics of \(2, 3\)"):
        moments.add(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="does not fit"):
        moments.merge(Moments.of_sample(np.zeros(6)))


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError, match="at least one sample"):
        Moments.of_samples(np.zeros((0, 3)))


def test_the_statistics_do_not_follow_later_changes_to_the_samples():
    sample = np.ones(3)
    moments = Moments.of_sample(sample).add(sample)
    sample[:] = 100.0
    assert moments.mean.tolist() == [1.0, 1.0, 1.0]
    assert moments.maximum.tolist() == [1.0, 1.0, 1.0]


COMPLEX = np.array([[1 + 2j, 3 - 1j]])


@pytest.mark.parametrize(
    "build",
    [
        lambda: Moments.of_sample(COMPLEX),
        lambda: Moments.of_samples(np.stack([COMPLEX, COMPLEX])),
        lambda: Moments.of_sample(COMPLEX.real).add(COMPLEX),
    ],
    ids=["sample", "batch", "update"],
)
def test_complex_samples_are_refused_not_cut_to_their_real_part(build):
    """They once lost their imaginary part, with a warning only a Dask worker's log saw."""
    with pytest.raises(TypeError, match=r"complex samples \(complex128\) are refused"):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: chunked.of_sample(da.from_array(COMPLEX)),
        lambda: chunked.of_batch(da.from_array(np.stack([COMPLEX, COMPLEX]))),
        lambda: chunked.add(chunked.of_sample(da.from_array(COMPLEX.real)), 1, COMPLEX),
    ],
    ids=["sample", "batch", "update"],
)
def test_the_dask_statistics_refuse_complex_samples_before_computing(build):
    with pytest.raises(TypeError, match=r"the statistics are real: pass x\.real or abs\(x\)"):
        build()
