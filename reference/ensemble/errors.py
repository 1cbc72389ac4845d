"""The error of a simulation task that did not produce a result.

It carries what a user needs to act without re-running by hand: the command, the exit code and
the tail of stderr (at most :data:`damaris_ref.launch.process_output.TAIL_LINES` lines). It
pickles by value, so it survives the trip from a Dask worker.
"""

from __future__ import annotations

from collections.abc import Sequence

from damaris_ref.core.errors import RunError
from damaris_ref.launch.process_output import TAIL_CHARS
from damaris_ref.launch.processes import describe_exit


def tail(text: str, lines: int, chars: int = TAIL_CHARS) -> str:
    """Return the last ``lines`` lines of ``text``, at most ``chars`` characters."""
    kept = "\n".join(text.rstrip().splitlines()[-lines:])
    return kept[-chars:]


class SimulationError(RunError):
    """A simulation process did not deliver a decodable result.

    ``kind`` says how: ``"failed"`` (a non-zero exit status, or killed by a signal),
    ``"timeout"`` (ran past its time limit and was killed) or ``"output"`` (exited normally,
    but its stdout held no decodable result); ``reason``, ``command``, ``returncode`` and
    ``stderr_tail`` say the rest. A class of its own because it pickles by value from a Dask
    worker, and a sweep's caller can tell one failed task from a failed sweep.
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: str,
        command: Sequence[str],
        returncode: int | None,
        stderr_tail: str = "",
    ) -> None:
        message = f"{reason}\n  command: {' '.join(command)}"
        if returncode is not None:
            message += f"\n  {describe_exit(returncode)}"
        if stderr_tail:
            message += "\n  stderr (tail):\n    " + stderr_tail.replace("\n", "\n    ")
        super().__init__(message, command=command)
        self.reason = reason
        self.kind = kind
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (
            _rebuild,
            (self.reason, self.kind, self.command, self.returncode, self.stderr_tail),
        )


def _rebuild(
    reason: str, kind: str, command: Sequence[str], returncode: int | None, stderr_tail: str
) -> SimulationError:
    return SimulationError(
        reason, kind=kind, command=command, returncode=returncode, stderr_tail=stderr_tail
    )


#: the earlier names of the three kinds: deprecated aliases, kept for one release
SimulationFailed = SimulationError
SimulationTimeout = SimulationError
SimulationOutputError = SimulationError
