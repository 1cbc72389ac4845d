"""A node's shared buffer must fit where it is kept: MPI's window in /dev/shm (past its free
space a rank touching the buffer is killed by SIGBUS), the node's anonymous file in the memory
available (past it the kernel kills ranks). The MPI transport refuses such a run with a
message instead."""

from __future__ import annotations

import os

from damaris_ref.runtime.transport.mpi import memory_room_problem, shm_room_problem


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


def meminfo(tmp_path, available_kib: int) -> str:
    path = tmp_path / "meminfo"
    path.write_text(f"MemTotal:       99999999 kB\nMemAvailable:   {available_kib} kB\n")
    return str(path)


def test_a_buffer_within_the_memory_available_is_fine(tmp_path):
    assert memory_room_problem(1024 * 1024, 2, meminfo(tmp_path, 2048)) is None


def test_buffers_past_the_memory_available_name_both_sizes(tmp_path):
    problem = memory_room_problem(1024 * 1024, 3, meminfo(tmp_path, 2048))
    assert problem is not None
    assert "(3 node buffers of 1048576 bytes) does not fit in the memory available" in problem
    assert "which has 2097152 bytes free; allowed: at most 699050 bytes per node" in problem


def test_memory_that_cannot_be_looked_at_is_not_a_problem(tmp_path):
    assert memory_room_problem(1 << 60, 1, str(tmp_path / "missing")) is None
