"""The typed, immutable configuration model every loader produces (spec §2, §5).

YAML and XML files both become one :class:`Config`; nothing downstream ever looks at a file
format again. Relative paths are already resolved against the config file's folder here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

DEFAULT_BUFFER_SIZE = 64 * 1024 * 1024
DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class Parameter:
    """A named integer (or other typed) value clients can read and change at run time."""

    name: str
    type: str
    value: int | float


@dataclass(frozen=True)
class Layout:
    """A block shape: element type plus dimension expressions over parameters."""

    name: str
    type: str
    dimensions: tuple[str, ...]
    global_dimensions: tuple[str, ...] | None = None
    ghosts: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class Variable:
    """A named field clients write, with its layout and the pyscript that receives it."""

    name: str
    layout: str
    time_varying: bool = True
    script: str | None = None
    mesh: str | None = None
    centering: str | None = None


@dataclass(frozen=True)
class PyScript:
    """A user Python script run on servers, and its Dask connection settings."""

    name: str
    file: Path
    frequency: int = 1
    scheduler_file: Path | None = None
    nthreads: int | str = 1
    keep_workers: bool = False
    timeout: float = DEFAULT_TIMEOUT
    #: seconds a run may take before the server reports where it is (0: never); an extension
    watchdog: float = 60.0


@dataclass(frozen=True)
class Architecture:
    """Domains per client, dedicated cores/nodes, the shared buffer and node emulation."""

    domains: int = 1
    dedicated_cores: int = 0
    dedicated_nodes: int = 0
    buffer_name: str = "buffer"
    buffer_size: int = DEFAULT_BUFFER_SIZE
    queue_name: str = "queue"
    queue_size: int = 100
    ranks_per_node: int = 0


@dataclass(frozen=True)
class Config:
    """One whole simulation description, as loaded from YAML or XML."""

    simulation_name: str
    architecture: Architecture = field(default_factory=Architecture)
    parameters: tuple[Parameter, ...] = ()
    layouts: tuple[Layout, ...] = ()
    variables: tuple[Variable, ...] = ()
    pyscripts: tuple[PyScript, ...] = ()
    source: Path | None = None

    def layout(self, name: str) -> Layout:
        """The layout called ``name`` (KeyError naming the known ones otherwise)."""
        return _by_name(self.layouts, name, "layout")

    def variable(self, name: str) -> Variable:
        """The variable called ``name`` (KeyError naming the known ones otherwise)."""
        return _by_name(self.variables, name, "variable")

    def pyscript(self, name: str) -> PyScript:
        """The pyscript called ``name`` (KeyError naming the known ones otherwise)."""
        return _by_name(self.pyscripts, name, "pyscript")

    def variables_of_script(self, name: str) -> tuple[Variable, ...]:
        """Variables routed to the pyscript ``name``, in declaration order."""
        return tuple(v for v in self.variables if v.script == name)


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_NamedT = TypeVar("_NamedT", bound=_Named)


def _by_name(items: tuple[_NamedT, ...], name: str, kind: str) -> _NamedT:
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(item.name for item in items) or "none"
    raise KeyError(f"no {kind} named {name!r}; known: {known}")
