"""How much the reference's own processes log: warnings and errors, unless
``DAMARIS_LOG_LEVEL`` asks for more.

By default logging is left as Python sets it up: its last resort prints warnings and errors,
and what the Dask workers and schedulers the reference starts print is logged below that, at
:data:`STARTED_PROCESS_OUTPUT`. ``DAMARIS_LOG_LEVEL=info`` (or ``debug``) sends the records
of that level and above to stderr, each after its logger's name, so those lines show too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from damaris_ref.core.settings import LOG_LEVEL

#: the level at which the output of a process the reference starts is logged
STARTED_PROCESS_OUTPUT = logging.INFO


def apply_log_level(environ: Mapping[str, str] | None = None) -> None:
    """Set this process's logging as ``DAMARIS_LOG_LEVEL`` in ``environ`` (default
    ``os.environ``) says; a bad value is a ConfigError naming the variable."""
    level = LOG_LEVEL.read(environ)
    if level == LOG_LEVEL.default:
        return
    logging.basicConfig(format="%(name)s: %(levelname)s: %(message)s")  # if none configured
    logging.getLogger().setLevel(level.upper())
