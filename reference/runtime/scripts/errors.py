"""Errors of the pyscript runner."""

from __future__ import annotations

from damaris_ref.core.errors import DamarisScriptError


class PyscriptFileError(DamarisScriptError, FileNotFoundError):
    """A pyscript file that cannot be read (also a ``FileNotFoundError``, as it was before)."""
