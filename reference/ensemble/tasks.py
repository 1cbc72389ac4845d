"""The upstream-compatible Dask entry point, ``dask_espresso_task``.

Kept apart from the simulation-side helpers because it imports Dask, which a simulation
process must never pay for.
"""

from __future__ import annotations

import os
from typing import Any

import dask

from damaris_ref.ensemble.runner import Executable, run_simulation


def run_dask_espresso_task(
    executable: Executable, script: str | os.PathLike[str], /, **params: Any
) -> Any:
    """Run ``executable script`` with ``params`` on stdin, with the default codec and timeout.

    Both defaults are read where the task runs (``$DAMARIS_ENSEMBLE_CODEC``,
    ``$DAMARIS_ENSEMBLE_TIMEOUT``). For a codec, a timeout or retries per call, use
    :func:`run_simulation` or :func:`damaris_ref.ensemble.sweep.run_ensemble`; keyword
    arguments here all belong to the simulation, exactly as upstream.
    """
    return run_simulation(executable, script, params)


#: ``dask_espresso_task(executable, script, **params)`` returns a lazy ``Delayed`` result
dask_espresso_task = dask.delayed(run_dask_espresso_task)
