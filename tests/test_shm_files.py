"""What the launcher removes from /dev/shm after a job: MPI's files of that job that no live
process maps, and nothing else (tested in a folder standing in for /dev/shm)."""

from __future__ import annotations

import mmap

from damaris_ref.launch import shm_files
from damaris_ref.launch.shm_files import SharedMemoryWatch


def test_mpi_files_left_by_a_job_go_and_files_in_use_or_not_mpis_stay(tmp_path, monkeypatch):
    monkeypatch.setattr(shm_files, "SHM_FOLDER", tmp_path)
    monkeypatch.setattr(shm_files, "ORPHAN_AGE", 0.0)
    watch = SharedMemoryWatch(list).start()  # a job that has already ended: orphans only
    left = [
        tmp_path / name
        for name in (
            "mpich_shm_0123",
            "mpich_shar_tmpKTTLAu",  # a shared window's file, stopped before MPICH unlinked it
            "sm_segment.host.0",
            "vader_segment.host.1",
        )
    ]
    for path in left:
        path.touch()
    not_mpis = tmp_path / "a_users_file"
    not_mpis.touch()
    in_use = tmp_path / "mpich_shar_tmpINUSE"
    in_use.write_bytes(bytes(mmap.PAGESIZE))
    with in_use.open("r+b") as file, mmap.mmap(file.fileno(), mmap.PAGESIZE):
        removed = watch.finish()
        assert in_use.exists()  # another job's, mapped by a live process
    assert sorted(removed) == sorted(left)
    assert not any(path.exists() for path in left)
    assert not_mpis.exists()
