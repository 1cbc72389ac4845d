"""``--list-cases``: what the suite covers, shown before anything runs, so that a port author
sees which cases and checks apply to a port and which capabilities each one needs."""

from __future__ import annotations

from collections.abc import Sequence

from damaris_ref.conformance.cases import load_cases
from damaris_ref.conformance.checks import CHECKS

#: what a row shows when nothing optional is needed (every port must pass it)
REQUIRED = "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart at least."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    return ["  ".join([*map(str.ljust, row[:-1], widths), row[-1]]) for row in (header, *rows)]


def case_listing() -> str:
    """The data cases (id, needed capabilities, specification section), then the checks each
    case's run goes through (name, needed capability), then what else runs."""
    cases = [
        (c.id, ",".join(sorted(c.requires)) or REQUIRED, c.spec.removeprefix("specification.md "))
        for c in load_cases()
    ]
    checks = [("exit", REQUIRED), *((c.name, c.capability or REQUIRED) for c in CHECKS)]
    return "\n".join(
        [
            f"{len(cases)} data cases; each runs once and the checks below read its run",
            "",
            *_table(("case", "needs", "specification"), cases),
            "",
            *_table(("check", "needs"), checks),
            "",
            f"{REQUIRED}: needs nothing optional; every port must pass it. A case whose run must",
            "fail (error-*) has only the exit check; golden applies where upstream's numbers are",
            "known. Then --max-examples generated cases (default 10) vary the layout within the",
            "port's capabilities; what needs a capability the port lacks (--without) is skipped.",
            "With --ensemble-impl MODULE, the ensemble checks (test_ensemble.py) run too.",
        ]
    )
