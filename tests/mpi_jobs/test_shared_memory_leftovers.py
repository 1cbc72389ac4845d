"""No MPI job the project launches leaves a file in /dev/shm, however it ends.

MPICH removes its segment (``/dev/shm/mpich_shm_*``, 3 to 6 MB) only when its ranks finish
normally. Each fault runs in a mount namespace of its own with a private, empty /dev/shm, so
that other jobs of the machine neither add to the count nor lose files to the clean-up; where
such a namespace cannot be made (not root, no ``unshare``), the test is skipped.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("shm_fault_driver.py")


def in_private_shm(*argv: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """``argv`` in a new mount namespace whose /dev/shm is an empty tmpfs of its own."""
    script = 'mount -t tmpfs -o size=256m tmpfs /dev/shm && exec "$@"'
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _private_shm_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return in_private_shm("true", timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(
    not _private_shm_works(), reason="needs unshare and mount rights for a private /dev/shm"
)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "case",
    ["SIGTERM", "SIGINT", "SIGKILL of a rank", "MPI_Abort", "stats SIGTERM", "stats SIGINT"],
)
def test_a_stopped_or_aborted_job_leaves_nothing_in_dev_shm(case):
    done = in_private_shm(sys.executable, str(DRIVER), case)
    assert done.returncode == 0, done.stdout + done.stderr
    report = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert ast.literal_eval(report["left"]) == [], done.stdout
    assert report["exit"] != "0"


@pytest.mark.timeout(300)
def test_a_ctrl_c_of_run_prints_one_line_saying_what_was_stopped():
    done = in_private_shm(sys.executable, str(DRIVER), "SIGINT")
    report = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    stderr = ast.literal_eval(report["stderr"])
    assert report["exit"] == "130"
    stopped = [line for line in stderr.splitlines() if "damaris-ref" in line]
    assert stopped == [
        "damaris-ref: received SIGINT, stopping the MPI job of 5 ranks "
        f"({sys.executable} -m damaris_ref.mocks 3dmesh_py "
        f"{Path(DRIVER).resolve().parents[2] / 'examples' / '3dmesh_py_compact.yml'} "
        "-i 600 -v 0 -s 1)"
    ], stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr


@pytest.mark.timeout(300)
def test_a_buffer_larger_than_dev_shm_runs_since_it_is_not_kept_there():
    # the seed's own file asks for 512 MiB; this /dev/shm holds 256 MiB: the node buffer is an
    # anonymous file, limited by memory only (MPI's window would be refused here)
    seed = Path(DRIVER).resolve().parents[2] / "examples" / "3dmesh_py.yml"
    run = [sys.executable, "-m", "damaris_ref.cli", "run", "-n", "5", "3dmesh_py", str(seed)]
    done = in_private_shm(*run, "-i", "1", "-s", "0")
    assert done.returncode == 0, done.stderr
    found = [line for line in done.stdout.splitlines() if "Data found: cube_i" in line]
    assert len(found) == 4, done.stdout  # every client's block reached the script


ONE_RANK_FAILS = """\
from mpi4py import MPI
from damaris_ref.launch.job_abort import abort_on_error

with abort_on_error():
    MPI.COMM_WORLD.Barrier()  # every rank has attached the node's segment
    if MPI.COMM_WORLD.rank == 1:
        raise RuntimeError("rank 1 fails")
    MPI.COMM_WORLD.Barrier()
"""


@pytest.mark.timeout(300)
def test_an_abort_under_a_plain_mpiexec_leaves_nothing_in_dev_shm(tmp_path):
    """No launcher of ours cleans up after a plain ``mpiexec``: the aborting rank does."""
    program = tmp_path / "one_rank_fails.py"
    program.write_text(ONE_RANK_FAILS)
    mpiexec = Path(sys.executable).with_name("mpiexec")
    job = f"{mpiexec} -n 3 {sys.executable} {program}; echo exit $?; ls -A /dev/shm"
    done = in_private_shm("sh", "-c", job)
    assert "fatal error on rank 1: RuntimeError: rank 1 fails" in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] != "exit 0" and lines[1:] == [], done.stdout
