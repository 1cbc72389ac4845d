"""The port's conformance tests: every data case through every check, then generated cases.

Test ids read ``test_case[<case id>/<check>]``; skip and xfail files match substrings of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from damaris_ref.conformance.cases import load_cases
from damaris_ref.conformance.checks import checks_for
from damaris_ref.conformance.plugin import Suite


def _parameters() -> Iterator[object]:
    for case in load_cases():
        yield pytest.param(case, None, id=f"{case.id}/exit")
        for check in checks_for(case):
            yield pytest.param(case, check, id=f"{case.id}/{check.name}")


@pytest.mark.parametrize(("case", "check"), list(_parameters()))
def test_case(case, check, suite: Suite, request: pytest.FixtureRequest) -> None:
    """One check of one data case (the case runs once; its checks share the run)."""
    suite.verify(case, check, request.node)


def test_generated_cases(suite: Suite) -> None:
    """Layouts and arguments drawn by Hypothesis, checked like the data cases."""
    suite.verify_generated()
