"""The Dask side of the reference: one worker per server, blocks kept where they were written,
and the global ``dask.array`` assembled by offsets (spec §4–§5).

Importing this package imports ``distributed``; the server only does so when a pyscript names
a scheduler file, so runs without Dask never pay for it.
"""

from damaris_ref.dask_bridge.arrays import DaskBridgeError, global_array
from damaris_ref.dask_bridge.keys import array_name, block_key_name, dataset_name, segment_key
from damaris_ref.dask_bridge.published import iteration_array, release_kept
from damaris_ref.dask_bridge.session import DaskSession, current_session

__all__ = [
    "DaskBridgeError",
    "DaskSession",
    "array_name",
    "block_key_name",
    "current_session",
    "dataset_name",
    "global_array",
    "iteration_array",
    "release_kept",
    "segment_key",
]
