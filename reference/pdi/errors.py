"""The one error PDI's Python module raises, and how a server rank leaves a PDI program."""

from __future__ import annotations

from damaris_ref.core.errors import UsageError

__all__ = ["Error", "ServerFinished"]


class Error(UsageError, RuntimeError):
    """What ``pdi.Error`` is: a call PDI or its Damaris plugin cannot do, said in one line.

    A class of its own because PDI's Python module names it; also a ``RuntimeError``, as
    PDI's own ``pdi.Error`` is an ``Exception`` a caller catches.
    """


class ServerFinished(SystemExit):
    """Raised on a dedicated server rank that started implicitly, once it has served every
    client and finalized: PDI's Damaris plugin ends such a process (a program that never asked
    ``is_client`` would otherwise run the simulation on its servers). Exit status 0.
    """

    def __init__(self) -> None:
        super().__init__(0)
