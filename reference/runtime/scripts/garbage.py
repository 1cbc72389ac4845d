"""The garbage collection upstream's server runs after every pyscript run, at a small cost.

After each run ``iteration_data`` is deleted and ``gc.collect()`` runs (spec §3), so that a
script that kept a block without copying it is caught early. A full collection walks every
object the process holds: with NumPy, Dask and ``distributed`` imported that is some 70,000
objects and about 20 ms per run, on every iteration. So after the first run's collection, what
survived it (the imported modules, the Dask client, the namespaces) is frozen with
``gc.freeze()``: later collections walk only what the scripts made since, and still free every
cycle of it. Objects frozen that later become cyclic garbage are freed when the server finishes
(:meth:`IterationCollector.release`); acyclic ones are freed at once, as always.
"""

from __future__ import annotations

import gc

__all__ = ["IterationCollector"]


class IterationCollector:
    """One server's collections after its script runs (see the module's docstring).

    It freezes only when nothing else has (``gc.get_freeze_count() == 0``), so it never thaws
    objects someone else froze, and of several servers in one process only the first freezes.
    """

    def __init__(self) -> None:
        self._froze = False

    def collect(self) -> None:
        """Collect everything; the first time, freeze what survives."""
        gc.collect()
        if not self._froze and gc.get_freeze_count() == 0:
            gc.freeze()
            self._froze = True

    def release(self) -> None:
        """Hand what this collector froze back to the garbage collector (idempotent)."""
        if self._froze:
            gc.unfreeze()
            self._froze = False
