"""``damaris4py.client``: for simulations written in Python (spec §4).

``damaris_initialize`` sets Damaris up on a communicator; the queries are those of
``damaris4py.server``. The rest of the client API (start, write, end_iteration, ...) is
:mod:`damaris_ref.runtime.damaris`, which this initialization also prepares.
``damaris_write_blocks`` is a reference extension: upstream has no call that writes many
blocks at once.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from damaris4py import server
from damaris4py.server import *  # noqa: F403 - the same queries as on a server
from damaris_ref.runtime import damaris

__all__ = ["DAMARIS_OK", "damaris_initialize", "damaris_write_blocks", *server.__all__]

#: what upstream's ``damaris_initialize`` returns on success (Damaris's ``DAMARIS_OK``)
DAMARIS_OK = 0


def damaris_initialize(xml_path: str, mpi4py_comm: Any) -> int:
    """Load the configuration (XML or YAML) and split ``mpi4py_comm``; return ``DAMARIS_OK``.

    Where upstream returns an error code, this raises the error (a bad configuration names
    its file and line).
    """
    damaris.initialize(xml_path, mpi4py_comm)
    return DAMARIS_OK


def damaris_write_blocks(
    var_name: str, blocks: Mapping[int, Any] | Iterable[tuple[int, Any]]
) -> int:
    """Write many blocks of ``var_name`` for the current iteration; return ``DAMARIS_OK``.

    A reference extension (upstream writes one block per ``damaris_write_block`` call):
    ``blocks`` is ``{block: array}`` or ``(block, array)`` pairs, each placed by
    ``set_block_position``; it is :func:`damaris_ref.runtime.damaris.write_blocks`, so a refused
    block raises its error and no block of the call is written.
    """
    damaris.write_blocks(var_name, blocks)
    return DAMARIS_OK
