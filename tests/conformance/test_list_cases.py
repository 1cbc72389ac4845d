"""``--list-cases`` shows a port author what the suite covers before anything runs: every data
case with the specification section it checks and the capabilities it needs, and every check
with the capability it needs."""

from __future__ import annotations

import re

from damaris_ref.conformance.cases import load_cases
from damaris_ref.conformance.checks import CHECKS
from damaris_ref.conformance.cli import main


def _rows(output: str) -> dict[str, list[str]]:
    """The table rows of the listing by their first column (columns: 2+ spaces apart)."""
    return {
        cells[0]: cells[1:]
        for cells in (re.split(r"\s{2,}", line.strip()) for line in output.splitlines())
        if cells[0]
    }


def test_every_case_is_listed_with_its_needs_and_its_section(capsys, tmp_path):
    assert main(["--list-cases", "--workdir", str(tmp_path / "runs")]) == 0
    rows = _rows(capsys.readouterr().out)
    for case in load_cases():
        needs = ",".join(sorted(case.requires)) or "-"
        assert rows[case.id] == [needs, case.spec.removeprefix("specification.md ")], case.id
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_every_check_is_listed_with_the_capability_it_needs(capsys):
    assert main(["--list-cases"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["exit"][0] == "-"
    for check in CHECKS:
        assert rows[check.name][0] == (check.capability or "-"), check.name
