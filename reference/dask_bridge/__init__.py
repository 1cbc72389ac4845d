"""The Dask side of the reference: one worker per server, blocks kept where they were written,
and the global ``dask.array`` assembled by offsets (spec §4–§5).

The public names load on first use: ``distributed`` is imported only when a pyscript asks for
Dask, and the modules that need no Dask (``worker_env``, ``keys``) import without it, so every
MPI rank of a run without Dask starts without paying for it.
"""

from __future__ import annotations

from damaris_ref.core.lazy import lazy_attributes

TYPE_CHECKING = False  # stands in for typing.TYPE_CHECKING: typing is not imported at run time
if TYPE_CHECKING:  # what type checkers see of the names loaded on first use
    from damaris_ref.dask_bridge.arrays import DaskBridgeError as DaskBridgeError
    from damaris_ref.dask_bridge.arrays import global_array as global_array
    from damaris_ref.dask_bridge.keys import array_name as array_name
    from damaris_ref.dask_bridge.keys import block_key_name as block_key_name
    from damaris_ref.dask_bridge.keys import dataset_name as dataset_name
    from damaris_ref.dask_bridge.keys import segment_key as segment_key
    from damaris_ref.dask_bridge.published import iteration_array as iteration_array
    from damaris_ref.dask_bridge.published import release_kept as release_kept
    from damaris_ref.dask_bridge.session import DaskSession as DaskSession
    from damaris_ref.dask_bridge.session import current_session as current_session

#: public name -> the module that defines it
_LAZY = {
    "DaskBridgeError": "damaris_ref.dask_bridge.arrays",
    "global_array": "damaris_ref.dask_bridge.arrays",
    "array_name": "damaris_ref.dask_bridge.keys",
    "block_key_name": "damaris_ref.dask_bridge.keys",
    "dataset_name": "damaris_ref.dask_bridge.keys",
    "segment_key": "damaris_ref.dask_bridge.keys",
    "iteration_array": "damaris_ref.dask_bridge.published",
    "release_kept": "damaris_ref.dask_bridge.published",
    "DaskSession": "damaris_ref.dask_bridge.session",
    "current_session": "damaris_ref.dask_bridge.session",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
