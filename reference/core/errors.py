"""The root of every error this package raises on purpose, and one class per area under it.

A command catches :class:`DamarisError` and prints its message on one line: it is a problem
the user can fix (a config key, a layout, an argument, an environment variable) or a run that
could not finish (a rank failed, a job timed out). Any other exception is a bug in this
package and keeps its traceback. Catch an area class to handle one area's errors at once;
the specific classes (``ConfigError``, ``LayoutError``, ``TransportError``, ...) live beside
the code that raises them and carry that area's details.

Many specific classes also derive from ``ValueError`` or ``RuntimeError``, as they did before
this root existed: callers that catch those keep working.
"""

from __future__ import annotations

__all__ = [
    "DamarisClientError",
    "DamarisConfigError",
    "DamarisConformanceError",
    "DamarisDaskError",
    "DamarisEnsembleError",
    "DamarisError",
    "DamarisLayoutError",
    "DamarisRunError",
    "DamarisScriptError",
    "DamarisTransportError",
]


class DamarisError(Exception):
    """An error this package raises on purpose; its message alone tells the user what to fix."""


class DamarisConfigError(DamarisError):
    """A configuration (file or environment variable) that cannot be used."""


class DamarisLayoutError(DamarisError):
    """An impossible placement: of ranks on cores and nodes, or of blocks in a global box."""


class DamarisClientError(DamarisError):
    """A simulation's misuse of the client API, or arguments a mock simulation cannot run."""


class DamarisTransportError(DamarisError):
    """Blocks or notices that could not be delivered between clients and servers."""


class DamarisScriptError(DamarisError):
    """A pyscript that could not be run as the configuration asks."""


class DamarisDaskError(DamarisError):
    """A Dask bridge call (global arrays, sessions) that could not complete."""


class DamarisEnsembleError(DamarisError):
    """An ensemble sweep's bad input, or a simulation task that produced no result."""


class DamarisRunError(DamarisError):
    """A job or process that could not be started, or did not end as it should."""


class DamarisConformanceError(DamarisError):
    """A conformance case, deviations file, command template or upstream setup unusable."""
