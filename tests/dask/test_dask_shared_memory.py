"""Blocks reach each server's worker through shared memory, and no segment outlives its
owner on any exit: a normal stop, kept workers, a script that raises, a server or a worker
killed with SIGKILL, an analysis that ends a worker's process (spec §5).

The segments are memfd files, which have no name in ``/dev/shm``: they are looked for in
every process's open files and mappings on this host (``/proc``), and in ``/dev/shm`` too.
Each run first records that its server and its worker did map the run's segments, so a check
that finds none afterwards cannot pass for want of looking.
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import numpy as np
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
    write_config,
)

from damaris_ref.dask_bridge import shared_files
from damaris_ref.mocks.generic import expected_global

from processes import wait_until

EXIT_ENV = "DAMARIS_TEST_EXIT"
ITERATIONS = 3


def segment_holders(simulation: str) -> dict[int, list[str]]:
    """{pid: memfd names} of every process on this host holding or mapping a shared-memory
    file of ``simulation``, plus ``{-1: names}`` for any of its files in ``/dev/shm``."""
    marker = f"memfd:damaris-{simulation}_"
    found: dict[int, set[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        names: set[str] = set()
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if marker in target:
                    names.add(target)
            names.update(line.split()[-2] for line in (entry / "maps").open() if marker in line)
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if names:
            found[int(entry.name)] = names
    in_dev_shm = {p.name for p in Path("/dev/shm").iterdir() if simulation in p.name}
    if in_dev_shm:
        found[-1] = in_dev_shm
    return {pid: sorted(names) for pid, names in found.items()}


def _run(how: str, tmp_path: Path, scheduler_file: Path, monkeypatch, **pyscript):
    name = unique_name(f"shm{how.replace('-', '')}")
    config = dask_config(
        name, SCRIPTS / "dask_segments.py", scheduler_file, *FIELD, TWO_SERVERS, **pyscript
    )
    monkeypatch.setenv(EXIT_ENV, how)
    out = tmp_path / "out"
    done = run_generic(4, write_config(config, tmp_path), ITERATIONS, out)
    return name, out, done


def _assert_segments_were_mapped(out: Path, servers: tuple[int, ...] = (0, 1)) -> None:
    """At iteration 0 each server and its worker mapped a segment of the run."""
    for server in servers:
        record = json.loads((out / f"segments_S{server}_I0.json").read_text())
        assert record["server"] and record["worker"], record


def _assert_no_segment_left(name: str) -> None:
    gone = wait_until(lambda: not segment_holders(name), timeout=30)
    assert gone, f"shared memory of {name} still held: {segment_holders(name)}"


def _assert_left_clean(out: Path, name: str, dask_client) -> None:
    """The run really mapped its segments, none is left, and neither is any of its workers."""
    _assert_segments_were_mapped(out)
    _assert_no_segment_left(name)
    assert_no_workers_left(dask_client, name)


@pytest.mark.timeout(90)
def test_after_a_normal_stop_no_segment_is_left(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("", tmp_path, scheduler_file, monkeypatch)
    assert done.returncode == 0, done.stderr
    assert "raised:" not in done.stderr, done.stderr
    assert f"iteration {ITERATIONS - 1} sum " in done.stdout
    _assert_left_clean(out, name, dask_client)


@pytest.mark.timeout(120)
def test_kept_workers_keep_no_segment_once_the_simulation_has_ended(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("", tmp_path, scheduler_file, monkeypatch, keep_workers=True)
    try:
        assert done.returncode == 0, done.stderr
        _assert_segments_were_mapped(out)
        assert len(worker_processes(f"{name}_")) == 2  # alive, and holding nothing
        _assert_no_segment_left(name)
        kept = sorted(worker_processes(f"{name}_").values())
        dask_client.retire_workers(names=kept)
        exited = wait_until(lambda: not worker_processes(f"{name}_"), timeout=30)
        assert exited, f"retired workers still running: {worker_processes(f'{name}_')}"
    finally:
        for pid in worker_processes(f"{name}_"):  # only when the test failed above
            os.kill(pid, signal.SIGKILL)
    assert_no_workers_left(dask_client, name)


@pytest.mark.timeout(90)
def test_a_script_that_raises_leaves_no_segment(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("raise", tmp_path, scheduler_file, monkeypatch)
    assert done.returncode == 0, done.stderr
    for server in (0, 1):
        assert re.search(rf"^\[S{server} I1\] RuntimeError: the analysis failed", done.stderr, re.M)
    assert f"iteration {ITERATIONS - 1} sum " in done.stdout  # the run went on
    _assert_left_clean(out, name, dask_client)


@pytest.mark.timeout(120)
def test_a_server_killed_with_sigkill_leaves_no_segment(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("kill-server", tmp_path, scheduler_file, monkeypatch)
    assert done.returncode != 0, done.stdout  # a rank died: the job fails
    assert (out / "segments_S1_I1.json").is_file()  # it died holding segments
    _assert_left_clean(out, name, dask_client)


@pytest.mark.timeout(120)
def test_kept_workers_of_a_server_killed_with_sigkill_keep_no_segment(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the workers outlive the job; what they mapped goes once the scheduler has dropped the
    # killed servers' clients, and with them every future of the blocks
    name, out, done = _run("kill-server", tmp_path, scheduler_file, monkeypatch, keep_workers=True)
    try:
        assert done.returncode != 0, done.stdout
        _assert_segments_were_mapped(out)
        assert len(worker_processes(f"{name}_")) == 2
        _assert_no_segment_left(name)
    finally:
        for pid in worker_processes(f"{name}_"):
            os.kill(pid, signal.SIGKILL)
    assert_no_workers_left(dask_client, name)


@pytest.mark.timeout(120)
def test_a_worker_killed_with_sigkill_leaves_no_segment_and_the_run_goes_on(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("kill-worker", tmp_path, scheduler_file, monkeypatch)
    assert done.returncode == 0, done.stderr
    assert "[damaris-ref] server 0 iteration 1: pyscript 'probe'" in done.stderr  # its sum failed
    for server in (0, 1):  # next iteration: every server says which worker is gone
        assert re.search(
            worker_gone(server, 2, name, r"killed by signal SIGKILL"), done.stderr, re.M
        ), done.stderr
        assert f"server {server} iteration 2 starts" in done.stdout
    _assert_left_clean(out, name, dask_client)


@pytest.mark.timeout(120)
def test_an_analysis_that_crashes_a_worker_is_reported_and_the_servers_go_on(
    scheduler_file: Path, dask_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, out, done = _run("crash-analysis", tmp_path, scheduler_file, monkeypatch)
    assert done.returncode == 0, done.stderr
    assert "[damaris-ref] server 0 iteration 1: pyscript 'probe'" in done.stderr
    for server in (0, 1):  # the servers survived the analysis and report the dead worker
        assert re.search(worker_gone(server, 2, name, r"exit code 3\)"), done.stderr, re.M), (
            done.stderr
        )
        assert f"server {server} iteration 2 starts" in done.stdout
    _assert_left_clean(out, name, dask_client)


@pytest.mark.timeout(90)
def test_without_shared_memory_blocks_are_scattered_and_that_is_said_once(
    scheduler_file: Path,
    dask_client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # in-process, so that this process's view of the system can lack memfd or /proc
    name = unique_name("noshm")
    config = dask_config(name, SCRIPTS / "dask_sum.py", scheduler_file, *FIELD, TWO_SERVERS)
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    monkeypatch.setattr(shared_files, "supported", lambda: False)
    run_generic_in_process(config, 4, ITERATIONS)

    errors = capfd.readouterr().err
    assert "raised:" not in errors, errors
    for server in (0, 1):
        note = f"[damaris-ref] note: server {server} sends its blocks to its Dask worker over"
        assert errors.count(note) == 1, errors
    for iteration in range(ITERATIONS):
        got = json.loads((tmp_path / f"sum_I{iteration}.json").read_text())["sum"]
        assert got == expected_global(np.dtype(np.int32), (8, 8), iteration).sum()
    assert not segment_holders(name)
    assert_no_workers_left(dask_client, name)
