"""The command reports a DamarisError on one line; any other exception is a bug with a traceback."""

from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path

import pytest

from damaris_ref.cli import main
from damaris_ref.mocks import SIMULATIONS
from damaris_ref.runtime import in_process as engine

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_in_process(config: Path, *args: str) -> int:
    return main(["run", "--in-process", "-n", "3", "3dmesh_py", str(config), "-s", "0", *args])


def test_a_config_error_is_one_line_and_exit_status_1(tmp_path, capsys):
    config = tmp_path / "bad.yml"
    config.write_text("damaris:\n  architecture: {ranks_per_nod: 2}\n")
    assert run_in_process(config) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"damaris-ref: error: {config}:2: ")
    assert "ranks_per_nod" in err


def test_a_bad_environment_variable_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("DAMARIS_RANKS_PER_NODE", "two")
    assert run_in_process(EXAMPLES / "3dmesh_py_compact.yml") == 1
    assert capsys.readouterr().err == (
        "damaris-ref: error: environment: DAMARIS_RANKS_PER_NODE: invalid value 'two'; "
        "allowed: an integer >= 0 (0 = real hosts)\n"
    )


def test_a_bug_before_the_ranks_start_keeps_its_traceback(monkeypatch):
    def broken(*_args, **_kwargs):
        raise TypeError("a bug in the engine")

    monkeypatch.setattr(engine, "run_in_process", broken)
    with pytest.raises(TypeError, match="a bug in the engine"):
        run_in_process(EXAMPLES / "3dmesh_py_compact.yml")


def test_a_bug_in_a_rank_propagates_with_the_ranks_traceback(monkeypatch):
    def broken_loop(damaris, args):
        raise TypeError("a bug in a rank")

    broken = dataclasses.replace(SIMULATIONS["3dmesh_py"], client_loop=broken_loop)
    monkeypatch.setitem(SIMULATIONS, "3dmesh_py", broken)
    with pytest.raises(TypeError, match="a bug in a rank") as caught:
        run_in_process(EXAMPLES / "3dmesh_py_compact.yml", "-i", "1")
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "broken_loop" in frames


def test_a_damaris_error_from_any_subcommand_is_one_line(monkeypatch, capsys):
    from damaris_ref.cli import run as run_cli
    from damaris_ref.core.errors import RunError

    def no_mpiexec(_options):
        raise RunError("no mpiexec found")

    monkeypatch.setattr(run_cli, "run", no_mpiexec)
    assert main(["run", "-n", "2", "3dmesh_py", str(EXAMPLES / "3dmesh_py_compact.yml")]) == 1
    assert capsys.readouterr().err == "damaris-ref: error: no mpiexec found\n"


def test_a_bug_in_a_rank_of_the_in_process_demo_keeps_its_traceback(monkeypatch, tmp_path):
    from damaris_ref import demo
    from damaris_ref.dask_bridge import scheduler_file

    def broken(*_args, **_kwargs):
        raise engine.RankFailed(2, TypeError("a bug in a demo rank"))

    monkeypatch.setattr(demo, "_run_simulation", broken)
    # the file names no scheduler: let it through the demo's check, which runs before
    monkeypatch.setattr(scheduler_file, "check_file", lambda *_args: "tcp://127.0.0.1:9")
    with pytest.raises(TypeError, match="a bug in a demo rank"):
        main(["demo", "--scheduler-file", str(tmp_path / "unused.json"), "--out", str(tmp_path)])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-i", "0"], "argument -i/--iterations: must be an integer from 1 to 2147483647, got 0"),
        (["-i", "-1"], "argument -i/--iterations: must be an integer from 1 to 2147483647, got -1"),
        (
            ["-i", "1e20"],
            "argument -i/--iterations: must be an integer from 1 to 2147483647, got 1e20",
        ),
        (
            ["-i", "2147483648"],
            "argument -i/--iterations: must be an integer from 1 to 2147483647, got 2147483648",
        ),
    ],
)
def test_demo_iterations_are_checked_before_a_scheduler_starts(
    arguments, message, monkeypatch, tmp_path, capsys
):
    """``demo -i 0`` once exited 0 having checked nothing, and ``-i -1`` started a scheduler
    before it was refused."""
    from damaris_ref.dask_bridge import local_scheduler

    def no_scheduler(*_args, **_kwargs):
        raise AssertionError("a scheduler was started")

    monkeypatch.setattr(local_scheduler, "local_scheduler", no_scheduler)
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--out", str(tmp_path / "out"), *arguments])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"damaris-ref demo: error: {message}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["demo", "stats"])
def test_out_must_be_a_folder(tmp_path, capsys, command):
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(SystemExit) as exited:
        main([command, "--out", str(taken)])
    assert exited.value.code == 2
    assert f"argument --out: {taken} exists and is not a folder" in capsys.readouterr().err
