"""What every mock simulation provides: a name, an argument parser and a per-rank main."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO

from damaris_ref import UnknownNameError
from damaris_ref.core.errors import UsageError


class SimulationSetupError(UsageError):
    """Arguments or a world size a mock simulation cannot run with.

    A class of its own because every rank meets it alike: an MPI rank ends the job with one
    line and status 1 on it, where a usage error on one rank aborts the job at once."""


@dataclass(frozen=True)
class Simulation:
    """A mock simulation: ``client_loop(damaris, args)`` is what its client ranks compute."""

    name: str
    parser: Callable[[], argparse.ArgumentParser]
    client_loop: Callable[[Any, argparse.Namespace], Any]

    #: errors every rank meets alike, which end an MPI job with one line (not an abort)
    shared_errors: ClassVar[tuple[type[BaseException], ...]] = (SimulationSetupError,)

    def main(self, damaris: Any, comm: Any, args: argparse.Namespace) -> None:
        """One world rank, as a real code does it: initialize, start, loop, stop, finalize."""
        damaris.initialize(args.config, comm)
        if damaris.start():
            self.client_loop(damaris, args)
            damaris.stop()
        damaris.finalize()

    def parse_args(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse this simulation's command line. Bad usage and a value out of its bounds (``-i``
        0..2**31-1, ``-s`` finite from 0 to a day, ``-d`` >= 1: see
        :mod:`damaris_ref.core.arg_types`) exit 2 with the usage and a message naming the option."""
        return self.parser().parse_args(list(argv))

    def rank_main(self, args: argparse.Namespace) -> Callable[[Any, Any], Any]:
        """A ``main(damaris, comm)`` closure over parsed arguments, for the engines."""
        return lambda damaris, comm: self.main(damaris, comm, args)


class UndeclaredNames:
    """Calls that may name a variable or parameter the configuration does not declare.

    Upstream's C API answers such a call with an error code, and its example simulations
    ignore it: the run goes on. The seed executables do the same, so that upstream's own
    example configurations (which leave out some of the variables they write) run unchanged.
    Each name is warned about once, on stderr, by the ranks with ``report`` set (every client
    reads the same configuration, so one reporting client is enough).
    """

    def __init__(self, program: str, report: bool = True, stream: TextIO | None = None):
        self.program = program
        self._report = report
        self._stream = stream
        self._warned: set[str] = set()

    def call(self, method: Callable[..., Any], name: str, *args: Any) -> bool:
        """``method(name, *args)``; False (after the first warning for ``name``) if undeclared."""
        try:
            method(name, *args)
        except UnknownNameError as error:
            if self._report and name not in self._warned:
                self._warned.add(name)
                stream = self._stream or sys.stderr
                stream.write(f"{self.program}: warning: {error}; ignored, the run goes on\n")
                stream.flush()
            return False
        return True
