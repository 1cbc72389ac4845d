"""The time limit of one simulation when the caller gives none.

Upstream has no limit, and neither has this by default: an ESPResSo run may take hours, and a
drop-in replacement must not kill it. ``DAMARIS_ENSEMBLE_TIMEOUT`` (seconds) or
:func:`set_default_timeout` sets one; being an environment variable, it reaches Dask workers
and simulation processes started later, as the default codec does.
"""

from __future__ import annotations

import os

from damaris_ref.core.errors import UsageError
from damaris_ref.core.settings import ENSEMBLE_TIMEOUT

#: environment variable holding the default time limit, in seconds (``none``: no limit)
TIMEOUT_ENV = ENSEMBLE_TIMEOUT.name


def default_timeout() -> float:
    """The default limit in seconds: ``$DAMARIS_ENSEMBLE_TIMEOUT``, else ``inf`` (none)."""
    return ENSEMBLE_TIMEOUT.read()


def set_default_timeout(seconds: float | None) -> None:
    """Make ``seconds`` (None: no limit) the default here and in processes started from here.

    It sets ``$DAMARIS_ENSEMBLE_TIMEOUT``; workers of an already running cluster keep theirs,
    so pass ``timeout=`` explicitly when submitting to such a cluster.
    """
    os.environ[TIMEOUT_ENV] = "none" if seconds is None else repr(_checked(float(seconds)))


def resolve_timeout(timeout: float | None) -> float:
    """``timeout`` checked, or the default when None; ``inf`` means no limit."""
    return default_timeout() if timeout is None else _checked(float(timeout))


def _checked(seconds: float) -> float:
    if not seconds > 0:  # also refuses NaN
        raise UsageError(f"timeout must be a positive number of seconds, got {seconds!r}")
    return seconds
