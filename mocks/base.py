"""What every mock simulation provides: a name, an argument parser and a per-rank main."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class SimulationError(ValueError):
    """Invalid simulation arguments (reported as ``<name>: error: <message>``)."""


@dataclass(frozen=True)
class Simulation:
    """A mock simulation: ``client_loop(damaris, args)`` is what its client ranks compute."""

    name: str
    parser: Callable[[], argparse.ArgumentParser]
    client_loop: Callable[[Any, argparse.Namespace], Any]

    def main(self, damaris: Any, comm: Any, args: argparse.Namespace) -> None:
        """One world rank, as a real code does it: initialize, start, loop, stop, finalize."""
        damaris.initialize(args.config, comm)
        if damaris.start():
            self.client_loop(damaris, args)
            damaris.stop()
        damaris.finalize()

    def parse_args(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse this simulation's command line (argparse exits 2 on bad usage)."""
        return self.parser().parse_args(list(argv))

    def rank_main(self, args: argparse.Namespace) -> Callable[[Any, Any], Any]:
        """A ``main(damaris, comm)`` closure over parsed arguments, for the engines."""
        return lambda damaris, comm: self.main(damaris, comm, args)
