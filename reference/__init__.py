"""damaris-reference: the executable reference of Damaris-style in-situ Python/Dask analytics.

Kept import-light on purpose: simulation-side helpers (``dask_espresso``) import this package
in every short-lived task process, so nothing heavy may load here.
"""

__version__ = "0.1.0"
