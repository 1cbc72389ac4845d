"""The pure core: configuration, routing (topology), blocks and reassembly, run settings.

Nothing here imports mpi4py, Dask or any other room of the package; these modules are the
contract a port author reads and what the property tests exercise directly.
"""
