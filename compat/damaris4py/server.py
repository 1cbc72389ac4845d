"""``damaris4py.server``: re-exports the reference's implementation under upstream's name."""

from damaris_ref.runtime.scripts.damaris4py_server import (
    clientspernode,
    corespernode,
    getclientcomm,
    getdamariscomm,
    getglobalcomm,
    getservercomm,
    isclient,
    isdedicatedcore,
    isdedicatednode,
    isserver,
    listknownclients,
    magicnumber_string,
    numberofnodes,
    serverspernode,
)

__all__ = [
    "clientspernode",
    "corespernode",
    "getclientcomm",
    "getdamariscomm",
    "getglobalcomm",
    "getservercomm",
    "isclient",
    "isdedicatedcore",
    "isdedicatednode",
    "isserver",
    "listknownclients",
    "magicnumber_string",
    "numberofnodes",
    "serverspernode",
]
