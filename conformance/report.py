"""The machine-readable verdict: a JSON summary beside pytest's JUnit XML.

It names the suite version (and a digest of the case files), the implementation with its
capabilities, and every failed test with its case, check, specification section and first
difference.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from damaris_ref import __version__
from damaris_ref.conformance import SUITE_VERSION
from damaris_ref.conformance.cases import CASES_DIR, SCHEMA_PATH

#: outcomes a report counts, in the order they are listed
OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "unexpected-pass", "error")


def _cases_digest() -> str:
    """SHA-256 over the schema and every case file: which exact cases were run."""
    digest = hashlib.sha256()
    for path in [SCHEMA_PATH, *sorted(CASES_DIR.glob("*.yaml"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _outcome_of(report: pytest.TestReport) -> str | None:
    """The outcome a phase report decides, or None when it decides nothing."""
    if report.when == "teardown":
        return "error" if report.failed else None
    if report.when == "setup" and report.passed:
        return None
    xfail = hasattr(report, "wasxfail")
    if report.skipped:
        return "xfailed" if xfail else "skipped"
    if report.passed:
        return "xpassed" if xfail else "passed"
    if report.longreprtext.startswith("[XPASS(strict)]"):
        return "unexpected-pass"
    return "failed" if report.when == "call" else "error"


def _message(report: pytest.TestReport) -> str:
    """The reason or failure text: a skip's reason, a failure's message without traceback."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    return text.removeprefix("Failed: ")


class Report:
    """Collects one result per test and writes the summary."""

    def __init__(self) -> None:
        self.started = time.time()
        self.results: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record the phase report that decides a test's outcome (a pytest hook)."""
        outcome = _outcome_of(report)
        if outcome is None:
            return
        properties = dict(report.user_properties)
        text = _message(report) if outcome != "passed" else ""
        self.results.append(
            {
                "id": report.nodeid,
                "outcome": outcome,
                **{k: properties[k] for k in ("case", "check", "spec", "tier") if k in properties},
                "message": text.splitlines()[0] if text else "",
                "details": text,
                **{k: properties[k] for k in ("command", "run_seconds") if k in properties},
            }
        )

    def counts(self) -> dict[str, int]:
        """How many tests ended in each outcome."""
        return {o: sum(r["outcome"] == o for r in self.results) for o in OUTCOMES}

    def summary(self, implementation: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """The JSON document: versions, implementation, counts, failures, unexpected passes."""
        failing = ("failed", "error", "unexpected-pass")
        return {
            "suite": "damaris-reference conformance",
            "suite_version": SUITE_VERSION,
            "package_version": __version__,
            "cases_sha256": _cases_digest(),
            "implementation": implementation,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration_seconds": round(time.time() - self.started, 3),
            **extra,
            "counts": self.counts(),
            "failures": [
                {k: v for k, v in r.items() if k != "outcome"}
                for r in self.results
                if r["outcome"] in failing
            ],
            "unexpected_passes": [
                r["id"] for r in self.results if r["outcome"] in ("xpassed", "unexpected-pass")
            ],
            "skipped": [
                {"id": r["id"], "reason": r["message"]}
                for r in self.results
                if r["outcome"] == "skipped"
            ],
        }

    def write(self, path: Path, summary: dict[str, Any]) -> None:
        """Write the summary as indented JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
