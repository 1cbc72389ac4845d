"""Ratio lines and a JSON record for every benchmark: each cost against a floor of the same run.

A floor is what the measured work cannot beat, timed in the same process and run (a
``numpy.copyto`` of the same bytes, a ``numpy.sum`` in one process, the same Dask graph on data
already in worker memory, a bare parse...), so that a loaded machine slows both alike and runs
on different machines compare by their ratios. Each benchmark adds its ratios to a
:class:`FloorReport`, which prints one line per ratio::

    ratio: write_blocks / numpy.copyto = 1.31x (1.59 / 1.21 ms; goal <= 1.5x: met)

and writes them, with the benchmark's table and settings, as JSON (``--json PATH``, by
default ``<benchmark>.json`` in its output folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Ratio:
    """One cost over its floor, both in ``unit``; ``goal`` is the largest ratio aimed at."""

    what: str
    value: float
    floor_name: str
    floor: float
    unit: str = "ms"
    goal: float | None = None

    @property
    def ratio(self) -> float:
        """``value / floor`` (infinite for a floor of 0)."""
        return self.value / self.floor if self.floor else float("inf")

    def line(self) -> str:
        """The printed line: the ratio first, then the two figures and the goal, if any."""
        text = (
            f"ratio: {self.what} / {self.floor_name} = {self.ratio:.2f}x "
            f"({self.value:.4g} / {self.floor:.4g} {self.unit}"
        )
        if self.goal is not None:
            text += f"; goal <= {self.goal:g}x: {'met' if self.ratio <= self.goal else 'NOT met'}"
        return text + ")"


@dataclass
class FloorReport:
    """The ratios of one benchmark run, printed and written together."""

    benchmark: str
    ratios: list[Ratio] = field(default_factory=list)

    def add(
        self,
        what: str,
        value: float,
        floor_name: str,
        floor: float,
        *,
        unit: str = "ms",
        goal: float | None = None,
    ) -> float:
        """Record ``value`` against ``floor``; return the ratio."""
        entry = Ratio(what, value, floor_name, floor, unit, goal)
        self.ratios.append(entry)
        return entry.ratio

    def finish(self, path: Path, table: Any = None, settings: dict | None = None) -> None:
        """Print the ratio lines and write them, ``table`` and ``settings`` to ``path``."""
        for entry in self.ratios:
            print(entry.line())
        document = {
            "benchmark": self.benchmark,
            "settings": settings or {},
            "machine": machine(),
            "ratios": [asdict(r) | {"ratio": r.ratio} for r in self.ratios],
            "table": table,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        print(f"written: {path}")


def machine() -> dict[str, Any]:
    """What the figures depend on beyond the code: Python, NumPy, processor count."""
    import numpy

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "argv": sys.argv[1:],
    }


def add_output_options(parser: argparse.ArgumentParser, benchmark: str) -> None:
    """``--out FOLDER`` (default ``out/<benchmark>``) and ``--json PATH`` (default
    ``FOLDER/<benchmark>.json``); read the JSON path back with :func:`json_path`."""
    parser.add_argument("--out", type=Path, default=Path("out") / benchmark, help="output folder")
    parser.add_argument(
        "--json", type=Path, default=None, help=f"ratio record (default OUT/{benchmark}.json)"
    )


def json_path(args: argparse.Namespace, benchmark: str) -> Path:
    """Where the ratio record goes: ``--json``, or ``<benchmark>.json`` in ``--out``."""
    return args.json if args.json is not None else args.out / f"{benchmark}.json"
