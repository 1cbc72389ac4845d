"""The runner returns real results and turns every kind of broken simulation into a clear error."""

from __future__ import annotations

import logging
import pickle
import sys

import numpy as np
import pytest

import dask_espresso as de
from damaris_ref.ensemble import (
    get_codec,
    run_simulation,
)
from damaris_ref.ensemble.errors import SimulationError
from damaris_ref.ensemble.framing import find_payload

from processes import all_gone

pytestmark = pytest.mark.timeout(60)


def test_upstream_echo_test_compares_values(sim):
    task = de.dask_espresso_task(sys.executable, sim("echo"), hello="world")
    assert task.compute() == {"hello": "world", "processed": True}


def test_dask_espresso_task_is_lazy(sim, tmp_path):
    flag = tmp_path / "created"
    task = de.dask_espresso_task(sys.executable, sim("flaky"), flag=str(flag))
    assert not flag.exists()  # nothing ran yet
    with pytest.raises(SimulationError) as caught:
        task.compute()
    assert caught.value.kind == "failed"
    assert flag.exists()


def test_parameters_may_use_the_names_of_the_runner_arguments(sim):
    task = de.dask_espresso_task(sys.executable, sim("echo"), executable="x", script="y")
    assert task.compute() == {"executable": "x", "script": "y", "processed": True}


@pytest.mark.parametrize("codec", ["pickle", "safe"])
def test_arrays_travel_both_ways(sim, codec):
    params = {"field": np.arange(12.0).reshape(3, 4), "tag": ("a", 1)}
    result = run_simulation(sys.executable, sim("echo"), params, codec=codec, timeout=30)
    np.testing.assert_array_equal(result["field"], params["field"])
    assert result["tag"] == ("a", 1) and result["processed"] is True


def test_crash_reports_exit_code_command_and_stderr(sim):
    with pytest.raises(SimulationError) as caught:
        run_simulation(sys.executable, sim("crash"), {"dt": 0.1}, timeout=30)
    error = caught.value
    assert error.kind == "failed"
    assert error.returncode == 3
    assert error.command == [sys.executable, sim("crash")]
    assert "fatal: cannot converge with {'dt': 0.1}" in error.stderr_tail
    assert "exit code 3" in str(error) and sim("crash") in str(error)


def test_timeout_kills_the_child_and_what_it_started(sim, tmp_path):
    pid_file = tmp_path / "pids"
    with pytest.raises(SimulationError) as caught:  # the child would sleep for 120 s
        run_simulation(sys.executable, sim("sleepy"), {"pid_file": str(pid_file)}, timeout=2)
    assert caught.value.kind == "timeout"
    assert "within 2 s" in str(caught.value)
    assert "about to hang" in caught.value.stderr_tail
    assert caught.value.returncode == -9
    assert all_gone(list(map(int, pid_file.read_text().split())), timeout=5)


def test_output_without_a_result_line_is_an_error_quoting_stdout(sim):
    with pytest.raises(SimulationError, match="printed no pickle-codec result") as caught:
        run_simulation(sys.executable, sim("garbage"), {}, timeout=30)
    assert caught.value.kind == "output"
    assert "bye" in str(caught.value) and caught.value.returncode == 0


def test_a_cut_result_line_is_an_error_not_garbage(sim):
    with pytest.raises(SimulationError, match="could not be decoded") as caught:
        run_simulation(sys.executable, sim("corrupt"), {}, timeout=30)
    assert caught.value.kind == "output"


def test_a_crafted_safe_payload_fails_with_the_command_and_exit_code(sim):
    with pytest.raises(SimulationError, match="could not be decoded by the safe") as caught:
        run_simulation(sys.executable, sim("crafted_safe"), {}, codec="safe", timeout=30)
    assert caught.value.kind == "output"
    assert caught.value.returncode == 0
    assert caught.value.command[-1].endswith("crafted_safe.py")


def test_stray_prints_around_the_result_are_ignored(sim):
    assert run_simulation(sys.executable, sim("stray_prints"), {"x": 3}, timeout=30) == {
        "doubled": 6
    }


def test_plain_upstream_base64_line_is_accepted(sim):
    result = run_simulation(sys.executable, sim("upstream_plain"), {"n": 1}, timeout=30)
    assert result == {"got": {"n": 1}}


def test_safe_codec_never_unpickles_what_the_child_prints(sim, tmp_path):
    marker = tmp_path / "owned"
    with pytest.raises(SimulationError) as caught:
        run_simulation(
            sys.executable, sim("malicious"), {"marker": str(marker)}, codec="safe", timeout=30
        )
    assert caught.value.kind == "output"
    assert not marker.exists()
    # the same output through the trusted codec does run code: the safe run was a real refusal
    run_simulation(sys.executable, sim("malicious"), {"marker": str(marker)}, timeout=30)
    assert marker.exists()


def test_stderr_is_forwarded_to_logging(sim, caplog):
    with caplog.at_level(logging.WARNING, logger="damaris_ref.ensemble.runner"):
        assert run_simulation(sys.executable, sim("noisy_stderr"), {}, timeout=30) == "ok"
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "time step looks large" in record.getMessage()
    assert sim("noisy_stderr") in record.getMessage()


def test_errors_survive_pickling_with_their_details():
    error = SimulationError(
        "simulation failed", kind="failed", command=["py", "s.py"], returncode=2, stderr_tail="boom"
    )
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is SimulationError
    assert (back.kind, back.command, back.returncode, back.stderr_tail) == (
        "failed",
        ["py", "s.py"],
        2,
        "boom",
    )
    assert str(back) == str(error)


def test_executable_may_be_a_command_prefix(sim):
    prefix = [sys.executable, "-X", "utf8"]
    assert run_simulation(prefix, sim("echo"), {"a": 1}, timeout=30) == {
        "a": 1,
        "processed": True,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"codec": "yaml"}, "unknown codec 'yaml'"),
    ],
)
def test_bad_runner_arguments_are_named(sim, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_simulation(sys.executable, sim("echo"), {}, **kwargs)


def test_empty_executable_is_refused(sim):
    with pytest.raises(ValueError, match="executable must name a program"):
        run_simulation("", sim("echo"), {})


def test_child_learns_the_codec_from_its_environment(sim, monkeypatch):
    monkeypatch.setenv("DAMARIS_ENSEMBLE_CODEC", "pickle")  # the runner's choice must win
    result = run_simulation(sys.executable, sim("echo"), {"s": {1, 2}}, codec="safe", timeout=30)
    assert result == {"s": {1, 2}, "processed": True}


# -- framing ---------------------------------------------------------------------------------


def test_framing_picks_the_last_recognised_line():
    codec = get_codec("pickle")
    first, second = codec.encode(1).encode(), codec.encode(2).encode()
    stdout = b"banner\n" + first + b"\nmore\n" + second + b"\r\ntrailing chatter\n\n"
    assert find_payload(stdout, codec) == second
    assert find_payload(b"no payload here\nat all", codec) is None
    assert find_payload(b"", codec) is None


def test_framing_only_accepts_its_own_codec():
    text = get_codec("safe").encode([1]).encode()
    assert find_payload(text, get_codec("safe")) == text
    assert find_payload(text, get_codec("pickle")) is None
    assert find_payload(get_codec("pickle").encode([1]).encode(), get_codec("safe")) is None
