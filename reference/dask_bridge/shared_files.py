"""Anonymous shared-memory files (``memfd_create``) that another process of the same user
opens through ``/proc/<pid>/fd/<fd>``: how a server's worker maps a server's slots and the
node's buffer. They have no name in ``/dev/shm``, so nothing can be left behind, even by a
killed process: the memory goes with the last descriptor or mapping of it. Pure ``os``: the
MPI transport uses it too.
"""

from __future__ import annotations

import os


def supported() -> bool:
    """True where anonymous shared-memory files and ``/proc/<pid>/fd`` exist (Linux)."""
    return hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd")


def fd_path(fd: int, pid: int | None = None) -> str:
    """Where another process of this user opens descriptor ``fd`` of process ``pid`` (this
    one by default), while that process keeps it open."""
    return f"/proc/{os.getpid() if pid is None else pid}/fd/{fd}"
