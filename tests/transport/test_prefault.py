"""A client's slice is faulted in when it is mapped: its first writes fault no page.

Counted with the process's minor page faults (``getrusage``), on a fresh shared mapping as the
MPI segment is one; both ways in are checked, the kernel's populate and the zero write.
"""

from __future__ import annotations

import mmap
import resource

import numpy as np
import pytest

from damaris_ref.runtime.transport import prefault

PAGES = 2048  # 8 MiB


def faults_writing_every_page(memory: np.ndarray) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    memory[:: mmap.PAGESIZE] = 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.fixture
def fresh():
    """A new shared mapping of PAGES pages, none touched yet (unmapped once unreferenced)."""
    return np.frombuffer(mmap.mmap(-1, PAGES * mmap.PAGESIZE, flags=mmap.MAP_SHARED), np.uint8)


def test_an_untouched_mapping_faults_on_its_first_writes(fresh):
    """The measure works: without prefault, every page costs a fault."""
    assert faults_writing_every_page(fresh) >= PAGES // 2


@pytest.mark.parametrize("populate", [True, False], ids=["madvise", "zero-write"])
def test_after_prefault_the_first_writes_fault_no_page(fresh, monkeypatch, populate):
    if not populate:
        monkeypatch.setattr(prefault, "_madvise_populate", lambda memory: False)
    prefault.prefault(fresh)
    assert faults_writing_every_page(fresh) < PAGES // 100
