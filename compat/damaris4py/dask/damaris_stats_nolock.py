"""``damaris4py.dask.damaris_stats_nolock``: one object's statistics, without a lock (spec §4)."""

from damaris_ref.stats.local import DaskStats

__all__ = ["DaskStats"]
