"""The Damaris client API as module functions, for any mpi4py program::

    from mpi4py import MPI
    from damaris_ref import damaris
    damaris.initialize("config.yml", MPI.COMM_WORLD)
    if damaris.start():                     # servers serve here and get False
        comm = damaris.client_comm_get()
        ...  damaris.write("field", block); damaris.end_iteration()
        damaris.stop()
    damaris.finalize()

One session per process, like the C API. From ``initialize`` to ``finalize`` any uncaught
exception aborts the whole MPI job with one clear line, so a failing rank never leaves others
waiting; ``finalize`` puts the process's exception hooks back as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from damaris_ref.core.config.model import Config
from damaris_ref.core.errors import UsageError
from damaris_ref.launch.job_abort import AbortingHooks
from damaris_ref.runtime.session import Damaris

__all__ = [
    "client_comm_get",
    "end_iteration",
    "finalize",
    "initialize",
    "parameter_get",
    "parameter_set",
    "set_block_position",
    "set_position",
    "start",
    "stop",
    "write",
    "write_block",
    "write_blocks",
]

#: this process's session and the exception hooks it holds installed, between initialize
#: and finalize
_session: tuple[Damaris, AbortingHooks] | None = None


def _current() -> Damaris:
    if _session is None:
        raise UsageError("call damaris.initialize(config, comm) first")
    return _session[0]


def initialize(config: Config | str | Path, comm: Any = None) -> None:
    """Load the config, split ``comm`` (default COMM_WORLD) into clients and servers."""
    global _session
    from damaris_ref.runtime.transport.mpi import MPIBackend

    if _session is not None:  # initialized again without finalize: one set of hooks at a time
        _session[1].restore()
    backend = MPIBackend(comm)
    hooks = AbortingHooks(backend.world_comm)
    hooks.install()
    damaris = Damaris(backend)
    _session = damaris, hooks
    damaris.initialize(config, backend.world_comm)


def start() -> bool:
    """True on clients; on servers, serve until every client stopped, then False."""
    return _current().start()


def client_comm_get() -> Any:
    """The communicator of the simulation's ranks."""
    return _current().client_comm_get()


def parameter_get(name: str) -> int | float:
    """Current value of a parameter."""
    return _current().parameter_get(name)


def parameter_set(name: str, value: int | float) -> None:
    """Change a parameter (layouts using it are re-evaluated on next use)."""
    _current().parameter_set(name, value)


def set_position(name: str, offsets) -> None:
    """Offsets of block 0 of a variable in the global array."""
    _current().set_position(name, offsets)


def set_block_position(name: str, block: int, offsets) -> None:
    """Offsets of one block of a variable in the global array."""
    _current().set_block_position(name, block, offsets)


def write(name: str, array) -> None:
    """Write block 0 of a variable for the current iteration."""
    _current().write(name, array)


def write_block(name: str, block: int, array) -> None:
    """Write one block of a variable for the current iteration."""
    _current().write_block(name, block, array)


def write_blocks(name: str, blocks: Mapping[int, Any] | Iterable[tuple[int, Any]]) -> None:
    """Write many blocks of a variable for the current iteration, as ``{block: array}`` or
    ``(block, array)`` pairs (reference extension); no block is written if one is refused."""
    _current().write_blocks(name, blocks)


def end_iteration() -> None:
    """Close the current iteration; a server runs its scripts once all its clients did."""
    _current().end_iteration()


def stop() -> None:
    """Tell the server this client is done."""
    _current().stop()


def finalize() -> None:
    """Release the transports, end the session and restore the exception hooks."""
    global _session
    _current().finalize()
    if _session is not None:
        _session[1].restore()
    _session = None
