"""``damaris-ref run`` checks the simulation's arguments and the rank count once, before any
rank starts: bad arguments, ``--help`` and oversubscription never reach mpiexec."""

from __future__ import annotations

from pathlib import Path

import pytest

from damaris_ref.cli import main
from damaris_ref.cli import run as run_cli
from damaris_ref.launch import launcher
from damaris_ref.mocks import SIMULATIONS

CONFIG = str(Path(__file__).resolve().parent.parent / "examples" / "3dmesh_py.yml")


@pytest.fixture
def launches(monkeypatch) -> list[int]:
    """The rank counts of the MPI jobs ``damaris-ref run`` started (none really starts)."""
    started: list[int] = []

    def run_job(nranks, command, **_options) -> int:
        started.append(nranks)
        return 0

    monkeypatch.setattr(launcher, "run_job", run_job)
    monkeypatch.setattr(run_cli, "usable_cores", lambda: 2)
    return started


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return exited.value.code


@pytest.mark.parametrize(
    ("simulation", "arguments", "message"),
    [
        ("3dmesh_py", ["-i", "-1"], "argument -i: must be an integer from 0 to 2147483647, got -1"),
        (
            "3dmesh_py",
            ["-s", "-5"],
            "argument -s: must be a finite number of seconds from 0 to 86400, got -5",
        ),
        ("3dmesh_py_domains", ["-d", "0"], "argument -d: must be an integer >= 1, got 0"),
        ("generic", ["-i", "-3"], "argument -i: must be an integer from 0 to 2147483647, got -3"),
    ],
)
def test_negative_counts_are_refused_before_launching(
    simulation, arguments, message, launches, capsys
):
    assert _exit_code(["run", "-n", "5", simulation, CONFIG, *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("usage:") == 1
    assert f"{simulation}: error: {message}" in err
    assert launches == []


def test_zero_iterations_and_no_sleep_stay_valid():
    args = SIMULATIONS["3dmesh_py"].parse_args([CONFIG, "-i", "0", "-s", "0"])
    assert (args.iterations, args.sleep) == (0, 0)


def test_a_missing_config_prints_the_usage_once_and_starts_nothing(launches, capsys):
    assert _exit_code(["run", "-n", "5", "3dmesh_py"]) == 2
    err = capsys.readouterr().err
    assert err.count("usage: 3dmesh_py") == 1
    assert "the following arguments are required: config" in err
    assert launches == []


def test_the_simulations_help_is_printed_once(launches, capsys):
    assert _exit_code(["run", "-n", "5", "generic", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.count("usage: generic") == 1
    assert launches == []


def test_far_more_ranks_than_cores_needs_oversubscribe(launches, capsys):
    assert main(["run", "-n", "1000", "3dmesh_py", CONFIG]) == 1
    assert capsys.readouterr().err.strip() == (
        "damaris-ref: error: 1000 ranks on 2 core(s) is more than 4 per core; use at most 8, "
        "or add --oversubscribe to start them anyway"
    )
    assert main(["run", "-n", "9", "3dmesh_py", CONFIG]) == 1
    assert launches == []
    assert main(["run", "-n", "8", "3dmesh_py", CONFIG]) == 0
    assert main(["run", "--oversubscribe", "-n", "9", "3dmesh_py", CONFIG]) == 0
    assert launches == [8, 9]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["-i", "2147483648"],
            "argument -i: must be an integer from 0 to 2147483647, got 2147483648",
        ),
        (["-s", "inf"], "argument -s: must be a finite number of seconds from 0 to 86400, got inf"),
        (["-s", "nan"], "argument -s: must be a finite number of seconds from 0 to 86400, got nan"),
    ],
)
def test_values_no_rank_could_use_are_refused_before_launching(
    arguments, message, launches, capsys
):
    """They once passed and failed with an OverflowError on every rank."""
    assert _exit_code(["run", "-n", "5", "3dmesh_py", CONFIG, *arguments]) == 2
    err = capsys.readouterr().err
    assert f"3dmesh_py: error: {message}" in err
    assert "Traceback" not in err
    assert launches == []


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_the_job_timeout_must_be_a_finite_positive_number(value, launches, capsys):
    assert _exit_code(["run", "--timeout", value, "-n", "5", "3dmesh_py", CONFIG]) == 2
    err = capsys.readouterr().err
    assert f"argument --timeout: must be a finite number of seconds > 0, got {value}" in err
    assert launches == []


def test_the_timeout_help_says_it_limits_the_whole_job(capsys):
    assert _exit_code(["run", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "any rank waits" not in help_text
    assert "stop the whole job when it has not ended after this many seconds" in help_text
