"""The error of bad input to an ensemble, kept in a module of its own so the simulation-side
modules (codecs, timeouts) can raise it without loading the process-handling ones."""

from __future__ import annotations

from damaris_ref.core.errors import DamarisEnsembleError


class EnsembleInputError(DamarisEnsembleError, ValueError):
    """Bad input to a sweep: a ``--param`` option, a parameter file, a codec, a time limit, a
    retry count or a cluster option. Also a ``ValueError``, as before the common root."""
