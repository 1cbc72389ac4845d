"""A stand-in for the MPI shared window, for MPI transport tests that run without MPI."""

from __future__ import annotations


class Window:
    """The node's segment: only the client's slice, ``size`` bytes, seen by both sides."""

    def __init__(self, size: int) -> None:
        self.memory = bytearray(size)

    def Shared_query(self, rank: int):
        return self.memory, 1

    def Sync(self) -> None:
        pass
