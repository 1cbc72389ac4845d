"""The closed form ``damaris-ref stats`` checks against (spec §6's golden facts), and its
per-chunk verdict: a wrong count or a wrong chunk fails."""

from __future__ import annotations

import numpy as np

from damaris_ref.stats.shared import Summary
from damaris_ref.stats.verdict import check_chunks, expected_statistics, print_report

SHAPE = (8, 8, 16)
CHUNKS = ((4, 4), (8,), (4, 4, 4, 4))


def test_four_simulations_of_four_iterations_give_upstreams_documented_numbers():
    expected = expected_statistics((1, 2, 3, 4), 4, SHAPE, clients=2, domains=4)
    assert expected.count == 16
    assert expected.variance == 4 / 3 and expected.value_mean == 2.5
    # rank_start = client * (WIDTH / domains) * HEIGHT = 32 * client; the first block is 2.5
    assert np.all(expected.mean[:4] == 2.5) and np.all(expected.mean[4:] == 34.5)


def test_one_sample_has_no_variance():
    assert np.isnan(expected_statistics((7,), 1, SHAPE, clients=1, domains=1).variance)


def summary_of(mean: np.ndarray, variance: np.ndarray, count: int = 16) -> Summary:
    return Summary(count, mean, variance, None, None, CHUNKS)


def test_the_right_statistics_pass_every_chunk(capsys):
    expected = expected_statistics((1, 2, 3, 4), 4, SHAPE, clients=2, domains=4)
    summary = summary_of(expected.mean.copy(), np.full(SHAPE, 4 / 3))
    checks = check_chunks(summary, expected)
    assert [c.index for c in checks][:2] == [(0, 0, 0), (0, 0, 1)] and len(checks) == 8
    assert print_report(summary, expected, checks)
    out = capsys.readouterr().out
    assert "(1, 0, 3)        16       34.5    1.33333           34.5       1.33333  PASS" in out
    assert out.rstrip().endswith(
        "PASS: count 16, mean rank_start + 2.5 and variance 1.33333 at every element"
    )


def test_one_wrong_element_fails_its_chunk_and_a_wrong_count_fails_all(capsys):
    expected = expected_statistics((1, 2, 3, 4), 4, SHAPE, clients=2, domains=4)
    mean = expected.mean.copy()
    mean[5, 2, 9] += 1e-6
    summary = summary_of(mean, np.full(SHAPE, 4 / 3))
    checks = check_chunks(summary, expected)
    assert [c.index for c in checks if not c.passed] == [(1, 0, 2)]
    assert not print_report(summary, expected, checks)
    assert "FAIL: count 16 (expected 16), 1 of 8 chunks differ" in capsys.readouterr().out
    right = summary_of(expected.mean.copy(), np.full(SHAPE, 4 / 3), count=4)
    assert not print_report(right, expected, check_chunks(right, expected))
    assert capsys.readouterr().out.count("FAIL") == 9
