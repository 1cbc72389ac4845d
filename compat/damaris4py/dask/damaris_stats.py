"""``damaris4py.dask.damaris_stats``: statistics shared through a Dask scheduler (spec §4)."""

from damaris_ref.stats.shared import DaskStats, StatisticsLost, Summary

__all__ = ["DaskStats", "StatisticsLost", "Summary"]
