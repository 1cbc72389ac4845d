"""``damaris4py.dask.damaris_dask``: re-exports the reference's implementation."""

from damaris_ref.runtime.scripts.damaris4py_dask import (
    return_dask_array,
    return_iteration,
    return_magic_number,
    return_numpy_array,
    return_scalar_from_position,
    return_scheduler_filename,
)

__all__ = [
    "return_dask_array",
    "return_iteration",
    "return_magic_number",
    "return_numpy_array",
    "return_scalar_from_position",
    "return_scheduler_filename",
]
