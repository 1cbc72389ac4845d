"""``damaris-ref demo``, the README's first command: it checks every iteration through Dask,
writes its plot, and says NOT CHECKED (and fails) when no scheduler answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from damaris_ref.conformance.cases import case_by_id

from processes import live_commands

ROW = re.compile(r"^\s+(\d+)\s+(\d+)\s+(\d+) \+ (\d+)\s+(\S+)\s+(.+)$", re.MULTILINE)


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "damaris_ref.cli", "demo", "--out", str(tmp_path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)


@pytest.mark.timeout(300)
def schedulers() -> set[int]:
    return {
        pid for pid, argv in live_commands().items() if any("dask_scheduler" in a for a in argv)
    }


def test_the_demo_checks_every_iteration_and_plots(tmp_path):
    before = schedulers()
    done = demo(tmp_path, "-i", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = ROW.findall(done.stdout)
    # the demo is the domains golden case (6 ranks, 2 cores, DEPTH 16, -d 4, -r)
    totals = case_by_id("seed-domains-6ranks-2cores-d4-r").expect.client_totals[:2]
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [
        (str(i), str(t), str(t), "PASS") for i, t in enumerate(totals)
    ], done.stdout
    assert all(int(r[2]) + int(r[3]) == int(r[1]) for r in rows)
    assert (tmp_path / "demo.png").stat().st_size > 0
    # nothing it published was lost: no server warns about its worker's data
    assert "no other worker could take" not in done.stderr, done.stderr
    # it stopped what it started: its scheduler and every rank (their argv name tmp_path)
    assert schedulers() <= before
    assert not [a for a in live_commands().values() if any(str(tmp_path) in x for x in a)]


@pytest.mark.timeout(300)
def test_without_an_answering_scheduler_the_demo_says_not_checked_and_fails(tmp_path):
    dead = tmp_path / "dead.json"
    dead.write_text('{"address": "tcp://127.0.0.1:9", "type": "Scheduler"}')
    done = demo(tmp_path, "-i", "1", "--scheduler-file", str(dead), "--no-plot")
    assert done.returncode == 1, done.stdout + done.stderr
    assert [r[5] for r in ROW.findall(done.stdout)] == ["NOT CHECKED (no Dask)"], done.stdout
    assert "NOT CHECKED: no Dask scheduler answered" in done.stdout
    assert "PASS" not in done.stdout


@pytest.mark.timeout(300)
def test_the_demo_takes_the_seeds_own_dask_file(tmp_path):
    seed = Path(__file__).resolve().parents[2] / "examples" / "3dmesh_dask.yml"
    done = demo(tmp_path, str(seed), "-i", "2", "--no-plot")
    assert done.returncode == 0, done.stdout + done.stderr
    totals = case_by_id("seed-domains-6ranks-2cores-d4-r").expect.client_totals[:2]
    assert [(r[0], r[1], r[4], r[5]) for r in ROW.findall(done.stdout)] == [
        (str(i), str(t), str(t), "PASS") for i, t in enumerate(totals)
    ], done.stdout
