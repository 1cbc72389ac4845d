"""Run the conformance suite the way a port author does: a subprocess with a JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


@dataclass
class SuiteRun:
    """Exit status, JSON report and output of one suite run."""

    returncode: int
    report: dict[str, Any]
    output: str

    def failure(self, test_id: str) -> dict[str, Any]:
        """The report's entry for a failed test (a readable error when it did not fail)."""
        for failure in self.report["failures"]:
            if failure["id"] == test_id:
                return failure
        failed = [f["id"] for f in self.report["failures"]]
        raise AssertionError(f"{test_id} did not fail; failures: {failed}\n{self.output[-3000:]}")


@pytest.fixture
def run_suite(tmp_path: Path):
    """``run_suite(*args, env={...})`` runs ``python -m damaris_ref.conformance`` in
    ``tmp_path``, its runs in ``tmp_path/work`` (``workdir=False``: the suite's own choice)."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 600, workdir: bool = True
    ) -> SuiteRun:
        report = tmp_path / "report.json"
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = os.pathsep.join([str(HERE), child_env.get("PYTHONPATH", "")])
        command = [sys.executable, "-m", "damaris_ref.conformance", "-q", "--report-json"]
        where = ["--workdir", str(tmp_path / "work")] if workdir else []
        done = subprocess.run(
            [*command, str(report), *where, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env,
            cwd=tmp_path,
        )
        data = json.loads(report.read_text()) if report.exists() else {}
        return SuiteRun(done.returncode, data, done.stdout + done.stderr)

    return run
