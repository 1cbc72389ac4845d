"""PDI's side of shared data: what is shared now, in which order, and the values remembered.

A program shares a NumPy array under a name with an access mode (``OUT``: PDI may read it;
``IN``: PDI may write into it), then reclaims it. While shared, a datum is readable by name
(``access``) and by position (the plugin's events take their arguments from the data shared
last). A value that an expression of the configuration references is remembered after its
reclaim, as PDI keeps a copy of metadata, so a later ``when`` or ``depends_on`` can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntFlag
from typing import Any

import numpy as np

from damaris_ref.core.config.errors import echo, listing

from .errors import Error

__all__ = ["Access", "DataStore", "Shared"]


class Access(IntFlag):
    """PDI's access modes, with PDI's values: ``IN`` PDI writes, ``OUT`` PDI reads."""

    NONE = 0
    IN = 1
    OUT = 2
    INOUT = 3


@dataclass(frozen=True)
class Shared:
    """One datum shared with PDI: its name, the program's array and the access granted."""

    name: str
    array: np.ndarray
    access: Access

    @property
    def readable(self) -> bool:
        return bool(self.access & Access.OUT)

    @property
    def writable(self) -> bool:
        return bool(self.access & Access.IN)


class DataStore:
    """The data shared now (oldest first) and the remembered values of ``remembered`` names."""

    def __init__(self, remembered: Iterable[str]):
        self._remembered = frozenset(remembered)
        self._shared: list[Shared] = []
        self._kept: dict[str, Any] = {}

    def share(self, name: str, data: Any, access: int) -> Shared:
        """Share ``data`` as PDI's Python module does: an array as it is (IN needs one)."""
        mode = _access(name, access)
        if isinstance(data, np.ndarray):
            array = data
        elif mode & Access.IN:
            raise Error(
                f"share of {name!r}: IN and INOUT data must be a NumPy array "
                f"(got {type(data).__name__}), so that PDI can write into it"
            )
        else:
            try:
                array = np.array(data)
            except (TypeError, ValueError) as error:
                raise Error(f"share of {name!r}: {echo(data)} is no array: {error}") from None
        item = Shared(str(name), array, mode)
        self._shared.append(item)
        self._remember(item)
        return item

    def reclaim(self, name: str) -> None:
        """End the latest share of ``name`` (what ``reclaim`` and ``release`` do)."""
        for index in range(len(self._shared) - 1, -1, -1):
            if self._shared[index].name == name:
                self._remember(self._shared.pop(index))
                return
        raise Error(f"reclaim of {name!r}: it is not shared {self._shared_now()}")

    def access(self, name: str, access: int) -> np.ndarray:
        """The value of ``name`` (shared again, until its reclaim); read-only unless OUT."""
        mode = _access(name, access)
        current = self.find(name)
        if current is not None:
            array = current.array
        elif name in self._kept:
            array = np.array(self._kept[name])
        else:
            raise Error(
                f"access to {name!r}: it is neither shared nor remembered {self._shared_now()}"
            )
        view = array.view()
        view.flags.writeable = bool(mode & Access.OUT) and array.flags.writeable
        self._shared.append(Shared(name, view, mode))
        return view

    def find(self, name: str) -> Shared | None:
        """The latest share of ``name``, if it is shared now."""
        for item in reversed(self._shared):
            if item.name == name:
                return item
        return None

    def last(self, count: int) -> list[Shared]:
        """The ``count`` data shared most recently, oldest first (fewer if fewer are shared)."""
        return self._shared[-count:] if count else []

    def known(self, name: str) -> bool:
        """Whether ``name`` has a value an expression can read (shared readable, or kept)."""
        return name in self._kept or any(i.name == name and i.readable for i in self._shared)

    def values(self) -> dict[str, Any]:
        """Every readable value by name, for expressions: the latest share, else the kept one."""
        values = dict(self._kept)
        values.update((item.name, item.array) for item in self._shared if item.readable)
        return values

    def _remember(self, item: Shared) -> None:
        if item.name in self._remembered and item.readable:
            self._kept[item.name] = item.array.copy()

    def _shared_now(self) -> str:
        names = listing(item.name for item in self._shared)
        return f"(shared now: {names})" if names else "(nothing is shared now)"


def _access(name: str, access: int) -> Access:
    if isinstance(access, int) and 0 <= access <= Access.INOUT:
        return Access(access)
    raise Error(
        f"share of {name!r}: access {echo(access)} is not one of pdi.IN, pdi.OUT, "
        "pdi.INOUT, pdi.NONE"
    )
