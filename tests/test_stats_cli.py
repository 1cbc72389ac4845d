"""``damaris-ref stats`` refuses options that cannot work before anything starts (without
matplotlib its plot is skipped with a hint: tests/test_plot_hint.py)."""

from __future__ import annotations

import pytest

from damaris_ref.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cores", "3"], "--cores must be at least 1 and divide --clients (2)"),
        (["-k", "0"], "--simulations and --iterations must be at least 1"),
        (["--scheduler-file", "nowhere.json"], "no scheduler file at nowhere.json"),
    ],
)
def test_options_that_cannot_work_are_refused_first(args, message, tmp_path, capsys):
    assert main(["stats", "--out", str(tmp_path / "out"), *args]) == 2
    assert capsys.readouterr().err.strip() == f"damaris-ref stats: error: {message}"
    assert not (tmp_path / "out").exists()
