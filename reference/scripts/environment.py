"""The ``damaris_env`` and ``dask_env`` entries of DamarisData (spec §3, §5)."""

from __future__ import annotations

import os

from damaris_ref.config.model import PyScript
from damaris_ref.topology import Topology


def damaris_env(topology: Topology, simulation_name: str, magic: str) -> dict:
    """``damaris_env``: layout facts every server reports identically."""
    return {
        "is_dedicated_node": topology.is_dedicated_node,
        "is_dedicated_core": topology.is_dedicated_core,
        "servers_per_node": topology.servers_per_node,
        "clients_per_node": topology.clients_per_node,
        "ranks_per_node": topology.cores_per_node,
        "cores_per_node": topology.cores_per_node,
        "number_of_nodes": topology.number_of_nodes,
        "simulation_name": simulation_name,
        "simulation_magic_number": magic,
    }


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
) -> dict:
    """``dask_env``: ``scheduler_file`` is "" when no working scheduler was found (spec §5)."""
    return {
        "dask_scheduler_file": scheduler_file,
        "dask_workers_name": workers_name(simulation_name, magic),
        "dask_nworkers": topology.server_count,
        "dask_threads_per_worker": threads_per_worker(pyscript),
    }
