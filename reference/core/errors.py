"""The package's error family: one root, and one class per thing a caller does differently.

A command catches :class:`DamarisError` and prints its message on one line: it is a problem
the user can fix (a config key, a layout, an argument, an environment variable) or a run that
could not finish (a rank failed, a job timed out). Any other exception is a bug in this
package and keeps its traceback. Below the root, a caller catches the member that says what to
do next: fix the configuration (:class:`ConfigError`), fix the calling code
(:class:`UsageError`), look at the run (:class:`RunError`), fix the pyscript
(:class:`ScriptError`), look at the Dask cluster (:class:`DaskError`), or fix the conformance
suite's input (:class:`ConformanceError`). The details (which file, key, rank, command) are
attributes and the message, not further types; docs/architecture.md has the table.

The few subclasses elsewhere exist because some caller catches exactly them (the executables
go on after an :class:`~damaris_ref.runtime.client.UnknownNameError`; an MPI rank ends a job
with one line on a :class:`~damaris_ref.mocks.SimulationSetupError`) or an outside API names
them (``pdi.Error``). The earlier names of merged classes stay importable as aliases for one
release; docs/api.rst lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ConfigError",
    "ConformanceError",
    "DamarisError",
    "DaskError",
    "RunError",
    "ScriptError",
    "UsageError",
]


class DamarisError(Exception):
    """An error this package raises on purpose; its message alone tells the user what to fix."""


class ConfigError(DamarisError, ValueError):
    """A configuration that cannot be used: a file, a ``DAMARIS_*`` variable, or the layout
    its values give for this world size.

    ``file``, key/element ``path`` and ``line`` (1-based) say where, when the problem has a
    place in a file; ``key`` names the layout key (``"dimensions"`` or ``"global"``) whose
    values are wrong, when that is the problem. The message then reads
    ``<file>:<line>: <path>: <what is wrong>``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        path: str = "",
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.file is None and not self.path and self.line is None:
            return self.message
        file = "<config>" if self.file is None else self.file
        where = file if self.line is None else f"{file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class UsageError(DamarisError, ValueError):
    """A call the caller must change: bad arguments, an undeclared name, a call in the wrong
    state, blocks that do not tile a box, a sweep's bad input."""


class RunError(DamarisError, RuntimeError):
    """A run that could not finish: a rank failed, a job or process did not start or end as it
    should, or a transport could not deliver (full buffer, peer gone, timeout).

    ``command`` is the command line that was run (empty when none was), ``timeout`` the
    seconds it was given when it ran past them (else None).
    """

    def __init__(
        self, message: str, *, command: Sequence[str] = (), timeout: float | None = None
    ) -> None:
        super().__init__(message)
        self.command = list(command)
        self.timeout = timeout


class ScriptError(DamarisError):
    """A pyscript file that cannot be read, or that the checker cannot analyse."""


class DaskError(DamarisError, RuntimeError):
    """A Dask call that could not complete: no usable scheduler, a global array the servers
    could not build alike, statistics no worker holds any more."""


class ConformanceError(DamarisError, ValueError):
    """Input the conformance suite cannot use: a case, a command template, a deviations file,
    a probe record, or the upstream build it was pointed at."""


#: the earlier area classes: deprecated aliases, kept for one release (docs/api.rst)
DamarisConfigError = ConfigError
DamarisClientError = UsageError
DamarisTransportError = RunError
DamarisRunError = RunError
DamarisScriptError = ScriptError
DamarisDaskError = DaskError
DamarisConformanceError = ConformanceError
#: these two covered errors that are now in two members: the root catches all they did
DamarisLayoutError = DamarisError
DamarisEnsembleError = DamarisError
