"""Known deviations: differences the suite expects from one port, each tied to a spec §9 item.

A port that is known to differ on a point (a bug it has not fixed yet) ships a deviations
file instead of a skip list. Each entry names the checks it affects, which cases it concerns
and, optionally, the wording of the differences it explains. A check whose differences are
all explained is reported as an expected failure whose reason names the §9 item; any other
difference still fails; and a check that an entry expects to fail but which passes is an
unexpected pass (unless the entry is ``flaky``), so a fix in the port shows up at once.

The file is YAML::

    port: upstream Damaris 1.7.1
    deviations:
      - item: "9.2"                      # spec §9 item
        reason: sort_list tags lose the magic number from iteration 1 on
        checks: [damaris-data]           # check names; "exit" is the exit check
        messages: ["sort_list tag S\\d+_I[1-9]\\d*_, expected"]   # regexes (default: any)
        min_script_iterations: 2         # only cases whose script runs this often
        requires: standalone             # only cases needing this capability
        excludes: standalone             # no case needing this capability
        flaky: false                     # true: it may or may not happen in a run

Its shape is ``deviations.schema.json`` (shipped with the suite): a file that does not follow
it, or is not UTF-8 text, is refused with the file, line and key, so that a typo never turns
into a wrong verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from damaris_ref.conformance.cases import Case
from damaris_ref.core.config.errors import ConfigError
from damaris_ref.core.config.schema import JsonSchema
from damaris_ref.core.config.yaml_tree import YamlLocator, parse
from damaris_ref.core.errors import ConformanceError

DEVIATIONS_DIR = Path(__file__).parent / "deviations"
#: the JSON Schema every deviations file follows (shipped for ports to validate theirs)
SCHEMA_PATH = Path(__file__).with_name("deviations.schema.json")


class KnownDeviation(ConformanceError, AssertionError):
    """Raised by a check whose every difference a known deviation explains.

    A class of its own because the suite reports it as known, not as a failure; also an
    ``AssertionError``, so pytest reports it as a failed check.
    """


@dataclass(frozen=True)
class Deviation:
    """One known difference of the port."""

    item: str
    reason: str
    checks: tuple[str, ...]
    messages: tuple[re.Pattern[str], ...] = ()
    min_script_iterations: int = 1
    requires: str | None = None
    excludes: str | None = None
    flaky: bool = False
    source: str = ""

    def applies(self, case: Case, check: str) -> bool:
        """Whether this deviation concerns ``check`` of ``case``."""
        if check not in self.checks or case.expect_error is not None:
            return False
        if self.requires is not None and self.requires not in case.requires:
            return False
        if self.excludes is not None and self.excludes in case.requires:
            return False
        runs = sum(1 for i in range(case.iterations) if i % case.frequency == 0)
        return runs >= self.min_script_iterations

    def explains(self, message: str) -> bool:
        """Whether ``message`` is a difference of this deviation."""
        return not self.messages or any(p.search(message) for p in self.messages)

    def describe(self) -> str:
        """``spec §9.N: reason (file)``, the reason an expected failure is reported with."""
        return f"known deviation, spec §{self.item}: {self.reason} ({self.source})"


@dataclass(frozen=True)
class Deviations:
    """Every known deviation of one port."""

    port: str = ""
    entries: tuple[Deviation, ...] = ()

    def applicable(self, case: Case, check: str) -> tuple[Deviation, ...]:
        """The deviations that concern ``check`` of ``case``."""
        return tuple(d for d in self.entries if d.applies(case, check))

    def unexplained(self, case: Case, check: str, messages: Iterable[str]) -> list[str]:
        """The differences no applicable deviation explains."""
        found = self.applicable(case, check)
        return [m for m in messages if not any(d.explains(m) for d in found)]


def resolve(name_or_path: str) -> Path:
    """A shipped deviations file by name (``upstream-1.7.1``) or any file by path."""
    shipped = DEVIATIONS_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    path = Path(name_or_path)
    if path.is_file():
        return path
    names = ", ".join(sorted(p.stem for p in DEVIATIONS_DIR.glob("*.yaml")))
    raise ConformanceError(
        f"no deviations file {name_or_path!r}: give a path or a shipped name ({names})"
    )


@cache
def deviations_schema() -> JsonSchema:
    """The schema of a deviations file, with the project's wording of its violations."""
    return JsonSchema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def load_deviations(name_or_path: str | None) -> Deviations:
    """Read and check a deviations file; ``None`` gives no deviations."""
    if not name_or_path:
        return Deviations()
    path = resolve(name_or_path)
    try:
        document, root = parse(_utf8_text(path), path)
        where = YamlLocator(path, (), root)
        deviations_schema().check(document, where)
        entries = tuple(
            _entry(raw, path.name, index, where) for index, raw in enumerate(document["deviations"])
        )
    except ConfigError as error:
        raise ConformanceError(str(error)) from None
    return Deviations(str(document.get("port", path.stem)), entries)


def _utf8_text(path: Path) -> str:
    """The file's text; a located error for a byte that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", file=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"not UTF-8 text: byte 0x{data[error.start]:02x} cannot be decoded; "
            "save the file as UTF-8",
            file=path,
            line=line,
        ) from None


def _entry(raw: dict[str, Any], name: str, index: int, where: YamlLocator) -> Deviation:
    """One schema-valid entry; its regular expressions are compiled (and checked) here."""
    messages = []
    for number, text in enumerate(raw.get("messages", ())):
        try:
            messages.append(re.compile(text))
        except re.error as error:
            raise where.error(
                ("deviations", index, "messages", number), f"bad regular expression: {error}"
            ) from None
    return Deviation(
        item=raw["item"],
        reason=raw["reason"],
        checks=tuple(raw["checks"]),
        messages=tuple(messages),
        min_script_iterations=raw.get("min_script_iterations", 1),
        requires=raw.get("requires"),
        excludes=raw.get("excludes"),
        flaky=raw.get("flaky", False),
        source=f"{name}[{index}]",
    )
