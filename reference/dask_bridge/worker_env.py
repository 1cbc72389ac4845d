"""What a pyscript's ``dask_env`` holds (spec §3, §5): its workers' name and thread count."""

from __future__ import annotations

import os

from damaris_ref.core import data
from damaris_ref.core.config.model import PyScript
from damaris_ref.core.topology import Topology


def workers_name(simulation_name: str, magic: str) -> str:
    """Prefix of every Dask worker name of a run: ``<simulation_name>_<magic>``."""
    return f"{simulation_name}_{magic}"


def threads_per_worker(pyscript: PyScript) -> int:
    """``nthreads`` as a number: ``"openmp"`` means ``OMP_NUM_THREADS`` (1 when unset)."""
    if pyscript.nthreads == "openmp":
        value = os.environ.get("OMP_NUM_THREADS", "1").split(",")[0]
        return int(value) if value.strip().isdigit() and int(value) > 0 else 1
    return int(pyscript.nthreads)


def dask_env(
    topology: Topology, pyscript: PyScript, simulation_name: str, magic: str, scheduler_file: str
) -> data.DaskEnv:
    """``dask_env``: ``scheduler_file`` is "" when no working scheduler was found (spec §5)."""
    return data.dask_env(
        scheduler_file,
        workers_name(simulation_name, magic),
        topology.server_count,
        threads_per_worker(pyscript),
    )
