"""Running statistics of a field over many samples: the math, its Dask form, ``damaris-ref stats``.

- :mod:`~damaris_ref.stats.moments`: count, mean, M2, min and max of a stream of arrays, one
  sample at a time (Welford) or merged batch by batch (Chan et al.), in pure NumPy;
- :mod:`~damaris_ref.stats.shared`: the same statistics kept on a Dask scheduler and updated by
  any number of simulations under one lock (``damaris4py.dask.damaris_stats``, spec §4);
- :mod:`~damaris_ref.stats.local`: one object's own statistics, without a lock
  (``damaris4py.dask.damaris_stats_nolock``);
- :mod:`~damaris_ref.stats.cli`: ``damaris-ref stats``, spec §6's third example end to end.

Importing this package loads neither Dask nor mpi4py; only the Dask modules do.
"""

from damaris_ref.stats.moments import Moments

__all__ = ["Moments"]
