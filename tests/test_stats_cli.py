"""``damaris-ref stats`` refuses options that cannot work before anything starts (without
matplotlib its plot is skipped with a hint: tests/test_plot_hint.py)."""

from __future__ import annotations

import os

import pytest

from damaris_ref.cli import main
from damaris_ref.stats import cli


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


def test_a_scheduler_file_that_is_not_a_regular_file_is_named_for_what_it_is(tmp_path, capsys):
    folder = tmp_path / "scheduler"
    folder.mkdir()
    fifo = tmp_path / "scheduler.fifo"
    os.mkfifo(fifo)
    for path, kind in ((folder, "a directory"), (fifo, "a FIFO")):
        assert main(["stats", "--out", str(tmp_path / "out"), "--scheduler-file", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"damaris-ref stats: error: scheduler file '{path}' is {kind}, not a file"


def test_more_simulations_at_once_than_the_cores_can_take_need_oversubscribe(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cli, "usable_cores", lambda: 2)
    # 6 simulations of 3 ranks: 18 ranks on 2 cores, more than 8 per core
    assert main(["stats", "--out", str(tmp_path / "out"), "-k", "6"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "damaris-ref stats: error: 6 simulations of 3 ranks at once are 18 ranks on 2 core(s), "
        "more than 8 per core; use -k 5 or fewer, or add --oversubscribe to start them anyway"
    )
    assert not (tmp_path / "out").exists()
