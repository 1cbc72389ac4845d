"""Sweeps on a LocalCluster or a given scheduler: ordered results, reported failures, retries."""

from __future__ import annotations

import sys

import pytest
from distributed import LocalCluster

from damaris_ref.ensemble import (
    SimulationError,
    open_client,
    parameter_grid,
    run_ensemble,
)

pytestmark = pytest.mark.timeout(90)


def kind_of(error: BaseException | None) -> str:
    """How a task failed: the ``kind`` of its SimulationError (asserting it is one)."""
    assert isinstance(error, SimulationError), error
    return error.kind


def test_lj_sweep_end_to_end_in_submission_order(client, sim):
    fractions = [0.5, 0.1, 0.3]  # deliberately unsorted: results must follow submission
    params = [
        {"n_particles": 64, "volume_fraction": phi, "n_steps": 600, "n_warmup": 200, "seed": 1}
        for phi in fractions
    ]
    outcome = run_ensemble(client, sys.executable, sim("lj_pressure"), params, timeout=60)
    assert outcome.ok and outcome.params == params
    densities = [r["density"] for r in outcome.results]
    assert densities == pytest.approx([6 * phi / 3.141592653589793 for phi in fractions])
    pressure = {p["volume_fraction"]: r["pressure"] for p, r in outcome.succeeded()}
    assert 0 < pressure[0.1] < pressure[0.3] < pressure[0.5]


def test_failures_are_reported_with_their_parameters_and_others_kept(client, sim):
    params = [
        {"n_particles": 20, "volume_fraction": 0.1, "n_steps": 50, "seed": 1},
        {"n_particles": 20, "volume_fraction": 0.9, "n_steps": 50},
        {"n_particles": 20, "volume_fraction": 0.2, "n_steps": 50, "seed": 2},
    ]
    outcome = run_ensemble(client, sys.executable, sim("lj_pressure"), params)
    assert not outcome.ok
    (failure,) = outcome.failures
    assert failure.index == 1 and failure.params == params[1]
    assert kind_of(failure.error) == "failed"
    assert "volume_fraction=0.9 is invalid" in failure.error.stderr_tail
    assert "task 1" in str(failure) and "0.9" in str(failure)
    assert outcome.results[1] is None
    assert [p for p, _ in outcome.succeeded()] == [params[0], params[2]]
    assert all(r["pressure"] > 0 for _, r in outcome.succeeded())


def test_retries_rerun_a_failed_task(client, sim, tmp_path):
    once = run_ensemble(client, sys.executable, sim("flaky"), [{"flag": str(tmp_path / "a")}])
    assert kind_of(once.failures[0].error) == "failed"
    retried = run_ensemble(
        client, sys.executable, sim("flaky"), [{"flag": str(tmp_path / "b")}], retries=1
    )
    assert retried.ok and retried.results == [{"attempt": "second"}]


def test_timeout_applies_to_each_task(client, sim, tmp_path):
    params = [{"pid_file": str(tmp_path / "pids")}]
    outcome = run_ensemble(client, sys.executable, sim("sleepy"), params, timeout=1)
    assert kind_of(outcome.failures[0].error) == "timeout"


def test_codec_default_is_resolved_in_the_submitting_process(sim, tmp_path, monkeypatch):
    marker = tmp_path / "owned"
    # worker processes started before the default changes do not see the new variable
    with open_client(n_workers=1, threads_per_worker=1, processes=True) as separate:
        monkeypatch.setenv("DAMARIS_ENSEMBLE_CODEC", "safe")
        outcome = run_ensemble(
            separate, sys.executable, sim("malicious"), [{"marker": str(marker)}]
        )
    assert kind_of(outcome.failures[0].error) == "output"
    assert not marker.exists()


def test_progress_bar_is_drawn_on_stderr(client, sim, capsys):
    run_ensemble(client, sys.executable, sim("echo"), [{"i": i} for i in range(3)], progress=True)
    err = capsys.readouterr().err
    assert "] 1/3 done" in err and "] 3/3 done\n" in err


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_embedded_cluster_runs_simulations_with_threads_or_processes(sim, processes):
    with open_client(n_workers=2, threads_per_worker=1, processes=processes) as connected:
        outcome = run_ensemble(connected, sys.executable, sim("echo"), [{"i": 0}, {"i": 1}])
    assert outcome.results == [{"i": 0, "processed": True}, {"i": 1, "processed": True}]


def test_external_scheduler_by_address_and_by_file(sim, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        with open_client(cluster.scheduler_address) as by_address:
            by_address.write_scheduler_file(str(scheduler_file))
            outcome = run_ensemble(by_address, sys.executable, sim("echo"), [{"via": "address"}])
            assert outcome.results == [{"via": "address", "processed": True}]
        with open_client(scheduler_file=scheduler_file) as by_file:
            outcome = run_ensemble(by_file, sys.executable, sim("echo"), [{"via": "file"}])
            assert outcome.results == [{"via": "file", "processed": True}]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheduler": "tcp://h:1", "scheduler_file": "f"}, "either a scheduler address or"),
        ({"scheduler": "tcp://h:1", "n_workers": 2}, "configure the embedded cluster only"),
        ({"n_workers": 0}, "n_workers must be at least 1, got 0"),
    ],
)
def test_open_client_rejects_contradictory_choices(kwargs, message):
    with pytest.raises(ValueError, match=message), open_client(**kwargs):
        pass


def test_negative_retries_are_refused(client, sim):
    with pytest.raises(ValueError, match="retries must be 0 or more, got -1"):
        run_ensemble(client, sys.executable, sim("echo"), [{}], retries=-1)


def test_parameter_grid_varies_the_last_name_fastest():
    assert parameter_grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(TypeError, match="values for 'a' must be a list"):
        parameter_grid({"a": "12"})
    with pytest.raises(ValueError, match="no values given for 'b'"):
        parameter_grid({"a": [1], "b": []})
