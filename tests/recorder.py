"""Records what every script run receives, through the engine's observer hook.

Each run becomes a run record, the format of the conformance probe: the probe's own
``observe`` builds it and :func:`damaris_ref.conformance.record.parse` reads it, so these
tests, the MPI tests (``tests/scripts/mpi_record.py``) and ports all see the same thing. The
blocks are kept too (copied: they are views of server memory).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from damaris_ref.conformance import probe
from damaris_ref.conformance.record import RunRecord, nest_arrays, parse


@dataclass
class Recorder:
    """Thread-safe list of run records; pass ``recorder.observe`` as the engine observer."""

    observations: list[RunRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, server: int, pyscript: str, damaris_data: dict) -> None:
        """Record one run of ``pyscript`` on ``server``."""
        data = probe.observe(damaris_data, server=server, helpers=False)
        arrays = {name: a.copy() for name, a in probe.block_arrays(damaris_data).items()}
        observation = parse(data, f"server {server} {pyscript}", nest_arrays(arrays))
        with self._lock:
            self.observations.append(observation)

    def server_sums(self, variable: str, iteration: int) -> dict[int, int | float]:
        """Per-server sum of a variable's blocks at an iteration (what a Python script sums)."""
        return {
            o.server: o.block_sum(variable) for o in self.observations if o.iteration == iteration
        }
