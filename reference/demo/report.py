"""The demo's verdict per iteration: simulation total, per-server Python sums, Dask sum."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IterationCheck:
    """One iteration as server 0 recorded it."""

    iteration: int
    client_total: int
    server_sums: tuple[int, ...]
    dask_sum: int | None
    chunks: tuple[tuple[int, ...], ...] | None = None

    @property
    def dask_checked(self) -> bool:
        """Whether the global array was built and summed (no answering scheduler: not)."""
        return self.dask_sum is not None

    @property
    def passed(self) -> bool:
        """Server sums and the Dask sum both equal the simulation's total; an iteration whose
        Dask check never ran has not passed."""
        sums_agree = sum(self.server_sums) == self.client_total
        return sums_agree and self.dask_sum == self.client_total

    @property
    def verdict(self) -> str:
        """``PASS``, ``FAIL``, or ``NOT CHECKED`` when the sums agree but Dask never ran."""
        if self.passed:
            return "PASS"
        if not self.dask_checked and sum(self.server_sums) == self.client_total:
            return "NOT CHECKED (no Dask)"
        return "FAIL"


def read_checks(results: Path) -> list[IterationCheck]:
    """The records the demo script appended, in iteration order."""
    if not results.is_file():
        return []
    checks = []
    for line in results.read_text().splitlines():
        record = json.loads(line)
        checks.append(
            IterationCheck(
                record["iteration"],
                record["client_total"],
                tuple(record["server_sums"]),
                record["dask_sum"],
                None if record["chunks"] is None else tuple(map(tuple, record["chunks"])),
            )
        )
    return sorted(checks, key=lambda c: c.iteration)


def print_table(checks: Sequence[IterationCheck]) -> None:
    """Iteration, simulation total, Python sums per server, Dask sum, PASS/FAIL."""
    sums_header = "Python sums (per server)"
    print(f"{'iteration':>9}  {'C++ sum':>9}  {sums_header:<26}  {'Dask sum':>9}  result")
    for check in checks:
        sums = " + ".join(str(s) for s in check.server_sums)
        dask = "-" if check.dask_sum is None else str(check.dask_sum)
        print(
            f"{check.iteration:>9}  {check.client_total:>9}  {sums:<26}  {dask:>9}  {check.verdict}"
        )
