"""One run of an implementation on a case: its command, exit, output and probe records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from damaris_ref.conformance.record import RunRecord

#: how many characters of stderr a failure message quotes
STDERR_TAIL = 600


@dataclass
class Run:
    """The outcome of one run; ``returncode`` is None when it timed out."""

    command: str
    workdir: Path
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timeout: float
    records: list[RunRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Exited 0 within the timeout and every probe record is readable."""
        return self.returncode == 0 and not self.problems

    def failure(self) -> str | None:
        """Why the run itself failed, naming the command; None when it succeeded."""
        if self.returncode is None:
            return f"timed out after {self.timeout:g} s: {self.command}"
        if self.returncode != 0:
            return (
                f"exit code {self.returncode}: {self.command}\n"
                f"stderr ends with:\n{self.stderr[-STDERR_TAIL:].rstrip() or '(empty)'}"
            )
        if self.problems:
            return "; ".join(self.problems)
        return None

    def by_place(self) -> dict[tuple[int, int], list[RunRecord]]:
        """Records grouped by (iteration, server); lists longer than 1 are repeated runs."""
        grouped: dict[tuple[int, int], list[RunRecord]] = {}
        for record in self.records:
            if record.server is not None and record.iteration is not None:
                grouped.setdefault((record.iteration, record.server), []).append(record)
        return grouped
