"""Errors raised when a simulation task does not produce a result.

They carry what a user needs to act without re-running by hand: the command, the exit code and
the tail of stderr (at most :data:`damaris_ref.launch.process_output.TAIL_LINES` lines). They
pickle by value, so they survive the trip from a Dask worker.
"""

from __future__ import annotations

from collections.abc import Sequence

from damaris_ref.core.errors import DamarisEnsembleError
from damaris_ref.launch.process_output import TAIL_CHARS
from damaris_ref.launch.processes import describe_exit


def tail(text: str, lines: int, chars: int = TAIL_CHARS) -> str:
    """Return the last ``lines`` lines of ``text``, at most ``chars`` characters."""
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


class SimulationError(DamarisEnsembleError, RuntimeError):
    """A simulation process did not deliver a decodable result.

    Also a ``RuntimeError``, as before the common root, for callers that catch that.
    """

    def __init__(
        self,
        reason: str,
        *,
        command: Sequence[str],
        returncode: int | None,
        stderr_tail: str = "",
    ) -> None:
        self.reason = reason
        self.command = list(command)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        message = f"{reason}\n  command: {' '.join(self.command)}"
        if returncode is not None:
            message += f"\n  {describe_exit(returncode)}"
        if stderr_tail:
            message += "\n  stderr (tail):\n    " + stderr_tail.replace("\n", "\n    ")
        super().__init__(message)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (
            _rebuild,
            (type(self), self.reason, self.command, self.returncode, self.stderr_tail),
        )


def _rebuild(
    cls: type[SimulationError],
    reason: str,
    command: Sequence[str],
    returncode: int | None,
    stderr_tail: str,
) -> SimulationError:
    return cls(reason, command=command, returncode=returncode, stderr_tail=stderr_tail)


class SimulationFailed(SimulationError):
    """The simulation exited with a non-zero status (or was killed by a signal)."""


class SimulationTimeout(SimulationError):
    """The simulation ran longer than its timeout and was killed."""


class SimulationOutputError(SimulationError):
    """The simulation exited normally but its stdout held no decodable result."""
