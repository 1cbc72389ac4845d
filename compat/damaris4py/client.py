"""``damaris4py.client``: for simulations written in Python (spec §4).

``damaris_initialize`` sets Damaris up on a communicator; the queries are those of
``damaris4py.server``. The rest of the client API (start, write, end_iteration, ...) is
:mod:`damaris_ref.runtime.damaris`, which this initialization also prepares.
"""

from typing import Any

from damaris4py import server
from damaris4py.server import *  # noqa: F403 - the same queries as on a server
from damaris_ref.runtime import damaris

__all__ = ["DAMARIS_OK", "damaris_initialize", *server.__all__]

#: what upstream's ``damaris_initialize`` returns on success (Damaris's ``DAMARIS_OK``)
DAMARIS_OK = 0


def damaris_initialize(xml_path: str, mpi4py_comm: Any) -> int:
    """Load the configuration (XML or YAML) and split ``mpi4py_comm``; return ``DAMARIS_OK``.

    Where upstream returns an error code, this raises the error (a bad configuration names
    its file and line).
    """
    damaris.initialize(xml_path, mpi4py_comm)
    return DAMARIS_OK
