"""The earlier name of an ensemble's input error, in a module of its own so that the
simulation-side modules (codecs, timeouts) that import it load no process-handling ones."""

from __future__ import annotations

from damaris_ref.core.errors import UsageError

#: a deprecated alias of :class:`~damaris_ref.core.errors.UsageError`, kept for one release
EnsembleInputError = UsageError
