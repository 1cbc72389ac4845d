"""What the statistics of ``stats_3dmesh_dask`` runs must be, and the per-chunk verdict.

``K`` simulations with values ``v_1..v_K``, ``I`` iterations each, give at every element
``I*K`` samples: ``I`` copies of ``rank_start + v_k`` per simulation (spec §6). So the count is
``I*K``, the mean ``rank_start + mean(v)`` and the sample variance
``I * sum((v_k - mean(v))**2) / (I*K - 1)``: with ``-v 1..4`` and 4 iterations, 16, 2.5 and
4/3. Pure NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only its type: this module stays free of Dask
    from damaris_ref.stats.shared import Summary

#: relative tolerance of the comparison with the closed form
RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class Expected:
    """The closed form of the statistics, per element of a ``(DEPTH, HEIGHT, WIDTH)`` field."""

    count: int
    mean: np.ndarray
    variance: float
    value_mean: float  # the mean of the -v values: the mean wherever rank_start is 0


def expected_statistics(
    values: Sequence[int],
    iterations: int,
    shape: tuple[int, int, int],
    clients: int,
    domains: int,
) -> Expected:
    """The closed form for simulations with these ``-v`` values on ``clients`` clients of
    ``domains`` domains each, over a global field of ``shape``."""
    depth, height, width = shape
    samples = np.repeat(np.asarray(values, dtype=np.float64), iterations)
    client_of_depth = np.arange(depth) // (depth // clients)
    rank_start = client_of_depth * (width // domains) * height
    mean = np.broadcast_to(rank_start[:, None, None] + samples.mean(), shape)
    squares = float(np.square(samples - samples.mean()).sum())
    variance = squares / (len(samples) - 1) if len(samples) > 1 else float("nan")
    return Expected(len(samples), mean, variance, float(samples.mean()))


@dataclass(frozen=True)
class ChunkCheck:
    """One chunk of the field: its averages, what they must be, and whether every element is."""

    index: tuple[int, ...]
    mean: float
    variance: float
    expected_mean: float
    expected_variance: float
    passed: bool


def check_chunks(summary: Summary, expected: Expected) -> list[ChunkCheck]:
    """Each chunk's mean and variance against the closed form, element by element."""
    checks = []
    means, variances, chunks = summary.published()
    for index, region in _chunk_regions(chunks):
        mean, variance = means[region], variances[region]
        want = expected.mean[region]
        passed = bool(
            np.allclose(mean, want, rtol=RTOL, atol=0)
            and np.allclose(variance, expected.variance, rtol=RTOL, atol=0, equal_nan=True)
        )
        checks.append(
            ChunkCheck(
                index,
                float(mean.mean()),
                float(variance.mean()),
                float(want.mean()),
                expected.variance,
                passed,
            )
        )
    return checks


def _chunk_regions(
    chunks: tuple[tuple[int, ...], ...],
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """``(chunk index, slices)`` of every chunk, in C order."""
    edges = [np.concatenate([[0], np.cumsum(sizes)]) for sizes in chunks]
    for index in np.ndindex(*(len(sizes) for sizes in chunks)):
        region = tuple(slice(e[i], e[i + 1]) for e, i in zip(edges, index, strict=True))
        yield index, region


def print_report(summary: Summary, expected: Expected, checks: Sequence[ChunkCheck]) -> bool:
    """Print count, mean and variance per chunk with PASS/FAIL; True when everything passed."""
    print(f"count: {summary.count} (expected {expected.count})")
    header = (
        f"{'chunk':<12} {'count':>6} {'mean':>10} {'variance':>10} "
        f"{'expected mean':>14} {'expected var':>13}  result"
    )
    print(header)
    for c in checks:
        verdict = "PASS" if c.passed and summary.count == expected.count else "FAIL"
        print(
            f"{c.index!s:<12} {summary.count:>6} {c.mean:>10.6g} {c.variance:>10.6g} "
            f"{c.expected_mean:>14.6g} {c.expected_variance:>13.6g}  {verdict}"
        )
    passed = summary.count == expected.count and all(c.passed for c in checks)
    if passed:
        print(
            f"PASS: count {summary.count}, mean rank_start + {expected.value_mean:g} and "
            f"variance {expected.variance:.6g} at every element"
        )
    else:
        failed = sum(not c.passed for c in checks)
        print(
            f"FAIL: count {summary.count} (expected {expected.count}), "
            f"{failed} of {len(checks)} chunks differ from the closed form"
        )
    return passed
