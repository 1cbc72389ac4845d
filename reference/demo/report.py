"""Compare the simulation's totals with the servers' sums, per iteration, and print them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IterationCheck:
    """One iteration: the client total, each server's sum, and whether they agree."""

    iteration: int
    client_total: int | float | None
    server_sums: tuple[int | float, ...]

    @property
    def passed(self) -> bool:
        """True when the server sums add up exactly to the client total."""
        return self.client_total is not None and sum(self.server_sums) == self.client_total


def check_iterations(
    totals: Mapping[int, int | float],
    sums: Mapping[int, Sequence[int | float]],
    iterations: int,
) -> list[IterationCheck]:
    """One check per expected iteration (a missing line makes that iteration fail)."""
    return [
        IterationCheck(i, totals.get(i), tuple(sorted(sums.get(i, ())))) for i in range(iterations)
    ]


def print_table(checks: Sequence[IterationCheck]) -> None:
    """A small table: iteration, C++ total, Python sums, their sum, PASS/FAIL."""
    sums_header = "Python sums (per server)"
    print(f"{'iteration':>9}  {'C++ sum':>10}  {sums_header:<28}  {'total':>10}  result")
    for check in checks:
        sums = " + ".join(str(s) for s in check.server_sums) or "-"
        print(
            f"{check.iteration:>9}  {check.client_total!s:>10}  {sums:<28}  "
            f"{sum(check.server_sums)!s:>10}  {'PASS' if check.passed else 'FAIL'}"
        )
