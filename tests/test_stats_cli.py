"""``damaris-ref stats`` before and after its runs: options that cannot work are refused before
anything starts, and without matplotlib the plot is skipped with a hint, not an error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from damaris_ref.cli import main
from damaris_ref.stats import cli
from damaris_ref.stats.shared import Summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cores", "3"], "--cores must be at least 1 and divide --clients (2)"),
        (["-k", "0"], "--simulations and --iterations must be at least 1"),
        (["--scheduler-file", "nowhere.json"], "scheduler file 'nowhere.json' does not exist"),
    ],
)
def test_options_that_cannot_work_are_refused_first(args, message, tmp_path, capsys):
    assert main(["stats", "--out", str(tmp_path / "out"), *args]) == 2
    assert capsys.readouterr().err.strip() == f"damaris-ref stats: error: {message}"
    assert not (tmp_path / "out").exists()


def test_without_matplotlib_the_plot_is_skipped_with_a_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without it gives
    monkeypatch.delitem(sys.modules, "damaris_ref.stats.plot", raising=False)
    field = np.zeros((8, 8, 16))
    summary = Summary(16, field, field, field, field, ((4, 4), (8,), (4, 4, 4, 4)))
    cli._plot(summary, [], tmp_path)
    assert "no plot: matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "stats.png").exists()
