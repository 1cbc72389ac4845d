"""``damaris-ref demo``, the README's first command: it checks every iteration through Dask,
writes its plot, and refuses in one line a ``--scheduler-file`` that names no answering
scheduler."""

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


UNUSABLE_FILES = {
    "garbage": ("{not json", "is not JSON"),
    "a closed port": (
        '{"address": "tcp://127.0.0.1:9", "type": "Scheduler"}',
        "nothing listens at tcp://127.0.0.1:9",
    ),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(UNUSABLE_FILES))
def test_an_unusable_scheduler_file_is_one_error_line_before_anything_starts(tmp_path, case):
    content, why = UNUSABLE_FILES[case]
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    done = demo(tmp_path, "-i", "1", "--scheduler-file", str(bad), "--no-plot")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()], done.stderr  # one line
    # why it failed, not "no scheduler answered within 10 s": neither waited out the check
    assert done.stderr.startswith("damaris-ref demo: error: ") and why in done.stderr
    assert str(bad) in done.stderr
    assert not (tmp_path / "results.jsonl").exists()  # no simulation ran


@pytest.mark.timeout(300)
def test_the_demo_takes_the_seeds_own_dask_file(tmp_path):
    seed = Path(__file__).resolve().parents[2] / "examples" / "3dmesh_dask.yml"
    done = demo(tmp_path, str(seed), "-i", "2", "--no-plot")
    assert done.returncode == 0, done.stdout + done.stderr
    totals = case_by_id("seed-domains-6ranks-2cores-d4-r").expect.client_totals[:2]
    assert [(r[0], r[1], r[4], r[5]) for r in ROW.findall(done.stdout)] == [
        (str(i), str(t), str(t), "PASS") for i, t in enumerate(totals)
    ], done.stdout
