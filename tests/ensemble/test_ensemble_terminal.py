"""What ``damaris-ref ensemble --progress`` leaves on a terminal: the bar on its own last
line, each child's logged stderr on lines of its own above it, and no Dask ``Compute Failed``
report beside the command's own failure line."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import pytest

from damaris_ref.ensemble import cluster
from damaris_ref.ensemble.progress import ProgressBar
from damaris_ref.ensemble.quiet_logs import (
    WORKER_LOGGER,
    not_compute_failed,
    not_heartbeat_failure,
)

pytestmark = pytest.mark.timeout(120)


def screen(text: str) -> list[str]:
    """The lines a terminal shows for ``text``: a carriage return goes back to the start of
    the line, and what is written then overwrites it."""
    lines, line, column = [], [], 0
    for char in text:
        if char == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif char == "\r":
            column = 0
        else:
            line[column : column + 1] = [char]
            column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def test_text_written_while_the_bar_is_drawn_goes_above_it():
    stream = io.StringIO()
    with ProgressBar(3, stream, draw=True).shown() as bar:
        bar.update(failed=False)
        bar.write_above("stderr of sim:\nwarning: one")
        bar.update(failed=True)
        bar.write_above("warning: two\n")
        assert screen(stream.getvalue()) == [
            "stderr of sim:",
            "warning: one",
            "warning: two",
            "[####################..........] 2/3 done, 1 failed",
        ]
        bar.update(failed=False)
    bar.write_above("after the end")
    assert screen(stream.getvalue())[-2:] == [
        "[##############################] 3/3 done, 1 failed",
        "after the end",
    ]


def test_the_final_bar_is_the_summary_line_even_with_no_failure():
    stream = io.StringIO()
    with ProgressBar(2, stream, draw=True).shown() as bar:
        bar.update(failed=False)
        bar.update(failed=False)
    assert stream.getvalue().endswith("\r[##############################] 2/2 done\n")


def test_log_records_go_above_the_bar_when_logging_is_not_configured(monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a plain program
    stream = io.StringIO()
    with ProgressBar(2, stream, draw=True).shown() as bar:
        bar.update(failed=False)
        logging.getLogger("damaris_ref.ensemble.runner").warning("stderr of sim:\nwarning: x")
        logging.getLogger("damaris_ref.ensemble.runner").info("not shown, as by default")
        assert screen(stream.getvalue()) == [
            "stderr of sim:",
            "warning: x",
            "[###############...............] 1/2 done",
        ]
    assert logging.getLogger().handlers == []


def test_only_daskss_compute_failed_record_is_filtered():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("distributed.worker", logging.ERROR, "", 0, message, (), None)

    assert not not_compute_failed(record("Compute Failed\nKey:       run_simulation-1\n"))
    assert not_compute_failed(record("Worker stream died during communication"))


def test_only_dasks_failed_heartbeat_record_is_filtered():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("distributed.worker", logging.ERROR, "", 0, message, (), None)

    assert not not_heartbeat_failure(
        record("Failed to communicate with scheduler during heartbeat.")
    )
    assert not_heartbeat_failure(record("Compute Failed\nKey:       run_simulation-1\n"))


def test_the_embedded_cluster_drops_failed_heartbeats_while_it_closes_and_only_then(
    monkeypatch,
):
    """A heartbeat in flight when the cluster closes fails, and Dask would log that with a
    traceback (seen as a traceback between the bar and the failures in CI)."""
    worker_log = logging.getLogger(WORKER_LOGGER)
    filtered_at_close = []

    class Recording(cluster.LocalCluster):
        def close(self, *args, **kwargs):
            filtered_at_close.append(not_heartbeat_failure in worker_log.filters)
            return super().close(*args, **kwargs)

    monkeypatch.setattr(cluster, "LocalCluster", Recording)
    with cluster.open_client(n_workers=1, threads_per_worker=1) as client:
        assert client.submit(sum, [1, 2]).result(timeout=60) == 3
        assert not_heartbeat_failure not in worker_log.filters
    assert filtered_at_close and all(filtered_at_close)
    assert not_heartbeat_failure not in worker_log.filters  # no logging state left behind


def test_the_cli_keeps_the_bar_and_the_childrens_stderr_apart(sim):
    options = ["--param", "a=1,2,3", "--workers", "1", "--threads-per-worker", "1", "--progress"]
    done = subprocess.run(  # bytes: text mode would turn the bar's carriage returns into lines
        [sys.executable, "-m", "damaris_ref.cli", "ensemble", sim("noisy_steps"), *options],
        capture_output=True,
        timeout=90,
        check=False,
    )
    stderr = done.stderr.decode()
    lines = screen(stderr)
    assert done.returncode == 1, stderr
    assert "Compute Failed" not in stderr, stderr
    for step in (1, 2, 3):  # one record per line, after the script and its pid
        expected = re.compile(rf"\S*noisy_steps\.py\[\d+\]: warning: step {step} looks large")
        assert any(expected.fullmatch(line) for line in lines), lines
    bars = [line for line in lines if "done" in line]
    assert bars == ["[##############################] 3/3 done, 1 failed"], lines
    assert lines[lines.index(bars[0]) + 1].startswith("task 1 {'a': 2} failed"), lines
