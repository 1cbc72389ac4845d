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
import threading
import weakref

__all__ = ["IterationCollector"]


class IterationCollector:
    """One server's collections after its script runs (see the module's docstring).

    At its first collection it freezes only when nothing else has, so it never thaws objects
    someone else froze, and of several servers in one process only the first freezes. First
    collections take turns, so that of servers starting together only the first walks
    everything; the others see its freeze without asking ``gc.get_freeze_count()``, which walks
    every frozen object. The choice is made once, for the same reason.
    """

    #: one first collection at a time in the process (the servers of an in-process run)
    _first_collection = threading.Lock()
    #: the collector whose freeze may be in place (weak: a forgotten one holds nothing)
    _freezer: weakref.ref[IterationCollector] | None = None

    def __init__(self) -> None:
        self._froze = False
        self._decided = False

    def collect(self) -> None:
        """Collect everything; the first time, freeze what survives unless something is."""
        if self._decided:
            gc.collect()
            return
        with self._first_collection:
            gc.collect()
            self._decided = True
            if not self._another_froze() and gc.get_freeze_count() == 0:
                gc.freeze()
                self._froze = True
                IterationCollector._freezer = weakref.ref(self)

    @classmethod
    def _another_froze(cls) -> bool:
        freezer = cls._freezer() if cls._freezer else None
        return freezer is not None and freezer._froze

    def release(self) -> None:
        """Hand what this collector froze back to the garbage collector (idempotent)."""
        if self._froze:
            gc.unfreeze()
            self._froze = False
