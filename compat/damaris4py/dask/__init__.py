"""``damaris4py.dask``: the Dask helpers of upstream's package."""
