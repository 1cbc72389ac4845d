"""One run of an implementation on a case: its command, exit, output and probe records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from damaris_ref.conformance import probe

#: how many characters of stderr a failure message quotes
STDERR_TAIL = 600


@dataclass(frozen=True)
class Record:
    """What the probe wrote for one script run on one server."""

    file: str
    data: dict[str, Any]

    @property
    def server(self) -> int | None:
        """The server id from the ``S<server>`` tags; when no block arrived, what damaris4py
        says (None when neither tells, or the tags disagree)."""
        servers = self.data.get("tag_servers") or []
        if not servers:
            fallback = self.data.get("damaris4py", {}).get("server_id")
            return fallback if isinstance(fallback, int) else None
        return servers[0] if len(servers) == 1 else None

    @property
    def iteration(self) -> int | None:
        """``iteration_data["iteration"]`` as the script saw it."""
        value = self.data.get("iteration")
        return value if isinstance(value, int) else None

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        """Per variable: entry keys, type_string, sort_list and block records."""
        return self.data.get("variables", {})


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
    records: list[Record] = field(default_factory=list)
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

    def by_place(self) -> dict[tuple[int, int], list[Record]]:
        """Records grouped by (iteration, server); lists longer than 1 are repeated runs."""
        grouped: dict[tuple[int, int], list[Record]] = {}
        for record in self.records:
            if record.server is not None and record.iteration is not None:
                grouped.setdefault((record.iteration, record.server), []).append(record)
        return grouped


def load_records(directory: Path) -> tuple[list[Record], list[str]]:
    """Read every probe record of a run, and describe those that cannot be used."""
    records, problems = [], []
    for path in _record_files(directory):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problems.append(f"probe record {path.name} is unreadable: {error}")
            continue
        if data.get("probe_format") != probe.PROBE_FORMAT:
            problems.append(
                f"probe record {path.name} has format {data.get('probe_format')!r}, "
                f"this suite reads {probe.PROBE_FORMAT}: use the probe.py shipped with it"
            )
        elif "probe_error" in data:
            problems.append(f"the probe failed inside the port: {data['probe_error']}")
        else:
            records.append(Record(path.name, data))
    return records, problems


def _record_files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))
