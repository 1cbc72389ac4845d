"""A node's shared buffer must fit in /dev/shm: past its free space a rank touching the buffer
is killed by SIGBUS, so the MPI transport refuses such a run with a message instead."""

from __future__ import annotations

import os

from damaris_ref.runtime.transport.mpi import shm_room_problem


def free_bytes(folder: str) -> int:
    status = os.statvfs(folder)
    return status.f_bavail * status.f_frsize


def test_a_buffer_within_the_free_space_is_fine(tmp_path):
    assert shm_room_problem(4096, 1, str(tmp_path)) is None


def test_a_buffer_past_the_free_space_names_both_sizes(tmp_path):
    free = free_bytes(str(tmp_path))
    problem = shm_room_problem(free + 1, 1, str(tmp_path))
    assert problem is not None
    assert f"({free + 1} bytes) does not fit in {tmp_path}" in problem
    assert f"allowed: at most {free} bytes per node here" in problem


def test_emulated_nodes_share_the_free_space(tmp_path):
    free = free_bytes(str(tmp_path))
    each = free // 3 + 1  # one fits, three together do not
    assert shm_room_problem(each, 1, str(tmp_path)) is None
    problem = shm_room_problem(each, 3, str(tmp_path))
    assert problem is not None and f"3 node buffers of {each} bytes" in problem


def test_a_folder_that_cannot_be_looked_at_is_not_a_problem(tmp_path):
    assert shm_room_problem(1 << 40, 1, str(tmp_path / "missing")) is None
