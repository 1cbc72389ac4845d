"""The workers' lifecycle (spec §5): named and sized as configured while the run lasts, gone
after ``stop()`` unless kept; no scheduler means a warning and a Python-only run; a worker
killed mid-run means a clear error in that iteration's script, and the simulation finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from dask_support import (
    FIELD,
    OUT_ENV,
    SCRIPTS,
    TWO_SERVERS,
    assert_no_workers_left,
    dask_config,
    run_generic,
    run_generic_in_process,
    unique_name,
    worker_gone,
    worker_processes,
    workers_named,
    write_config,
)
from hostile_services import loopback_service

from damaris4py.server import getservercomm

from processes import wait_until


def _records(out: Path, iteration: int, servers: int) -> list[dict]:
    return [
        json.loads((out / f"workers_S{s}_I{iteration}.json").read_text()) for s in range(servers)
    ]


@pytest.mark.timeout(60)
def test_workers_are_named_and_sized_while_running_and_gone_after_stop(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in-process, and checked on each server's thread as soon as its start() returns: a
    # worker ending only because its parent thread or process ended would not count
    name = unique_name("life")
    config = dask_config(
        name, SCRIPTS / "dask_record_workers.py", scheduler_file, *FIELD, TWO_SERVERS, nthreads=2
    )
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    left_after_stop = {}

    def own_worker_left() -> None:
        server = getservercomm().Get_rank()

        def own(names: object) -> list[str]:
            return [n for n in names if n.endswith(f"_{server}")]

        gone = wait_until(
            lambda: (
                not own(workers_named(dask_client, f"{name}_"))
                and not own(worker_processes(f"{name}_").values())
            ),
            timeout=5,
        )
        left_after_stop[server] = gone or own(workers_named(dask_client, f"{name}_"))

    run_generic_in_process(config, 4, 2, after_serving=own_worker_left)

    for iteration in range(2):
        records = _records(tmp_path, iteration, 2)
        magic = records[0]["magic"]
        expected = {f"{name}_{magic}_{s}": 2 for s in range(2)}
        for record in records:
            assert record["workers"] == expected
            assert record["dask_env"] == {
                "dask_scheduler_file": str(scheduler_file),
                "dask_workers_name": f"{name}_{magic}",
                "dask_nworkers": 2,
                "dask_threads_per_worker": 2,
            }
    assert left_after_stop == {0: True, 1: True}
    assert not worker_processes(f"{name}_")


@pytest.mark.timeout(90)
def test_kept_workers_outlive_the_simulation(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    name = unique_name("keep")
    config = dask_config(
        name,
        SCRIPTS / "dask_record_workers.py",
        scheduler_file,
        *FIELD,
        TWO_SERVERS,
        keep_workers=True,
    )
    out = tmp_path / "out"
    try:
        done = run_generic(4, write_config(config, tmp_path), 1, out)
        assert done.returncode == 0, done.stderr
        magic = _records(out, 0, 2)[0]["magic"]
        kept = {f"{name}_{magic}_{s}" for s in (0, 1)}
        assert set(workers_named(dask_client, f"{name}_")) == kept
        assert len(worker_processes(f"{name}_")) == 2
        # what kept workers are for: they still take work once the simulation has ended
        # (client.run leaves no result on the worker that would stop it from retiring)
        workers = dask_client.scheduler_info(n_workers=-1)["workers"]
        address = next(a for a, w in workers.items() if w["name"] == f"{name}_{magic}_1")
        assert dask_client.run(sum, [1, 2, 3], workers=[address]) == {address: 6}
        dask_client.retire_workers(names=sorted(kept))  # how docs/dask.md says to stop them
        # retired workers close by themselves; a signal now would only race their shutdown
        exited = wait_until(lambda: not worker_processes(f"{name}_"), timeout=30)
        assert exited, f"retired workers still running: {worker_processes(f'{name}_')}"
    finally:
        for pid in worker_processes(f"{name}_"):  # only when the test failed above
            os.kill(pid, signal.SIGKILL)
    assert_no_workers_left(dask_client, name)


def _dead_scheduler_file(folder: Path) -> Path:
    """A scheduler file naming a local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = folder / "dead-scheduler.json"
    path.write_text(json.dumps({"type": "Scheduler", "address": f"tcp://127.0.0.1:{port}"}))
    return path


@contextlib.contextmanager
def _scheduler_file(kind: str, folder: Path) -> Iterator[Path]:
    """A scheduler file of ``kind``: naming a closed port, missing, not JSON, or naming a
    loopback service that speaks first or never answers."""
    path = folder / "scheduler.json"
    if kind == "dead":
        yield _dead_scheduler_file(folder)
    elif kind == "missing":
        yield folder / "nowhere.json"
    elif kind == "garbage":
        path.write_text("{not json")
        yield path
    else:
        greeting = b"SSH-2.0-OpenSSH_9.6\r\n" * 4 if kind == "speaks first" else None
        with loopback_service(greeting) as address:
            path.write_text(json.dumps({"type": "Scheduler", "address": address}))
            yield path


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("scheduler", "why"),
    [
        ("dead", "nothing listens at tcp://127.0.0.1:"),
        ("missing", "does not exist"),
        ("garbage", "is not JSON"),
        ("speaks first", "is not a Dask scheduler"),
        ("silent", "no scheduler answered within 1 s"),
    ],
)
def test_without_a_scheduler_the_run_warns_and_goes_on_without_dask(
    scheduler: str, why: str, tmp_path: Path
) -> None:
    name = unique_name("nosched")
    with _scheduler_file(scheduler, tmp_path) as path:
        config = dask_config(
            name, SCRIPTS / "dask_record_workers.py", path, *FIELD, TWO_SERVERS, timeout=1
        )
        out = tmp_path / "out"
        done = run_generic(4, write_config(config, tmp_path), 2, out)

    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, done.stderr  # once per run, not once per server
    assert why in warnings[0] and "runs without Dask" in warnings[0]
    for iteration in range(2):
        for record in _records(out, iteration, 2):
            assert record["dask_env"]["dask_scheduler_file"] == ""
            assert record["workers"] == {}
    assert not worker_processes(f"{name}_")


@pytest.mark.timeout(90)
def test_a_worker_killed_mid_run_fails_that_iteration_and_the_run_finishes(
    scheduler_file: Path, dask_client, tmp_path: Path
) -> None:
    name = unique_name("kill")
    config = dask_config(
        name, SCRIPTS / "dask_kill_worker.py", scheduler_file, *FIELD, TWO_SERVERS, timeout=2
    )
    done = run_generic(4, write_config(config, tmp_path), 3, tmp_path / "out")

    assert done.returncode == 0, done.stderr
    assert "iteration 0 sum " in done.stdout
    for server in (0, 1):
        header = f"[damaris-ref] server {server} iteration 1: pyscript 'probe'"
        assert header in done.stderr, done.stderr
        reason = worker_gone(server, 1, name, "killed by signal SIGKILL")
        assert re.search(reason, done.stderr, re.MULTILINE), done.stderr
        # the simulation went on: later iterations ran the script again
        assert f"server {server} iteration 2 starts" in done.stdout
    assert_no_workers_left(dask_client, name)
