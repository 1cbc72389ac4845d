"""What ``damaris4py.dask.damaris_dask`` offers user scripts (spec §4).

The accessors read ``DamarisData`` only; :func:`return_dask_array` uses the Dask bridge.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from damaris_ref.core.data import block_key


def return_scheduler_filename(damaris_data: dict) -> str:
    """The scheduler file of this pyscript ("" when no working scheduler was found)."""
    return damaris_data["dask_env"]["dask_scheduler_file"]


def return_iteration(damaris_data: dict) -> int:
    """The iteration the data belongs to."""
    return damaris_data["iteration_data"]["iteration"]


def return_magic_number(damaris_data: dict) -> str:
    """The run's magic number."""
    return damaris_data["damaris_env"]["simulation_magic_number"]


def return_numpy_array(
    damaris_data: dict, variable: str, client_rank: int = 0, block_number: int = 0
) -> np.ndarray | None:
    """Block ``P<client_rank>_B<block_number>`` of ``variable``; None when absent."""
    entry = damaris_data["iteration_data"].get(variable)
    if entry is None:
        return None
    return entry["numpy_data"].get(block_key(client_rank, block_number))


def return_scalar_from_position(
    damaris_data: dict, variable: str, pos: int = 0, client_rank: int = 0, block_number: int = 0
) -> Any:
    """Element ``pos`` (C order) of a block; None when the block is absent."""
    array = return_numpy_array(damaris_data, variable, client_rank, block_number)
    return None if array is None else array.flat[pos].item()


def return_dask_array(
    damaris_data: dict,
    client: Any,
    variable: str,
    server_comm: Any,
    print_array_component: bool = False,
) -> Any:
    """The global ``dask.array`` of ``variable`` on server 0, None on the others (collective).

    Built by offsets from every server's blocks (any arrival order, irregular chunks), one
    chunk per block as upstream's: per-chunk results of upstream scripts (the statistics
    example's block averages) depend on it; see :func:`damaris_ref.dask_bridge.global_array`.
    """
    from damaris_ref.dask_bridge import global_array

    array = global_array(damaris_data, variable, server_comm, client, chunks="block")
    if print_array_component and array is not None:
        print(f"global {variable}: shape {array.shape}, chunks {array.chunks}", flush=True)
    return array
