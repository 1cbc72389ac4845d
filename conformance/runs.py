"""One run of an implementation on a case: its command, exit, output and probe records."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from damaris_ref.conformance.record import RunRecord

#: how many characters of stderr a failure message quotes
STDERR_TAIL = 600
#: bytes of a port's stdout or stderr kept in memory from its start, and from its end; the
#: whole stream stays in the run's folder
OUTPUT_HEAD_BYTES = 512 * 1024
OUTPUT_TAIL_BYTES = 512 * 1024


def read_bounded(path: Path) -> str:
    """The text of an output file, or, past :data:`OUTPUT_HEAD_BYTES` +
    :data:`OUTPUT_TAIL_BYTES`, its first and last whole lines around one line that says how
    much was left out and where the whole output is."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size <= OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES:
            return file.read().decode(errors="replace")
        head = file.read(OUTPUT_HEAD_BYTES)
        file.seek(size - OUTPUT_TAIL_BYTES)
        tail = file.read(OUTPUT_TAIL_BYTES)
    head = head[: head.rfind(b"\n") + 1]  # whole lines only
    tail = tail[tail.find(b"\n") + 1 :]
    left_out = size - len(head) - len(tail)
    note = f"[... {left_out} bytes left out here; the whole output is in {path} ...]\n"
    return head.decode(errors="replace") + note + tail.decode(errors="replace")


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
