"""Fault a client's shared slice in when it is mapped, so that no write pays for it later.

A page of the node's segment costs a page fault the first time this process writes to it (the
kernel finds or allocates the page and maps it): some microseconds per 4 KiB page, which a
first iteration would pay inside its writes while a warm one does not. Done at start-up
instead: with ``madvise(MADV_POPULATE_WRITE)`` where the kernel has it (Linux 5.14 and later),
which maps every page writable without a pass over its bytes, otherwise by writing zeros over
the slice (the segment is new, so nothing is lost). Then the slice's first bytes are written
once more: the allocator gives the lowest free offsets first, so the first iteration's blocks
land in memory this core touched last, still in its cache if the simulation writes soon.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import numpy as np

__all__ = ["WARM_HEAD", "prefault"]

#: Linux's ``MADV_POPULATE_WRITE`` (include/uapi/asm-generic/mman-common.h)
_MADV_POPULATE_WRITE = 23
_PAGE = 4096
#: bytes at the start of the slice written last, so that they are in the cache: about what a
#: core's share of a last-level cache holds
WARM_HEAD = 16 << 20


def _madvise_populate(memory: np.ndarray) -> bool:
    """Ask the kernel to map every page of ``memory`` writable; False if it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    address, length = memory.ctypes.data, memory.nbytes
    if address % _PAGE or length % _PAGE:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return False
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise(address, length, _MADV_POPULATE_WRITE) == 0  # EINVAL before 5.14


def prefault(memory: np.ndarray) -> None:
    """Map every page of ``memory`` (a new, writable byte array) now, and leave its first
    :data:`WARM_HEAD` bytes in the cache."""
    if not _madvise_populate(memory):
        memory.fill(0)
    memory[:WARM_HEAD].fill(0)
