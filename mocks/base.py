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
    """A mock simulation: ``main(damaris, comm, args)`` runs on every world rank."""

    name: str
    parser: Callable[[], argparse.ArgumentParser]
    main: Callable[[Any, Any, argparse.Namespace], Any]

    def parse_args(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse this simulation's command line (argparse exits 2 on bad usage)."""
        return self.parser().parse_args(list(argv))

    def rank_main(self, args: argparse.Namespace) -> Callable[[Any, Any], Any]:
        """A ``main(damaris, comm)`` closure over parsed arguments, for the engines."""
        return lambda damaris, comm: self.main(damaris, comm, args)
